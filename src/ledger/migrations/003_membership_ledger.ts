import type { Migration } from './migration.js';

// Money is integer fen and points are integers, so sums are exact. Every balance is a sum over
// ledger_entries; member_balances and points_lots are caches that triggers keep in step with
// each insert, inside the same transaction, so no code path can forget to update them.
//
// ledger_entries, payments, refunds, recharges, deductions and redemptions have no foreign key
// to members: they are the store's financial records and must outlive a deleted member (like
// the audit log). They hold only the random member id, amounts and order ids — no payer id,
// name or phone. The payer link (payer_identities) and the caches go with the member.
export const membershipLedger: Migration = {
  version: 3,
  name: 'membership ledger: payer identities, payments, refunds, stored value, points, tiers',
  sql: `
-- payer_key is an HMAC of channel, app id and payer id; the payer id itself is never stored.
CREATE TABLE payer_identities (
  payer_key     TEXT PRIMARY KEY,
  member_id     TEXT NOT NULL REFERENCES members (id) ON DELETE CASCADE,
  channel       TEXT NOT NULL,
  created_at_ms INTEGER NOT NULL
) STRICT;

CREATE INDEX payer_identities_member ON payer_identities (member_id);

-- Each entry moves at most these three quantities; a balance is the SUM of its column.
-- at_ms is when the entry counts (payment time for spend and its refunds, earn time for a
-- points lot); recorded_at_ms is when it was written. lot_entry_id ties a points consumption
-- (redeem, expire, reverse) to the points-earn entry it draws from, which makes FIFO expiry
-- derivable from the entries alone.
CREATE TABLE ledger_entries (
  id              INTEGER PRIMARY KEY,
  member_id       TEXT NOT NULL,
  kind            TEXT NOT NULL CHECK (kind IN ('spend', 'refund', 'points-earn', 'points-redeem',
                    'points-expire', 'points-reverse', 'recharge', 'recharge-bonus', 'deduct')),
  spend_fen       INTEGER NOT NULL DEFAULT 0,
  points          INTEGER NOT NULL DEFAULT 0,
  stored_fen      INTEGER NOT NULL DEFAULT 0,
  order_id        TEXT,
  ref_id          TEXT,
  lot_entry_id    INTEGER REFERENCES ledger_entries (id),
  at_ms           INTEGER NOT NULL,
  recorded_at_ms  INTEGER NOT NULL,
  -- The sign of each movement is fixed by its kind, so a caller bug cannot turn a refund into
  -- a spend or a deduction into a top-up.
  CHECK (CASE kind
    WHEN 'spend'          THEN spend_fen > 0 AND points = 0 AND stored_fen = 0
    WHEN 'refund'         THEN spend_fen < 0 AND points = 0 AND stored_fen = 0
    WHEN 'points-earn'    THEN points > 0 AND spend_fen = 0 AND stored_fen = 0 AND lot_entry_id IS NULL
    WHEN 'recharge'       THEN stored_fen > 0 AND spend_fen = 0 AND points = 0
    WHEN 'recharge-bonus' THEN stored_fen > 0 AND spend_fen = 0 AND points = 0
    WHEN 'deduct'         THEN stored_fen < 0 AND spend_fen = 0 AND points = 0
    ELSE points < 0 AND spend_fen = 0 AND stored_fen = 0 AND lot_entry_id IS NOT NULL
  END)
) STRICT;

CREATE INDEX ledger_entries_member_at ON ledger_entries (member_id, at_ms);
CREATE INDEX ledger_entries_order ON ledger_entries (order_id) WHERE order_id IS NOT NULL;
CREATE INDEX ledger_entries_lot ON ledger_entries (lot_entry_id) WHERE lot_entry_id IS NOT NULL;

-- Money history is evidence; correcting it means appending a reversing entry.
CREATE TRIGGER ledger_entries_no_update BEFORE UPDATE ON ledger_entries
BEGIN SELECT RAISE(ABORT, 'ledger_entries is append-only'); END;

CREATE TRIGGER ledger_entries_no_delete BEFORE DELETE ON ledger_entries
BEGIN SELECT RAISE(ABORT, 'ledger_entries is append-only'); END;

-- Cache of the all-time sums; the CHECKs make a negative balance impossible even for a bug.
CREATE TABLE member_balances (
  member_id          TEXT PRIMARY KEY REFERENCES members (id) ON DELETE CASCADE,
  lifetime_spend_fen INTEGER NOT NULL DEFAULT 0,
  points             INTEGER NOT NULL DEFAULT 0 CHECK (points >= 0),
  stored_fen         INTEGER NOT NULL DEFAULT 0 CHECK (stored_fen >= 0)
) STRICT;

-- Cache of what is left of each points-earn entry, for FIFO redemption and expiry.
CREATE TABLE points_lots (
  lot_entry_id  INTEGER PRIMARY KEY,
  member_id     TEXT NOT NULL REFERENCES members (id) ON DELETE CASCADE,
  earned_at_ms  INTEGER NOT NULL,
  remaining     INTEGER NOT NULL CHECK (remaining >= 0)
) STRICT;

CREATE INDEX points_lots_member_open ON points_lots (member_id, earned_at_ms) WHERE remaining > 0;
CREATE INDEX points_lots_open_by_age ON points_lots (earned_at_ms) WHERE remaining > 0;

-- Insert-then-update rather than an upsert: SQLite checks the CHECKs of the row an upsert
-- would insert before it finds the conflict, so a first negative movement would fail there.
CREATE TRIGGER ledger_entries_update_balances AFTER INSERT ON ledger_entries
BEGIN
  INSERT OR IGNORE INTO member_balances (member_id) VALUES (NEW.member_id);
  UPDATE member_balances SET
    lifetime_spend_fen = lifetime_spend_fen + NEW.spend_fen,
    points = points + NEW.points,
    stored_fen = stored_fen + NEW.stored_fen
  WHERE member_id = NEW.member_id;
END;

CREATE TRIGGER ledger_entries_open_lot AFTER INSERT ON ledger_entries WHEN NEW.kind = 'points-earn'
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

-- Current tier. Not a sum of entries: a tier is kept until its period ends even when the
-- spend that reached it has since been refunded or left the window.
CREATE TABLE member_tiers (
  member_id        TEXT PRIMARY KEY REFERENCES members (id) ON DELETE CASCADE,
  tier_name        TEXT NOT NULL,
  period_end_at_ms INTEGER NOT NULL,
  updated_at_ms    INTEGER NOT NULL
) STRICT;

CREATE INDEX member_tiers_period_end ON member_tiers (period_end_at_ms);

-- One row per order, written once; the result columns let a retried request get the
-- original answer back. payer_digest = SHA-256 of order id and payer key: enough to tell a
-- retried order from a conflicting one, but unlike the payer key it cannot be looked up
-- across orders, so a deleted member's payments are not tied to the person on their return.
CREATE TABLE payments (
  order_id              TEXT PRIMARY KEY,
  member_id             TEXT NOT NULL,
  lane                  TEXT NOT NULL,
  channel               TEXT NOT NULL,
  payer_digest          TEXT NOT NULL,
  amount_fen            INTEGER NOT NULL CHECK (amount_fen > 0),
  paid_at_ms            INTEGER NOT NULL,
  member_created        INTEGER NOT NULL CHECK (member_created IN (0, 1)),
  discount_rate_applied REAL NOT NULL,
  points_earned         INTEGER NOT NULL CHECK (points_earned >= 0),
  tier_before           TEXT NOT NULL,
  tier_after            TEXT NOT NULL,
  recorded_at_ms        INTEGER NOT NULL
) STRICT;

CREATE INDEX payments_member ON payments (member_id);

CREATE TABLE refunds (
  refund_id       TEXT PRIMARY KEY,
  order_id        TEXT NOT NULL REFERENCES payments (order_id),
  member_id       TEXT NOT NULL,
  amount_fen      INTEGER NOT NULL CHECK (amount_fen > 0),
  points_reversed INTEGER NOT NULL CHECK (points_reversed >= 0),
  points_short    INTEGER NOT NULL CHECK (points_short >= 0),
  tier_name       TEXT NOT NULL,
  qualified_tier  TEXT NOT NULL,
  recorded_at_ms  INTEGER NOT NULL
) STRICT;

CREATE INDEX refunds_order ON refunds (order_id);

CREATE TABLE recharges (
  recharge_id    TEXT PRIMARY KEY,
  member_id      TEXT NOT NULL,
  amount_fen     INTEGER NOT NULL CHECK (amount_fen > 0),
  bonus_fen      INTEGER NOT NULL CHECK (bonus_fen >= 0),
  tier_before    TEXT NOT NULL,
  tier_after     TEXT NOT NULL,
  actor          TEXT NOT NULL,
  recorded_at_ms INTEGER NOT NULL
) STRICT;


CREATE TABLE deductions (
  order_id            TEXT PRIMARY KEY,
  member_id           TEXT NOT NULL,
  amount_fen          INTEGER NOT NULL CHECK (amount_fen > 0),
  confirmation_method TEXT NOT NULL,
  staff               TEXT NOT NULL,
  recorded_at_ms      INTEGER NOT NULL
) STRICT;

CREATE TABLE redemptions (
  order_id       TEXT PRIMARY KEY,
  member_id      TEXT NOT NULL,
  points         INTEGER NOT NULL CHECK (points > 0),
  recorded_at_ms INTEGER NOT NULL
) STRICT;
`,
};
