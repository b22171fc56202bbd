/**
 * HQ's PostgreSQL schema, one step per version like the store's migrations; applied at start
 * under an advisory lock, so HQ processes started together apply each step once.
 *
 * chain_events is the union of every branch's changes. The feed's order is (xid, id): the
 * inserting transaction's id, then the row's. A reader takes only rows of transactions older
 * than every one still running (pg_snapshot_xmin), so a batch that commits late can never slip
 * in behind a cursor that has moved on — without a lock that would make batches wait for each
 * other. Each event has its global id (gid, unique: a resent event is ignored)
 * and, when a store sent it, that store's sequence number. The other tables are projections
 * kept in the same transaction: the member directory, payer links, consents, balances.
 */
export const HQ_SCHEMA_STEPS: readonly { version: number; sql: string }[] = [
  {
    version: 1,
    sql: `
CREATE TABLE hq_settings (
  singleton          integer PRIMARY KEY CHECK (singleton = 1),
  payer_key_secret   bytea NOT NULL
);

-- token_hash: SHA-256 of the store's token; the token itself is shown once.
CREATE TABLE stores (
  store_id          text PRIMARY KEY,
  token_hash        text NOT NULL UNIQUE,
  created_at        timestamptz NOT NULL DEFAULT now(),
  revoked_at        timestamptz,
  last_seq          bigint NOT NULL DEFAULT 0,
  last_sync_at      timestamptz,
  reported_backlog  integer NOT NULL DEFAULT 0,
  feed_cursor       text NOT NULL DEFAULT '0:0'
);

CREATE TABLE owner_tokens (
  token_hash  text PRIMARY KEY,
  label       text NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now(),
  revoked_at  timestamptz
);

-- pushed: sent by store_id in a batch (its feed skips them); false for a spend HQ authorized
-- for store_id, which that store takes from the feed like any other branch's entry.
-- delivered: false for a change HQ keeps but sends to no branch (a member's details after
-- their erasure).
CREATE TABLE chain_events (
  id           bigserial PRIMARY KEY,
  xid          xid8 NOT NULL DEFAULT pg_current_xact_id(),
  gid          text NOT NULL UNIQUE,
  store_id     text NOT NULL REFERENCES stores (store_id),
  store_seq    bigint,
  pushed       boolean NOT NULL,
  delivered    boolean NOT NULL DEFAULT true,
  kind         text NOT NULL,
  member_id    text NOT NULL,
  body         jsonb NOT NULL,
  received_at  timestamptz NOT NULL DEFAULT now(),
  UNIQUE (store_id, store_seq)
);

CREATE INDEX chain_events_member ON chain_events (member_id) WHERE kind = 'entry';
CREATE INDEX chain_events_feed ON chain_events (xid, id);
CREATE INDEX chain_events_faces ON chain_events (member_id) WHERE kind = 'face';

CREATE TABLE members (
  member_id      text PRIMARY KEY,
  name           text,
  phone          text,
  home_store     text NOT NULL,
  created_at_ms  bigint NOT NULL,
  updated_at_ms  bigint NOT NULL,
  erased_at      timestamptz
);

CREATE TABLE payer_keys (
  payer_key   text PRIMARY KEY,
  member_id   text NOT NULL,
  channel     text NOT NULL
);

CREATE TABLE consents (
  consent_id       text PRIMARY KEY,
  member_id        text NOT NULL,
  store_id         text NOT NULL,
  kind             text NOT NULL,
  method           text NOT NULL,
  granted_at_ms    bigint NOT NULL,
  withdrawn_at_ms  bigint
);

-- Sums of the entries, per member; a stored-value spend is authorized against stored_fen.
CREATE TABLE balances (
  member_id   text PRIMARY KEY,
  spend_fen   bigint NOT NULL DEFAULT 0,
  points      bigint NOT NULL DEFAULT 0,
  stored_fen  bigint NOT NULL DEFAULT 0
);

-- One row per stored-value spend HQ authorized: a retried request gets the same answer.
CREATE TABLE spends (
  store_id    text NOT NULL,
  order_id    text NOT NULL,
  member_id   text NOT NULL,
  amount_fen  bigint NOT NULL CHECK (amount_fen > 0),
  event_gid   text NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (store_id, order_id)
);

CREATE INDEX chain_events_sales ON chain_events (store_id, ((body->>'atMs')::bigint)) WHERE kind = 'entry' AND body->>'kind' IN ('spend', 'refund');
CREATE INDEX members_created ON members (created_at_ms);
`,
  },
  {
    version: 2,
    sql: `
-- The chain's campaign rules as the owner set them at HQ, one row per change (the newest is in
-- force): the version tells a store whether it holds them already, and the rows are the record
-- of who changed them when.
CREATE TABLE campaign_rules (
  version   bigserial PRIMARY KEY,
  rules     jsonb NOT NULL,
  set_by    text NOT NULL,
  set_at    timestamptz NOT NULL DEFAULT now()
);
`,
  },
];
