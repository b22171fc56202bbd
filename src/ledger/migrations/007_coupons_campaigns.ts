import type { Migration } from './migration.js';

// Coupons are money-like promises, so they follow the ledger's rules: a coupon row is written
// once and never changed, and what happens to it (issued, redeemed with an order, expired) is
// appended to coupon_events. At most one redemption or expiry per coupon and at most one
// coupon per order are enforced by unique indexes, so no code path can redeem a coupon twice.
// Like ledger_entries, coupons keep no foreign key to members: issued and redeemed counts are
// the store's records and outlive a deleted member (they hold only the random member id).
//
// Marketing preferences live on the member row: marketing_opt_out (no campaign rule fires and
// no outbound message goes to a member who set it) and an optional birthday month-day, which
// may only be stored together with the time the member agreed to it.
//
// campaign_firings records each time a rule fired for a member under a key (the year for a
// birthday, the dormancy for a welcome-back coupon, the day for a check-in), so a rule fires
// once per key however often the member is seen. visits are recognized visits, one per member
// and store day; referrals one per referred member.
export const couponsCampaigns: Migration = {
  version: 7,
  name: 'coupons, coupon batches, campaign rules and firings, visits, referrals, marketing preferences',
  sql: `
ALTER TABLE members ADD COLUMN marketing_opt_out INTEGER NOT NULL DEFAULT 0 CHECK (marketing_opt_out IN (0, 1));
ALTER TABLE members ADD COLUMN birthday_md TEXT CHECK (birthday_md IS NULL OR (length(birthday_md) = 5 AND birthday_md GLOB '[01][0-9]-[0-3][0-9]'));
ALTER TABLE members ADD COLUMN birthday_consent_at_ms INTEGER;

CREATE TRIGGER members_birthday_needs_consent BEFORE UPDATE OF birthday_md ON members
  WHEN NEW.birthday_md IS NOT NULL AND NEW.birthday_consent_at_ms IS NULL
BEGIN SELECT RAISE(ABORT, 'a birthday is stored only with the member''s agreement'); END;

CREATE TABLE coupons (
  coupon_id      TEXT PRIMARY KEY,
  member_id      TEXT NOT NULL,
  -- 'batch' (an admin's POST /api/coupons/batches) or 'rule' (a campaign rule)
  source         TEXT NOT NULL,
  -- batch id, or rule:key for a rule; with member_id it makes issuing idempotent
  source_ref     TEXT NOT NULL,
  title          TEXT NOT NULL,
  amount_off_fen INTEGER CHECK (amount_off_fen IS NULL OR amount_off_fen > 0),
  -- price multiplier, e.g. 0.9 for 10 % off
  rate           REAL CHECK (rate IS NULL OR (rate > 0 AND rate < 1)),
  min_spend_fen  INTEGER NOT NULL CHECK (min_spend_fen >= 0),
  valid_from_ms  INTEGER NOT NULL,
  valid_until_ms INTEGER NOT NULL,
  issued_at_ms   INTEGER NOT NULL,
  CHECK ((amount_off_fen IS NULL) <> (rate IS NULL)),
  CHECK (valid_until_ms > valid_from_ms),
  UNIQUE (source, source_ref, member_id)
) STRICT;

CREATE INDEX coupons_member ON coupons (member_id, valid_until_ms);
CREATE INDEX coupons_issued_at ON coupons (issued_at_ms);
CREATE INDEX coupons_valid_until ON coupons (valid_until_ms);

CREATE TRIGGER coupons_no_update BEFORE UPDATE ON coupons
BEGIN SELECT RAISE(ABORT, 'coupons are written once; what happens to one is a coupon event'); END;

CREATE TABLE coupon_events (
  id             INTEGER PRIMARY KEY,
  coupon_id      TEXT NOT NULL REFERENCES coupons (coupon_id),
  member_id      TEXT NOT NULL,
  kind           TEXT NOT NULL CHECK (kind IN ('issued', 'redeemed', 'expired')),
  order_id       TEXT,
  -- for a redemption: the order before the coupon and what the coupon took off it
  order_fen      INTEGER,
  discount_fen   INTEGER,
  at_ms          INTEGER NOT NULL,
  CHECK (CASE kind
    WHEN 'redeemed' THEN order_id IS NOT NULL AND discount_fen > 0 AND order_fen > discount_fen
    ELSE order_id IS NULL AND discount_fen IS NULL AND order_fen IS NULL
  END)
) STRICT;

CREATE UNIQUE INDEX coupon_events_issued_once ON coupon_events (coupon_id) WHERE kind = 'issued';
CREATE UNIQUE INDEX coupon_events_final_once ON coupon_events (coupon_id) WHERE kind IN ('redeemed', 'expired');
CREATE UNIQUE INDEX coupon_events_one_per_order ON coupon_events (order_id) WHERE kind = 'redeemed';
CREATE INDEX coupon_events_at ON coupon_events (kind, at_ms);

CREATE TRIGGER coupon_events_no_update BEFORE UPDATE ON coupon_events
BEGIN SELECT RAISE(ABORT, 'coupon_events is append-only'); END;

CREATE TRIGGER coupon_events_no_delete BEFORE DELETE ON coupon_events
BEGIN SELECT RAISE(ABORT, 'coupon_events is append-only'); END;

-- One row per admin batch: a batch sent again with the same id gets the first answer.
CREATE TABLE coupon_batches (
  batch_id       TEXT PRIMARY KEY,
  request_digest TEXT NOT NULL,
  filter_json    TEXT NOT NULL CHECK (json_valid(filter_json)),
  terms_json     TEXT NOT NULL CHECK (json_valid(terms_json)),
  issued         INTEGER NOT NULL CHECK (issued >= 0),
  skipped        INTEGER NOT NULL CHECK (skipped >= 0),
  actor          TEXT NOT NULL,
  created_at_ms  INTEGER NOT NULL
) STRICT;

-- The campaign rules an admin saved over the settings' defaults; one row.
CREATE TABLE campaign_rules (
  id            INTEGER PRIMARY KEY CHECK (id = 1),
  rules_json    TEXT NOT NULL CHECK (json_valid(rules_json)),
  actor         TEXT NOT NULL,
  updated_at_ms INTEGER NOT NULL
) STRICT;

CREATE TABLE campaign_firings (
  member_id    TEXT NOT NULL REFERENCES members (id) ON DELETE CASCADE,
  rule         TEXT NOT NULL,
  fire_key     TEXT NOT NULL,
  coupon_id    TEXT,
  fired_at_ms  INTEGER NOT NULL,
  PRIMARY KEY (member_id, rule, fire_key)
) STRICT, WITHOUT ROWID;

CREATE INDEX campaign_firings_rule ON campaign_firings (rule, fired_at_ms);

CREATE TABLE visits (
  member_id  TEXT NOT NULL REFERENCES members (id) ON DELETE CASCADE,
  -- the store's local date, YYYY-MM-DD
  day        TEXT NOT NULL,
  lane       TEXT NOT NULL,
  via        TEXT NOT NULL,
  at_ms      INTEGER NOT NULL,
  PRIMARY KEY (member_id, day)
) STRICT, WITHOUT ROWID;

CREATE TABLE referrals (
  referee_member_id  TEXT PRIMARY KEY REFERENCES members (id) ON DELETE CASCADE,
  referrer_member_id TEXT NOT NULL,
  order_id           TEXT NOT NULL,
  at_ms              INTEGER NOT NULL,
  CHECK (referee_member_id <> referrer_member_id)
) STRICT;

CREATE INDEX referrals_referrer ON referrals (referrer_member_id);
`,
};
