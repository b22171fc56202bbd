import type { Migration } from './migration.js';

// A store in a chain sends HQ every ledger entry, member change, payer link and consent change
// it makes, exactly once and in order. Triggers write them to chain_outbox in the same
// transaction as the change itself, so no code path — today's or a later entry kind — can
// change a member or append an entry without it reaching HQ, and a crash can lose neither
// the change nor its outbox row without the other. The outbox's AUTOINCREMENT seq is the
// store's sequence number: it is assigned inside the transaction, so a rolled-back change
// leaves no gap.
//
// chain_link holds one row once the store has joined a chain; without it the triggers write
// nothing and a store that runs alone pays one lookup per write. `applying` is 1 while the
// store applies what HQ sent (other branches' changes), which must not be sent back.
//
// A member's marketing opt-out travels with their details: declined at one branch, no branch
// sends them messages.
//
// ledger_entries.gid is NULL for this store's own entries (their global id is
// "<store>:e<id>") and holds the global id of an entry that came from HQ, so each is
// applied once and a points consumption can name the lot it draws from across branches.
export const chainOutbox: Migration = {
  version: 10,
  name: 'chain stores: outbox of changes for HQ, applied cursor, global ids of entries from other branches',
  sql: `
CREATE TABLE chain_link (
  singleton     INTEGER PRIMARY KEY CHECK (singleton = 1),
  store_id      TEXT NOT NULL,
  hq_cursor     TEXT NOT NULL DEFAULT '0:0',
  applying      INTEGER NOT NULL DEFAULT 0 CHECK (applying IN (0, 1)),
  joined_at_ms  INTEGER NOT NULL
) STRICT;

CREATE TABLE chain_outbox (
  seq        INTEGER PRIMARY KEY AUTOINCREMENT,
  gid        TEXT NOT NULL UNIQUE,
  kind       TEXT NOT NULL,
  member_id  TEXT NOT NULL,
  body       TEXT NOT NULL CHECK (json_valid(body))
) STRICT;

ALTER TABLE ledger_entries ADD COLUMN gid TEXT;
CREATE UNIQUE INDEX ledger_entries_gid ON ledger_entries (gid) WHERE gid IS NOT NULL;

CREATE TRIGGER chain_outbox_entry AFTER INSERT ON ledger_entries
WHEN NEW.gid IS NULL AND EXISTS (SELECT 1 FROM chain_link WHERE applying = 0)
BEGIN
  INSERT INTO chain_outbox (gid, kind, member_id, body)
  SELECT l.store_id || ':e' || NEW.id, 'entry', NEW.member_id,
    json_object('kind', NEW.kind, 'spendFen', NEW.spend_fen, 'points', NEW.points, 'storedFen', NEW.stored_fen,
      'orderId', NEW.order_id, 'refId', NEW.ref_id,
      'lot', (SELECT COALESCE(e.gid, l.store_id || ':e' || e.id) FROM ledger_entries e WHERE e.id = NEW.lot_entry_id),
      'atMs', NEW.at_ms, 'recordedAtMs', NEW.recorded_at_ms)
  FROM chain_link l;
END;

CREATE TRIGGER chain_outbox_member_insert AFTER INSERT ON members
WHEN EXISTS (SELECT 1 FROM chain_link WHERE applying = 0)
BEGIN
  INSERT INTO chain_outbox (gid, kind, member_id, body)
  SELECT l.store_id || ':' || lower(hex(randomblob(8))), 'member', NEW.id,
    json_object('name', NEW.name, 'phone', NEW.phone, 'createdAtMs', NEW.created_at_ms, 'updatedAtMs', NEW.updated_at_ms,
      'marketingOptOut', NEW.marketing_opt_out)
  FROM chain_link l;
END;

CREATE TRIGGER chain_outbox_member_update AFTER UPDATE ON members
WHEN EXISTS (SELECT 1 FROM chain_link WHERE applying = 0)
BEGIN
  INSERT INTO chain_outbox (gid, kind, member_id, body)
  SELECT l.store_id || ':' || lower(hex(randomblob(8))), 'member', NEW.id,
    json_object('name', NEW.name, 'phone', NEW.phone, 'createdAtMs', NEW.created_at_ms, 'updatedAtMs', NEW.updated_at_ms,
      'marketingOptOut', NEW.marketing_opt_out)
  FROM chain_link l;
END;

CREATE TRIGGER chain_outbox_member_erase AFTER DELETE ON members
WHEN EXISTS (SELECT 1 FROM chain_link WHERE applying = 0)
BEGIN
  INSERT INTO chain_outbox (gid, kind, member_id, body)
  SELECT l.store_id || ':' || lower(hex(randomblob(8))), 'member-erase', OLD.id, json_object()
  FROM chain_link l;
END;

CREATE TRIGGER chain_outbox_payer AFTER INSERT ON payer_identities
WHEN EXISTS (SELECT 1 FROM chain_link WHERE applying = 0)
BEGIN
  INSERT INTO chain_outbox (gid, kind, member_id, body)
  SELECT l.store_id || ':' || lower(hex(randomblob(8))), 'payer', NEW.member_id,
    json_object('payerKey', NEW.payer_key, 'channel', NEW.channel, 'createdAtMs', NEW.created_at_ms)
  FROM chain_link l;
END;

CREATE TRIGGER chain_outbox_consent_insert AFTER INSERT ON consents
WHEN EXISTS (SELECT 1 FROM chain_link WHERE applying = 0)
BEGIN
  INSERT INTO chain_outbox (gid, kind, member_id, body)
  SELECT l.store_id || ':' || lower(hex(randomblob(8))), 'consent', NEW.member_id,
    json_object('consentId', NEW.id, 'kind', NEW.kind, 'method', NEW.method, 'grantedAtMs', NEW.granted_at_ms,
      'withdrawnAtMs', NEW.withdrawn_at_ms)
  FROM chain_link l;
END;

CREATE TRIGGER chain_outbox_consent_update AFTER UPDATE OF withdrawn_at_ms ON consents
WHEN EXISTS (SELECT 1 FROM chain_link WHERE applying = 0)
BEGIN
  INSERT INTO chain_outbox (gid, kind, member_id, body)
  SELECT l.store_id || ':' || lower(hex(randomblob(8))), 'consent', NEW.member_id,
    json_object('consentId', NEW.id, 'kind', NEW.kind, 'method', NEW.method, 'grantedAtMs', NEW.granted_at_ms,
      'withdrawnAtMs', NEW.withdrawn_at_ms)
  FROM chain_link l;
END;
`,
};
