import type { Migration } from './migration.js';

// STRICT tables so a wrong type from a caller fails loudly instead of being coerced.
// Enumerated text columns (source, kind, method, action) have no CHECK lists: adding a value
// later would force a table rebuild in SQLite, and the TypeScript types already restrict them.
export const membersFacesConsentAudit: Migration = {
  version: 1,
  name: 'members, faces, consents, audit log',
  sql: `
CREATE TABLE members (
  id            TEXT PRIMARY KEY,
  name          TEXT NOT NULL CHECK (length(name) > 0),
  phone         TEXT UNIQUE CHECK (phone IS NULL OR (length(phone) = 11 AND phone NOT GLOB '*[^0-9]*')),
  created_at_ms INTEGER NOT NULL,
  updated_at_ms INTEGER NOT NULL
) STRICT;

CREATE INDEX members_created_at ON members (created_at_ms);

CREATE TABLE faces (
  id              TEXT PRIMARY KEY,
  member_id       TEXT NOT NULL REFERENCES members (id) ON DELETE CASCADE,
  embedding       BLOB NOT NULL,
  source          TEXT NOT NULL,
  quality         TEXT CHECK (quality IS NULL OR json_valid(quality)),
  detection_score REAL,
  created_at_ms   INTEGER NOT NULL
) STRICT;

CREATE INDEX faces_member ON faces (member_id);

CREATE TABLE consents (
  id              TEXT PRIMARY KEY,
  member_id       TEXT NOT NULL REFERENCES members (id) ON DELETE CASCADE,
  kind            TEXT NOT NULL,
  method          TEXT NOT NULL,
  granted_at_ms   INTEGER NOT NULL,
  lane            TEXT,
  staff           TEXT,
  withdrawn_at_ms INTEGER
) STRICT;

CREATE INDEX consents_member_kind ON consents (member_id, kind);

-- No foreign key to members: the processing log must outlive the member it mentions.
CREATE TABLE audit_log (
  id      INTEGER PRIMARY KEY,
  at_ms   INTEGER NOT NULL,
  actor   TEXT NOT NULL,
  action  TEXT NOT NULL,
  subject TEXT,
  details TEXT CHECK (details IS NULL OR json_valid(details))
) STRICT;

CREATE INDEX audit_log_at ON audit_log (at_ms);

-- The processing log is evidence for regulators; rewriting history must take a migration.
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;

CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
`,
};
