import type { Migration } from './migration.js';

// A member's lifecycle and RFM segment as last computed, with the purchase facts they were
// computed from (the member list's CSV shows those), and the tags an admin put on them. Both
// go with the member. lifecycle and rfm have no CHECK lists, like the other enumerated columns:
// src/operations/segments.ts holds the names.
//
// ledger_entries_purchases covers the per-member purchase aggregate (orders grouped by id,
// their time and net amount) so neither one member's update after a payment nor the nightly
// pass reads the table rows themselves.
export const memberSegments: Migration = {
  version: 6,
  name: 'member segments and tags; purchase index on the ledger',
  sql: `
CREATE TABLE member_segments (
  member_id           TEXT PRIMARY KEY REFERENCES members (id) ON DELETE CASCADE,
  lifecycle           TEXT NOT NULL,
  rfm                 TEXT NOT NULL,
  last_purchase_at_ms INTEGER,
  purchases_365       INTEGER NOT NULL CHECK (purchases_365 >= 0),
  purchases_90        INTEGER NOT NULL CHECK (purchases_90 >= 0),
  net_spend_365_fen   INTEGER NOT NULL,
  computed_at_ms      INTEGER NOT NULL
) STRICT;

CREATE INDEX member_segments_lifecycle ON member_segments (lifecycle);
CREATE INDEX member_segments_rfm ON member_segments (rfm);

CREATE TABLE member_tags (
  member_id     TEXT NOT NULL REFERENCES members (id) ON DELETE CASCADE,
  tag           TEXT NOT NULL CHECK (length(tag) BETWEEN 1 AND 32),
  created_at_ms INTEGER NOT NULL,
  PRIMARY KEY (member_id, tag)
) STRICT, WITHOUT ROWID;

CREATE INDEX member_tags_tag ON member_tags (tag, member_id);

CREATE INDEX ledger_entries_purchases ON ledger_entries (member_id, order_id, at_ms, spend_fen, stored_fen, kind)
  WHERE kind IN ('spend', 'refund', 'deduct');
`,
};
