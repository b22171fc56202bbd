import type { SqliteDatabase } from './database.js';
import type { EpochMs } from './types.js';

export interface InactiveMember {
  id: string;
  name: string;
  /** Latest of: joining, any ledger movement, being recognized at a till. */
  lastActiveAtMs: EpochMs;
}

/**
 * Members who have not been seen for a long time, for the admin to follow up or delete (data
 * minimisation: face data should not be kept for people who no longer shop here). Reads only.
 */
export class MemberActivity {
  readonly #inactive;

  constructor(db: SqliteDatabase) {
    this.#inactive = db.prepare<[number, number], { id: string; name: string; last_active_at_ms: number }>(`
      SELECT m.id, m.name,
             max(m.created_at_ms, coalesce(le.at_ms, 0), coalesce(seen.at_ms, 0)) AS last_active_at_ms
        FROM members m
        LEFT JOIN (SELECT member_id, max(at_ms) AS at_ms FROM ledger_entries GROUP BY member_id) le ON le.member_id = m.id
        LEFT JOIN (SELECT subject, max(at_ms) AS at_ms FROM audit_log WHERE action = 'match' GROUP BY subject) seen ON seen.subject = m.id
       WHERE last_active_at_ms < ?
       ORDER BY last_active_at_ms, m.id
       LIMIT ?`);
  }

  inactiveSince(cutoffMs: EpochMs, limit: number): InactiveMember[] {
    return this.#inactive.all(cutoffMs, limit).map((r) => ({ id: r.id, name: r.name, lastActiveAtMs: r.last_active_at_ms }));
  }
}
