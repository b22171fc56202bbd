import type { SqliteDatabase } from './database.js';

export interface GroupCommitStats {
  /** Transactions committed by the group (one fsync each with synchronous=FULL). */
  commits: number;
  /** Writes in those transactions, including ones that threw and were undone alone. */
  writes: number;
  largestGroup: number;
}

interface QueuedWrite {
  work: () => unknown;
  resolve: (value: unknown) => void;
  reject: (err: unknown) => void;
}

type Outcome = { ok: true; value: unknown } | { ok: false; err: unknown };

/**
 * Group commit: writes queued during one turn of the event loop commit together in one
 * transaction, so one fsync (synchronous=FULL) covers all of them instead of one each. Each
 * write runs as a savepoint of that transaction, so a write that throws (an order conflict, a
 * bad amount) is undone alone and the others still commit. A promise settles only after the
 * commit returned, so nothing is acknowledged before it is on disk.
 *
 * At a till's pace every group holds one write and nothing changes; under a burst of
 * payments the fsync — about 2 ms of blocked main thread each on a mini-PC's SSD — is what
 * would otherwise queue every other request (till acknowledgements, /healthz) behind it.
 */
export class GroupCommit {
  readonly #db: SqliteDatabase;
  readonly #maxGroupSize: number;
  #queue: QueuedWrite[] = [];
  #scheduled = false;
  readonly #stats: GroupCommitStats = { commits: 0, writes: 0, largestGroup: 0 };

  constructor(db: SqliteDatabase, maxGroupSize: number) {
    if (!Number.isInteger(maxGroupSize) || maxGroupSize < 1) {
      throw new RangeError(`maxGroupSize must be a whole number ≥ 1, got ${maxGroupSize}`);
    }
    this.#db = db;
    this.#maxGroupSize = maxGroupSize;
  }

  /**
   * Runs `work` (synchronous; it may open nested transactions) in the next group and resolves
   * with its result once the group is committed, or rejects with what `work` threw or with the
   * error that stopped the commit.
   */
  run<T>(work: () => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.#queue.push({ work, resolve: resolve as (value: unknown) => void, reject });
      this.#schedule();
    });
  }

  /** Commits every queued write now; call before closing the database. */
  drain(): void {
    while (this.#queue.length > 0) this.#flush();
  }

  stats(): GroupCommitStats {
    return { ...this.#stats };
  }

  #schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    // setImmediate runs after the poll phase, so every request parsed in this turn joins.
    setImmediate(() => this.#flush());
  }

  #flush(): void {
    this.#scheduled = false;
    const group = this.#queue.splice(0, this.#maxGroupSize);
    if (this.#queue.length > 0) this.#schedule();
    if (group.length === 0) return;

    const outcomes: Outcome[] = [];
    try {
      this.#db
        .transaction(() => {
          for (const write of group) {
            try {
              outcomes.push({ ok: true, value: this.#db.transaction(write.work)() });
            } catch (err) {
              // SQLite ends the whole transaction on some errors (I/O, disk full); then no
              // write of this group is on disk and all of them must fail.
              if (!this.#db.inTransaction) throw err;
              outcomes.push({ ok: false, err });
            }
          }
        })
        .immediate();
    } catch (err) {
      for (const write of group) write.reject(err);
      return;
    }
    this.#stats.commits += 1;
    this.#stats.writes += group.length;
    this.#stats.largestGroup = Math.max(this.#stats.largestGroup, group.length);
    group.forEach((write, i) => {
      const outcome = outcomes[i]!;
      if (outcome.ok) write.resolve(outcome.value);
      else write.reject(outcome.err);
    });
  }
}
