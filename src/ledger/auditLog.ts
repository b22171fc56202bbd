import { setImmediate as nextTurn } from 'node:timers/promises';
import type { SqliteDatabase } from './database.js';
import { assertAuditSafe } from './auditDetailsGuard.js';
import { LedgerError } from './ledgerErrors.js';
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

/** One page of one action's entries, newest first. */
export interface AuditByActionQuery {
  limit: number;
  /** Only entries with a smaller id: the last id of the previous page. */
  beforeId?: number;
}

/** One page of an export: entries in [sinceMs, untilMs) with ids in (afterId, throughId], oldest first. */
export interface AuditPageQuery {
  sinceMs: EpochMs;
  untilMs: EpochMs;
  afterId: number;
  throughId: number;
  limit: number;
}

export interface AuditPurgeOptions {
  /** The cutoff is this minus the retention; by default the log's clock. */
  nowMs?: EpochMs;
  /** Checked between batches: once aborted, the purge stops and the next run deletes the rest. */
  signal?: AbortSignal;
}

/** What the newest purge declared before it deleted. */
export interface AuditPurgeRecord {
  atMs: EpochMs;
  cutoffMs: EpochMs;
  /** Entries older than the cutoff when the purge began: what it deleted unless it was cut short. */
  entries: number;
}

/** The legal floor (three years); migration 004 enforces it in SQL too, this only fails first and clearer. */
const MIN_AUDIT_RETENTION_DAYS = 1095;
// Only deleteExpired writes it; migration 004's trigger looks for this exact action.
const PURGE_ACTION: AuditAction = 'audit.purge';
const DAY_MS = 86_400_000;
// A few ms of write lock per batch, so even a large backlog never holds up tills or payments.
const PURGE_BATCH_ROWS = 1000;

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
  readonly #byAction;
  readonly #page;
  readonly #latest;
  readonly #olderThan;
  readonly #lastPurge;
  readonly #deleteBatch;
  readonly #declarePurge;

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
    // Walks the (action, id) index of migration 005 backwards: as cheap with a million
    // recognitions in the log as with none.
    this.#byAction = db.prepare<[string, number, number], AuditRow>(
      'SELECT id, at_ms, actor, action, subject, details FROM audit_log WHERE action = ? AND id < ? ORDER BY id DESC LIMIT ?',
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
    // The action is spelled out, not bound, so the planner can use the partial index on it.
    this.#lastPurge = db.prepare<[], Pick<AuditRow, 'at_ms' | 'details'>>(
      `SELECT at_ms, details FROM audit_log WHERE action = '${PURGE_ACTION}' ORDER BY id DESC LIMIT 1`,
    );
    // A subquery, not DELETE ... LIMIT, which only SQLite builds with a compile-time option accept.
    this.#deleteBatch = db.prepare<[number, number]>(
      'DELETE FROM audit_log WHERE id IN (SELECT id FROM audit_log WHERE at_ms < ? ORDER BY at_ms LIMIT ?)',
    );
    // Count and declaration commit together, so the declared count is what lay past the cutoff.
    this.#declarePurge = db.transaction((retentionDays: number, cutoffMs: number): number => {
      const { count } = this.countOlderThan(cutoffMs);
      if (count > 0) {
        this.#append('system', PURGE_ACTION, null, {
          retentionDays,
          cutoff: new Date(cutoffMs).toISOString(),
          cutoffMs,
          entries: count,
        });
      }
      return count;
    });
  }

  record(input: AuditRecordInput): AuditEntry {
    const details = input.details ?? null;
    const subject = input.subject ?? null;
    const { id, atMs } = this.#append(input.actor, input.action, subject, details);
    return { id, atMs, actor: input.actor, action: input.action, subject, details };
  }

  list(query: AuditListQuery): AuditEntry[] {
    return this.#list.all(query.sinceMs ?? 0, query.limit).map(toEntry);
  }

  /** Entries of one action, newest first, a page at a time. */
  listByAction(action: AuditAction, query: AuditByActionQuery): AuditEntry[] {
    return this.#byAction.all(action, query.beforeId ?? Number.MAX_SAFE_INTEGER, query.limit).map(toEntry);
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

  /**
   * Deletes the entries older than `retentionDays` and returns how many went. Before deleting
   * it writes one 'audit.purge' entry (cutoff and count, nothing about the entries), which the
   * database requires (migration 004). Each batch is its own short write and the event loop
   * gets a turn between batches; call it outside any transaction.
   */
  async deleteExpired(retentionDays: number, opts: AuditPurgeOptions = {}): Promise<number> {
    if (!Number.isInteger(retentionDays) || retentionDays < MIN_AUDIT_RETENTION_DAYS) {
      throw new LedgerError(
        'INVALID_INPUT',
        `The processing log must be kept at least ${MIN_AUDIT_RETENTION_DAYS} days (three years); ` +
          `got a retention of ${retentionDays} days. Set security.auditRetentionDays to ${MIN_AUDIT_RETENTION_DAYS} or more.`,
      );
    }
    const cutoffMs = (opts.nowMs ?? this.clock()) - retentionDays * DAY_MS;
    if (this.#declarePurge.immediate(retentionDays, cutoffMs) === 0) return 0;
    let deleted = 0;
    for (;;) {
      const batch = this.#deleteBatch.run(cutoffMs, PURGE_BATCH_ROWS).changes;
      deleted += batch;
      if (batch < PURGE_BATCH_ROWS || opts.signal?.aborted) return deleted;
      await nextTurn();
      if (opts.signal?.aborted) return deleted;
    }
  }

  /** The newest purge, or undefined when none has run. */
  lastPurge(): AuditPurgeRecord | undefined {
    const row = this.#lastPurge.get();
    if (!row) return undefined;
    const details = JSON.parse(row.details ?? '{}') as { cutoffMs?: number; entries?: number };
    return { atMs: row.at_ms, cutoffMs: details.cutoffMs ?? 0, entries: details.entries ?? 0 };
  }

  #append(actor: string, action: string, subject: string | null, details: AuditDetails | null): { id: number; atMs: EpochMs } {
    assertAuditSafe(actor, 'actor');
    assertAuditSafe(subject, 'subject');
    assertAuditSafe(details);
    const atMs = this.clock();
    const result = this.#insert.run(atMs, actor, action, subject, details && JSON.stringify(details));
    return { id: Number(result.lastInsertRowid), atMs };
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
