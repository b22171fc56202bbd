import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { SqliteDatabase } from './database.js';
import type { EpochMs } from './types.js';

export type Role = 'admin' | 'till' | 'device' | 'pos';
export const ROLES: readonly Role[] = ['admin', 'till', 'device', 'pos'];

export interface ApiToken {
  id: string;
  role: Role;
  label: string;
  createdAtMs: EpochMs;
  revokedAtMs: EpochMs | null;
}

export interface IssuedToken extends ApiToken {
  /** The secret itself: shown once, never stored. */
  token: string;
}

interface TokenRow {
  id: string;
  role: string;
  label: string;
  token_sha256: Buffer;
  created_at_ms: number;
  revoked_at_ms: number | null;
}

const TOKEN_BYTES = 32;

function sha256(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

/** Bearer tokens for the REST API and the till socket, stored as hashes. */
export class TokenRepository {
  readonly #insert;
  readonly #byHash;
  readonly #list;
  readonly #revoke;
  readonly #countActive;

  constructor(
    db: SqliteDatabase,
    private readonly clock: () => EpochMs = Date.now,
  ) {
    this.#insert = db.prepare<[string, string, string, Buffer, number]>(
      'INSERT INTO api_tokens (id, role, label, token_sha256, created_at_ms) VALUES (?, ?, ?, ?, ?)',
    );
    this.#byHash = db.prepare<[Buffer], TokenRow>('SELECT * FROM api_tokens WHERE token_sha256 = ? AND revoked_at_ms IS NULL');
    this.#list = db.prepare<[], TokenRow>('SELECT * FROM api_tokens ORDER BY created_at_ms, id');
    this.#revoke = db.prepare<[number, string]>('UPDATE api_tokens SET revoked_at_ms = ? WHERE id = ? AND revoked_at_ms IS NULL');
    this.#countActive = db.prepare<[], { n: number }>('SELECT count(*) AS n FROM api_tokens WHERE revoked_at_ms IS NULL');
  }

  issue(role: Role, label: string): IssuedToken {
    const id = `t_${randomBytes(6).toString('hex')}`;
    // The role in the prefix lets an operator tell tokens apart without looking them up.
    const token = `ml_${role}_${randomBytes(TOKEN_BYTES).toString('base64url')}`;
    const createdAtMs = this.clock();
    this.#insert.run(id, role, label, sha256(token), createdAtMs);
    return { id, role, label, createdAtMs, revokedAtMs: null, token };
  }

  /** The active token with this secret, or undefined. */
  verify(token: string): ApiToken | undefined {
    if (typeof token !== 'string' || token.length === 0 || token.length > 200) return undefined;
    const hash = sha256(token);
    const row = this.#byHash.get(hash);
    // The lookup is by hash; the constant-time compare guards against a future change to a prefix lookup.
    if (!row || !timingSafeEqual(row.token_sha256, hash)) return undefined;
    return toToken(row);
  }

  list(): ApiToken[] {
    return this.#list.all().map(toToken);
  }

  revoke(id: string): boolean {
    return this.#revoke.run(this.clock(), id).changes > 0;
  }

  activeCount(): number {
    return this.#countActive.get()!.n;
  }
}

function toToken(row: TokenRow): ApiToken {
  return {
    id: row.id,
    role: row.role as Role,
    label: row.label,
    createdAtMs: row.created_at_ms,
    revokedAtMs: row.revoked_at_ms,
  };
}
