import type { Migration } from './migration.js';

// Sales without a member, and the owner's dashboard figures kept up as the ledger changes.
//
// A cash sale nobody could be named for has no member, so it cannot be a ledger entry
// (member_id is NOT NULL there); it is its own append-only record, with its refunds.
//
// The rollup_* tables are sums kept in the same transaction as the write they count, keyed by
// the store's local date (analytics.timeZone), so the dashboard reads a few hundred rows for a
// year instead of the ledger. Like the ledger they hold member ids only, and outlive a deleted
// member: what was sold stays sold. Each column is a count or a sum of fen/points.
export const analyticsRollups: Migration = {
  version: 9,
  name: 'non-member sales; daily rollups for the owner dashboard',
  sql: `
CREATE TABLE non_member_sales (
  order_id       TEXT PRIMARY KEY,
  lane           TEXT NOT NULL,
  channel        TEXT NOT NULL,
  amount_fen     INTEGER NOT NULL CHECK (amount_fen > 0),
  paid_at_ms     INTEGER NOT NULL,
  recorded_at_ms INTEGER NOT NULL
) STRICT;

CREATE TABLE non_member_refunds (
  refund_id      TEXT PRIMARY KEY,
  order_id       TEXT NOT NULL REFERENCES non_member_sales (order_id),
  amount_fen     INTEGER NOT NULL CHECK (amount_fen > 0),
  recorded_at_ms INTEGER NOT NULL
) STRICT;

CREATE INDEX non_member_refunds_order ON non_member_refunds (order_id);

CREATE TRIGGER non_member_sales_no_update BEFORE UPDATE ON non_member_sales
BEGIN SELECT RAISE(ABORT, 'non_member_sales is append-only'); END;
CREATE TRIGGER non_member_sales_no_delete BEFORE DELETE ON non_member_sales
BEGIN SELECT RAISE(ABORT, 'non_member_sales is append-only'); END;
CREATE TRIGGER non_member_refunds_no_update BEFORE UPDATE ON non_member_refunds
BEGIN SELECT RAISE(ABORT, 'non_member_refunds is append-only'); END;
CREATE TRIGGER non_member_refunds_no_delete BEFORE DELETE ON non_member_refunds
BEGIN SELECT RAISE(ABORT, 'non_member_refunds is append-only'); END;

-- One row per store-local day. Sales are net of refunds, counted on the day of the sale;
-- an order counts once, on the day of its first movement, and no longer once refunded in full.
CREATE TABLE rollup_days (
  day                    TEXT PRIMARY KEY,
  member_sales_fen       INTEGER NOT NULL DEFAULT 0,
  non_member_sales_fen   INTEGER NOT NULL DEFAULT 0,
  member_orders          INTEGER NOT NULL DEFAULT 0,
  non_member_orders      INTEGER NOT NULL DEFAULT 0,
  new_by_payment         INTEGER NOT NULL DEFAULT 0,
  new_by_face            INTEGER NOT NULL DEFAULT 0,
  new_by_admin           INTEGER NOT NULL DEFAULT 0,
  new_by_import          INTEGER NOT NULL DEFAULT 0,
  member_visits          INTEGER NOT NULL DEFAULT 0,
  points_issued          INTEGER NOT NULL DEFAULT 0,
  points_redeemed        INTEGER NOT NULL DEFAULT 0,
  points_expired         INTEGER NOT NULL DEFAULT 0,
  points_reversed        INTEGER NOT NULL DEFAULT 0,
  stored_issued_fen      INTEGER NOT NULL DEFAULT 0,
  stored_redeemed_fen    INTEGER NOT NULL DEFAULT 0,
  coupons_issued         INTEGER NOT NULL DEFAULT 0,
  coupons_redeemed       INTEGER NOT NULL DEFAULT 0,
  coupons_expired        INTEGER NOT NULL DEFAULT 0,
  coupon_sales_fen       INTEGER NOT NULL DEFAULT 0
) STRICT, WITHOUT ROWID;

-- What each till's camera and scanner did, per day.
CREATE TABLE rollup_lane_days (
  day                  TEXT NOT NULL,
  lane                 TEXT NOT NULL,
  recognitions         INTEGER NOT NULL DEFAULT 0,
  unknown_faces        INTEGER NOT NULL DEFAULT 0,
  face_linked_payments INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (day, lane)
) STRICT, WITHOUT ROWID;

-- A member's day at the shop: a row is a visit (a purchase or a recognition); orders and
-- sales_fen are that day's purchases. Repeat rate and visit frequency are counted from here.
CREATE TABLE rollup_member_days (
  day       TEXT NOT NULL,
  member_id TEXT NOT NULL,
  orders    INTEGER NOT NULL DEFAULT 0,
  sales_fen INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (day, member_id)
) STRICT, WITHOUT ROWID;

-- Member visits by the local hour they began, for the hour × weekday heatmap.
CREATE TABLE rollup_visit_hours (
  day    TEXT NOT NULL,
  hour   INTEGER NOT NULL CHECK (hour BETWEEN 0 AND 23),
  visits INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (day, hour)
) STRICT, WITHOUT ROWID;
`,
};
