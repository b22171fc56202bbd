import type { Migration } from './migration.js';

// Entries past security.auditRetentionDays may now be deleted, but the legal floor — three
// years, 1095 days — lives here in SQL, measured against the database's own clock: a bug or a
// bad setting in the service, a wrong test clock, or a script on a second connection cannot
// erase a young entry; only a migration could lower the floor. ('subsec' needs SQLite 3.42;
// better-sqlite3 bundles newer.)
//
// A deletion must also be declared first: only entries older than the cutoffMs in the newest
// 'audit.purge' entry may go, so entries never leave without a trace in the log itself, and a
// purge cut short has still left its record. The partial index makes finding that entry cheap
// for every deleted row. UPDATE stays refused (audit_log_no_update from migration 001).
export const auditRetention: Migration = {
  version: 4,
  name: 'audit log: entries older than three years deletable after a declared purge',
  sql: `
DROP TRIGGER audit_log_no_delete;

CREATE INDEX audit_log_purges ON audit_log (id) WHERE action = 'audit.purge';

CREATE TRIGGER audit_log_no_early_delete BEFORE DELETE ON audit_log
BEGIN
  -- Milliseconds like at_ms: the service computes its cutoff just before, from the same clock,
  -- so a whole-second floor would refuse entries in the last second of a 1095-day purge. A
  -- SQLite too old for 'subsec' yields NULL, which refuses too.
  SELECT RAISE(ABORT, 'audit_log entries younger than three years (1095 days) cannot be deleted')
  WHERE coalesce(OLD.at_ms >= unixepoch('subsec') * 1000 - 1095 * 86400000, 1);
  -- A missing cutoff (NULL) or a malformed one (0) refuses too.
  SELECT RAISE(ABORT, 'audit_log is append-only except for entries older than the cutoff of the latest audit.purge entry')
  WHERE coalesce(OLD.at_ms < (
    SELECT CAST(json_extract(details, '$.cutoffMs') AS INTEGER) FROM audit_log
    WHERE action = 'audit.purge' ORDER BY id DESC LIMIT 1
  ), 0) = 0;
END;
`,
};
