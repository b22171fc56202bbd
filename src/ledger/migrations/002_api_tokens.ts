import type { Migration } from './migration.js';

// Only a SHA-256 of each token is kept: a copied database file lets no one in. Tokens are
// 256 random bits, so a plain hash is enough (no password-style stretching needed).
export const apiTokens: Migration = {
  version: 2,
  name: 'API tokens',
  sql: `
CREATE TABLE api_tokens (
  id            TEXT PRIMARY KEY,
  role          TEXT NOT NULL,
  label         TEXT NOT NULL,
  token_sha256  BLOB NOT NULL UNIQUE,
  created_at_ms INTEGER NOT NULL,
  revoked_at_ms INTEGER
) STRICT;
`,
};
