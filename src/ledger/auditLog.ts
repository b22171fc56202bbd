import type { SqliteDatabase } from './database.js';
import { assertAuditSafe } from './auditDetailsGuard.js';
import type { AuditAction, AuditDetails, AuditEntry, EpochMs } from './types.js';

export interface AuditRecordInput {
  actor: string;
  action: AuditAction;
  subject?: string | null;
  details?: AuditDetails | null;
}

export interface AuditListQuery {
  /** Only entries at or after this time. */
  sinceMs?: EpochMs;
  limit: number;
}

/** One page of an export: entries in [sinceMs, untilMs) with ids in (afterId, throughId], oldest first. */
export interface AuditPageQuery {
  sinceMs: EpochMs;
  untilMs: EpochMs;
  afterId: number;
  throughId: number;
  limit: number;
}

interface AuditRow {
  id: number;
  at_ms: number;
  actor: string;
  action: string;
  subject: string | null;
  details: string | null;
}

/** The processing log: what was done to whom, by whom, when — never the data itself. */
export class AuditLog {
  readonly #insert;
  readonly #list;
  readonly #page;
  readonly #latest;
  readonly #olderThan;

  constructor(
    db: SqliteDatabase,
    private readonly clock: () => EpochMs = Date.now,
  ) {
    this.#insert = db.prepare<[number, string, string, string | null, string | null]>(
      'INSERT INTO audit_log (at_ms, actor, action, subject, details) VALUES (?, ?, ?, ?, ?)',
    );
    this.#list = db.prepare<[number, number], AuditRow>(
      'SELECT id, at_ms, actor, action, subject, details FROM audit_log WHERE at_ms >= ? ORDER BY id LIMIT ?',
    );
    this.#page = db.prepare<[number, number, number, number, number], AuditRow>(
      'SELECT id, at_ms, actor, action, subject, details FROM audit_log WHERE at_ms >= ? AND at_ms < ? AND id > ? AND id <= ? ORDER BY id LIMIT ?',
    );
    // Bounded below by time so the at_ms index limits the scan to the window asked about.
    this.#latest = db.prepare<[number, string, string], AuditRow>(
      'SELECT id, at_ms, actor, action, subject, details FROM audit_log WHERE at_ms >= ? AND action = ? AND actor = ? ORDER BY at_ms DESC, id DESC LIMIT 1',
    );
    this.#olderThan = db.prepare<[number], { n: number; oldest: number | null }>(
      'SELECT count(*) AS n, min(at_ms) AS oldest FROM audit_log WHERE at_ms < ?',
    );
  }

  record(input: AuditRecordInput): AuditEntry {
    const details = input.details ?? null;
    const subject = input.subject ?? null;
    assertAuditSafe(input.actor, 'actor');
    assertAuditSafe(subject, 'subject');
    assertAuditSafe(details);
    const atMs = this.clock();
    const result = this.#insert.run(atMs, input.actor, input.action, subject, details && JSON.stringify(details));
    return { id: Number(result.lastInsertRowid), atMs, actor: input.actor, action: input.action, subject, details };
  }

  list(query: AuditListQuery): AuditEntry[] {
    return this.#list.all(query.sinceMs ?? 0, query.limit).map(toEntry);
  }

  /**
   * Pages by id rather than holding a cursor open: a streaming export waits on the network
   * between pages, and an open better-sqlite3 iterator would block every other statement.
   */
  page(query: AuditPageQuery): AuditEntry[] {
    return this.#page.all(query.sinceMs, query.untilMs, query.afterId, query.throughId, query.limit).map(toEntry);
  }

  /** The newest entry of this action by this actor at or after `sinceMs`. */
  latest(action: AuditAction, actor: string, sinceMs: EpochMs): AuditEntry | undefined {
    const row = this.#latest.get(sinceMs, action, actor);
    return row && toEntry(row);
  }

  /** How many entries are older than `beforeMs`, and when the oldest of them was written. */
  countOlderThan(beforeMs: EpochMs): { count: number; oldestAtMs: EpochMs | null } {
    const row = this.#olderThan.get(beforeMs)!;
    return { count: row.n, oldestAtMs: row.oldest };
  }
}

function toEntry(row: AuditRow): AuditEntry {
  return {
    id: row.id,
    atMs: row.at_ms,
    actor: row.actor,
    action: row.action as AuditAction,
    subject: row.subject,
    details: row.details === null ? null : (JSON.parse(row.details) as AuditDetails),
  };
}
