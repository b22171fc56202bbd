import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { beforeEach, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/ledger/database.js';
import { MemberStore } from '../../src/ledger/index.js';
import { migrations } from '../../src/ledger/migrations/migrations.js';
import { storeSettings } from '../support/settings.js';
import { tempDirPerTest } from '../support/tempDir.js';

const DAY_MS = 86_400_000;
// The database measures the three-year floor against the real time, so "old" and "young" are
// relative to now, with a wide margin on both sides of 1095 days.
const FOUR_YEARS_AGO = () => Date.now() - 4 * 365 * DAY_MS;
const TWO_YEARS_AGO = () => Date.now() - 2 * 365 * DAY_MS;

const dir = tempDirPerTest('audit-retention');
let dbFile: string;
/** What the store's clock says; tests move it to write entries "in the past". */
let nowMs: number;

beforeEach(() => {
  dbFile = join(dir.path, 'members.db');
  nowMs = Date.now();
});

function openStore(): MemberStore {
  return dir.track(MemberStore.open({ databaseFile: dbFile, faceKey: randomBytes(32), clock: () => nowMs, ...storeSettings() }));
}

/** A second connection that bypasses the service, as a script or a bug with raw SQL would. */
function rawConnection(): Database.Database {
  return dir.track(new Database(dbFile));
}

function writeAt(store: MemberStore, atMs: number, count: number, subject = 'm_old'): void {
  nowMs = atMs;
  store.inTransaction(() => {
    for (let i = 0; i < count; i++) store.audit.record({ actor: 'lane:1', action: 'match', subject, details: { confidence: 0.9 } });
  });
  nowMs = Date.now();
}

function actions(store: MemberStore): string[] {
  return store.audit.list({ limit: 10_000 }).map((e) => `${e.action}:${e.subject ?? ''}`);
}

describe('deleting processing-log entries past their retention', () => {
  it('deletes entries older than the retention, keeps younger ones and records one purge', async () => {
    const store = openStore();
    writeAt(store, FOUR_YEARS_AGO(), 3, 'm_old');
    writeAt(store, TWO_YEARS_AGO(), 2, 'm_young');
    store.audit.record({ actor: 'admin', action: 'export' });

    expect(store.audit.lastPurge()).toBeUndefined();
    const cutoffMs = nowMs - 1095 * DAY_MS;
    expect(await store.audit.deleteExpired(1095)).toBe(3);

    expect(actions(store)).toEqual(['match:m_young', 'match:m_young', 'export:', 'audit.purge:']);
    const purge = store.audit.list({ limit: 10 }).at(-1)!;
    expect(purge).toMatchObject({
      actor: 'system',
      subject: null,
      details: { retentionDays: 1095, cutoff: new Date(cutoffMs).toISOString(), cutoffMs, entries: 3 },
    });
    expect(store.audit.lastPurge()).toEqual({ atMs: nowMs, cutoffMs, entries: 3 });

    // Nothing left to delete: no second purge entry.
    expect(await store.audit.deleteExpired(1095)).toBe(0);
    expect(actions(store)).toHaveLength(4);
  });

  it('deletes an entry that passed the three-year floor milliseconds ago, and keeps one a minute short of it', async () => {
    const store = openStore();
    writeAt(store, Date.now() - 1095 * DAY_MS - 5, 1, 'm_just_expired');
    writeAt(store, Date.now() - 1095 * DAY_MS + 60_000, 1, 'm_almost');
    expect(await store.audit.deleteExpired(1095)).toBe(1);
    expect(actions(store)).toEqual(['match:m_almost', 'audit.purge:']);
  });

  it('honours a retention longer than the floor', async () => {
    const store = openStore();
    writeAt(store, Date.now() - 2000 * DAY_MS, 1, 'm_older');
    writeAt(store, FOUR_YEARS_AGO(), 1, 'm_old');
    expect(await store.audit.deleteExpired(1825)).toBe(1);
    expect(actions(store)).toEqual(['match:m_old', 'audit.purge:']);
  });

  it('deletes a backlog in batches and stops between them when aborted', async () => {
    const store = openStore();
    writeAt(store, FOUR_YEARS_AGO(), 2500);
    const stopped = new AbortController();
    stopped.abort();
    // One batch still goes; the rest waits for the next run, which declares its own purge.
    expect(await store.audit.deleteExpired(1095, { signal: stopped.signal })).toBe(1000);
    expect(await store.audit.deleteExpired(1095)).toBe(1500);
    const purges = store.audit.list({ limit: 10 }).map((e) => e.details?.entries);
    expect(purges).toEqual([2500, 1500]);
  });

  it('refuses a retention below three years before touching the log', async () => {
    const store = openStore();
    writeAt(store, FOUR_YEARS_AGO(), 1);
    for (const days of [1094, 0, -1, 1095.5]) {
      await expect(store.audit.deleteExpired(days)).rejects.toMatchObject({ code: 'INVALID_INPUT', message: expect.stringContaining('1095') });
    }
    expect(actions(store)).toEqual(['match:m_old']);
  });
});

describe('the database guards the processing log whatever the service does', () => {
  it('refuses a raw DELETE of a young entry, even under a purge declared to cover it', () => {
    const store = openStore();
    writeAt(store, TWO_YEARS_AGO(), 1, 'm_young');
    const db = rawConnection();
    const young = "DELETE FROM audit_log WHERE subject = 'm_young'";
    expect(() => db.prepare(young).run()).toThrow(/younger than three years/);

    // A bug or a bad setting declaring a cutoff of now still cannot reach past the floor.
    db.prepare("INSERT INTO audit_log (at_ms, actor, action, details) VALUES (?, 'system', 'audit.purge', ?)").run(
      Date.now(),
      JSON.stringify({ cutoffMs: Date.now() + DAY_MS }),
    );
    expect(() => db.prepare(young).run()).toThrow(/younger than three years/);
    expect(actions(store)).toContain('match:m_young');
  });

  it('refuses a raw DELETE of an old entry that no purge entry declared', () => {
    const store = openStore();
    writeAt(store, FOUR_YEARS_AGO(), 1);
    const db = rawConnection();
    expect(() => db.prepare('DELETE FROM audit_log').run()).toThrow(/append-only except/);

    // A declaration whose cutoff lies before the entry, or that has no cutoff, covers nothing.
    const declare = db.prepare("INSERT INTO audit_log (at_ms, actor, action, details) VALUES (?, 'system', 'audit.purge', ?)");
    declare.run(Date.now(), JSON.stringify({ cutoffMs: FOUR_YEARS_AGO() - DAY_MS }));
    expect(() => db.prepare("DELETE FROM audit_log WHERE action = 'match'").run()).toThrow(/append-only except/);
    declare.run(Date.now(), JSON.stringify({ entries: 1 }));
    expect(() => db.prepare("DELETE FROM audit_log WHERE action = 'match'").run()).toThrow(/append-only except/);
    expect(actions(store)[0]).toBe('match:m_old');
  });

  it('refuses UPDATE of any entry, old or young', async () => {
    const store = openStore();
    writeAt(store, FOUR_YEARS_AGO(), 1, 'm_old');
    writeAt(store, TWO_YEARS_AGO(), 1, 'm_young');
    const db = rawConnection();
    expect(() => db.prepare("UPDATE audit_log SET actor = 'x' WHERE subject = 'm_old'").run()).toThrow(/append-only/);
    expect(() => db.prepare("UPDATE audit_log SET at_ms = 0 WHERE subject = 'm_young'").run()).toThrow(/append-only/);
    // Nor can the purge entry itself be rewritten to widen its cutoff.
    await store.audit.deleteExpired(1095);
    expect(() => db.prepare("UPDATE audit_log SET details = '{\"cutoffMs\":9e15}' WHERE action = 'audit.purge'").run()).toThrow(
      /append-only/,
    );
    expect(actions(store)).toEqual(['match:m_young', 'audit.purge:']);
  });
});

describe('migration 004', () => {
  it('brings a schema-3 database with entries to version 4 and keeps them', async () => {
    const v3 = openDatabase(dbFile, { migrations: migrations.slice(0, 3) });
    expect(v3.pragma('user_version', { simple: true })).toBe(3);
    const insert = v3.prepare("INSERT INTO audit_log (at_ms, actor, action, subject) VALUES (?, 'lane:1', 'match', ?)");
    insert.run(FOUR_YEARS_AGO(), 'm_old');
    insert.run(TWO_YEARS_AGO(), 'm_young');
    // Before 004 the log refused every DELETE.
    expect(() => v3.prepare("DELETE FROM audit_log WHERE subject = 'm_old'").run()).toThrow(/append-only/);
    v3.close();

    const store = openStore();
    expect(rawConnection().pragma('user_version', { simple: true })).toBe(migrations.at(-1)!.version);
    expect(actions(store)).toEqual(['match:m_old', 'match:m_young']);
    expect(await store.audit.deleteExpired(1095)).toBe(1);
    expect(actions(store)).toEqual(['match:m_young', 'audit.purge:']);
  });
});
