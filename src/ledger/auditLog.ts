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
