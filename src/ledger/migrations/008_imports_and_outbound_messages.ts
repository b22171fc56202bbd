import type { Migration } from './migration.js';

// Two owner's tools.
//
// 1. Bringing an existing membership (memberlens import members / purchases). The opening
// points and stored value a member brings from the shop's previous system are ledger entries
// of their own kinds, 'opening-points' (a points lot, expiring like earned points) and
// 'opening-stored', so the ledger shows where a balance came from and an opening balance is
// neither a recharge (which could reach a recharge tier) nor points earned by a payment here.
// SQLite cannot change a CHECK in place, so ledger_entries is rebuilt with the same columns,
// rows, ids, indexes and triggers as 003 and 006 made them, and the two kinds added. Dropping
// the old table fires no DELETE trigger (the implicit DELETE of DROP TABLE never does).
// member_imports marks the members an import created: a re-run of the same file finds them by
// phone and adds nothing.
//
// 2. Messages to a segment through the shop's own SMS / WeChat provider. One row per
// campaign and member, its id derived from both, so a campaign sent twice queues nothing new;
// who (member id), which template, when and the delivery status — never the phone, which only
// the signed request to the provider carries. Like the ledger, the rows outlive a deleted
// member: they hold only the random member id.
export const importsAndOutboundMessages: Migration = {
  version: 8,
  name: 'opening balances in the ledger, imported members, outbound messages',
  sql: `
CREATE TABLE ledger_entries_rebuilt (
  id              INTEGER PRIMARY KEY,
  member_id       TEXT NOT NULL,
  kind            TEXT NOT NULL CHECK (kind IN ('spend', 'refund', 'points-earn', 'points-redeem',
                    'points-expire', 'points-reverse', 'recharge', 'recharge-bonus', 'deduct',
                    'opening-points', 'opening-stored')),
  spend_fen       INTEGER NOT NULL DEFAULT 0,
  points          INTEGER NOT NULL DEFAULT 0,
  stored_fen      INTEGER NOT NULL DEFAULT 0,
  order_id        TEXT,
  ref_id          TEXT,
  -- Refers to the table itself, by the name it has until the rename below (which rewrites it):
  -- never to the old table, whose rows go when it is dropped.
  lot_entry_id    INTEGER REFERENCES ledger_entries_rebuilt (id),
  at_ms           INTEGER NOT NULL,
  recorded_at_ms  INTEGER NOT NULL,
  CHECK (CASE kind
    WHEN 'spend'          THEN spend_fen > 0 AND points = 0 AND stored_fen = 0
    WHEN 'refund'         THEN spend_fen < 0 AND points = 0 AND stored_fen = 0
    WHEN 'points-earn'    THEN points > 0 AND spend_fen = 0 AND stored_fen = 0 AND lot_entry_id IS NULL
    WHEN 'opening-points' THEN points > 0 AND spend_fen = 0 AND stored_fen = 0 AND lot_entry_id IS NULL
    WHEN 'recharge'       THEN stored_fen > 0 AND spend_fen = 0 AND points = 0
    WHEN 'recharge-bonus' THEN stored_fen > 0 AND spend_fen = 0 AND points = 0
    WHEN 'opening-stored' THEN stored_fen > 0 AND spend_fen = 0 AND points = 0
    WHEN 'deduct'         THEN stored_fen < 0 AND spend_fen = 0 AND points = 0
    ELSE points < 0 AND spend_fen = 0 AND stored_fen = 0 AND lot_entry_id IS NOT NULL
  END)
) STRICT;

INSERT INTO ledger_entries_rebuilt
  (id, member_id, kind, spend_fen, points, stored_fen, order_id, ref_id, lot_entry_id, at_ms, recorded_at_ms)
SELECT id, member_id, kind, spend_fen, points, stored_fen, order_id, ref_id, lot_entry_id, at_ms, recorded_at_ms
FROM ledger_entries ORDER BY id;

DROP TABLE ledger_entries;
ALTER TABLE ledger_entries_rebuilt RENAME TO ledger_entries;

CREATE INDEX ledger_entries_member_at ON ledger_entries (member_id, at_ms);
CREATE INDEX ledger_entries_order ON ledger_entries (order_id) WHERE order_id IS NOT NULL;
CREATE INDEX ledger_entries_lot ON ledger_entries (lot_entry_id) WHERE lot_entry_id IS NOT NULL;
CREATE INDEX ledger_entries_purchases ON ledger_entries (member_id, order_id, at_ms, spend_fen, stored_fen, kind)
  WHERE kind IN ('spend', 'refund', 'deduct');

CREATE TRIGGER ledger_entries_no_update BEFORE UPDATE ON ledger_entries
BEGIN SELECT RAISE(ABORT, 'ledger_entries is append-only'); END;

CREATE TRIGGER ledger_entries_no_delete BEFORE DELETE ON ledger_entries
BEGIN SELECT RAISE(ABORT, 'ledger_entries is append-only'); END;

CREATE TRIGGER ledger_entries_update_balances AFTER INSERT ON ledger_entries
BEGIN
  INSERT OR IGNORE INTO member_balances (member_id) VALUES (NEW.member_id);
  UPDATE member_balances SET
    lifetime_spend_fen = lifetime_spend_fen + NEW.spend_fen,
    points = points + NEW.points,
    stored_fen = stored_fen + NEW.stored_fen
  WHERE member_id = NEW.member_id;
END;

CREATE TRIGGER ledger_entries_open_lot AFTER INSERT ON ledger_entries WHEN NEW.kind IN ('points-earn', 'opening-points')
BEGIN
  INSERT INTO points_lots (lot_entry_id, member_id, earned_at_ms, remaining)
  VALUES (NEW.id, NEW.member_id, NEW.at_ms, NEW.points);
END;

CREATE TRIGGER ledger_entries_draw_lot AFTER INSERT ON ledger_entries WHEN NEW.lot_entry_id IS NOT NULL
BEGIN
  UPDATE points_lots SET remaining = remaining + NEW.points
  WHERE lot_entry_id = NEW.lot_entry_id AND member_id = NEW.member_id;
  SELECT RAISE(ABORT, 'points drawn from a lot of another member or no lot')
  WHERE changes() = 0;
END;

CREATE TABLE member_imports (
  member_id      TEXT PRIMARY KEY REFERENCES members (id) ON DELETE CASCADE,
  imported_at_ms INTEGER NOT NULL
) STRICT;

CREATE TABLE outbound_messages (
  id                 TEXT PRIMARY KEY,
  campaign_id        TEXT NOT NULL,
  member_id          TEXT NOT NULL,
  template           TEXT NOT NULL,
  status             TEXT NOT NULL CHECK (status IN ('pending', 'sent', 'failed', 'opted-out', 'no-phone')),
  attempts           INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
  next_attempt_at_ms INTEGER,
  last_error         TEXT,
  queued_at_ms       INTEGER NOT NULL,
  sent_at_ms         INTEGER,
  updated_at_ms      INTEGER NOT NULL
) STRICT;

CREATE INDEX outbound_messages_campaign ON outbound_messages (campaign_id, member_id);
CREATE INDEX outbound_messages_due ON outbound_messages (next_attempt_at_ms) WHERE status = 'pending';

-- What a campaign asked for, so the same campaign id sent again with another text is refused.
CREATE TABLE outbound_campaigns (
  campaign_id   TEXT PRIMARY KEY,
  template      TEXT NOT NULL,
  text          TEXT NOT NULL,
  audience      TEXT NOT NULL,
  actor         TEXT NOT NULL,
  created_at_ms INTEGER NOT NULL
) STRICT;
`,
};
