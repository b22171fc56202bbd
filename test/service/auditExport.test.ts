import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningApp } from '../../src/app.js';
import { createLogger } from '../../src/core/logger.js';
import { openDatabase } from '../../src/ledger/database.js';
import type { Role } from '../../src/ledger/index.js';
import { parseCsv } from '../support/csv.js';
import { bearer, postJson, startTestApp, type TestApp } from '../support/testApp.js';

const HEADER = ['at', 'actor', 'action', 'subject', 'details'];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('processing log export', () => {
  let service: TestApp;
  let dir: string;
  let app: RunningApp;
  let tokens: Record<Role, string>;
  let adminActor: string;

  beforeAll(async () => {
    service = await startTestApp('audit');
    ({ app, tokens, dir } = service);
    adminActor = `admin:${app.firstStartTokens.find((t) => t.role === 'admin')!.id}`;
  });

  afterAll(async () => {
    await service?.stop();
  });

  const get = (route: string, token: string | null = tokens.admin) => fetch(`${app.url}${route}`, { headers: token ? bearer(token) : {} });

  async function exportRows(query = ''): Promise<{ rows: string[][]; res: Response }> {
    const res = await get(`/api/audit.csv${query}`);
    expect(res.status).toBe(200);
    // Read as bytes: Response.text() would drop the BOM this checks for.
    const bytes = Buffer.from(await res.arrayBuffer());
    expect([...bytes.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    const rows = parseCsv(bytes.subarray(3).toString('utf8'));
    expect(rows[0]).toEqual(HEADER);
    for (const row of rows) expect(row).toHaveLength(HEADER.length);
    return { rows: rows.slice(1), res };
  }

  it('exports entries whose fields hold commas, quotes and line breaks, and reads them back unchanged', async () => {
    const created = await postJson(`${app.url}/api/members`, tokens.admin, { name: 'Lin' });
    expect(created.status).toBe(201);
    const { id: memberId } = created.body as { id: string };
    const awkwardActor = 'staff:Lin, "Boss"\r\nnight shift';
    const awkwardDetails = { staff: '王, "老王"\nsecond line', note: 'a,b' };
    app.core.store.audit.record({ actor: awkwardActor, action: 'consent.grant', subject: memberId, details: awkwardDetails });
    app.core.store.audit.record({ actor: '=HYPERLINK("http://example.invalid")', action: 'member.delete', subject: 'm_gone' });

    const { rows, res } = await exportRows();
    expect(res.headers.get('content-type')).toMatch(/^text\/csv; charset=utf-8/);
    expect(res.headers.get('content-disposition')).toMatch(/^attachment; filename="?memberlens-audit-\d{4}-\d{2}-\d{2}\.csv"?$/);

    const awkward = rows.find((r) => r[2] === 'consent.grant')!;
    expect(awkward[1]).toBe(awkwardActor);
    expect(awkward[3]).toBe(memberId);
    expect(JSON.parse(awkward[4]!)).toEqual(awkwardDetails);
    expect(new Date(awkward[0]!).toISOString()).toBe(awkward[0]);
    // Spreadsheets would run this as a formula; the export keeps it text.
    expect(rows.find((r) => r[2] === 'member.delete')![1]).toBe(`'=HYPERLINK("http://example.invalid")`);
    // member.create says how the member came (the dashboard counts new members by source).
    const create = rows.find((r) => r[2] === 'member.create')!;
    expect(create.slice(0, 4)).toEqual([expect.any(String), adminActor, 'member.create', memberId]);
    expect(JSON.parse(create[4]!)).toEqual({ source: 'admin' });
  });

  it('records the export in the log: the last row of its own file, and in the next export', async () => {
    const { rows } = await exportRows();
    const own = rows[rows.length - 1]!;
    expect(own.slice(1, 4)).toEqual([adminActor, 'export', '']);
    expect(JSON.parse(own[4]!)).toEqual({ format: 'csv', since: null, until: null });

    const since = new Date(Date.parse(own[0]!)).toISOString();
    const next = await exportRows(`?since=${encodeURIComponent(since)}`);
    expect(next.rows.filter((r) => r[2] === 'export').length).toBeGreaterThanOrEqual(2);
    expect(JSON.parse(next.rows[next.rows.length - 1]![4]!)).toEqual({ format: 'csv', since, until: null });
  });

  it('keeps to since (inclusive) and until (exclusive) and pages through a long log in id order', async () => {
    await sleep(5);
    const from = Date.now();
    // One transaction: 1,200 fsyncs would only slow the test down. More rows than one export page (500).
    app.core.store.inTransaction(() => {
      for (let i = 0; i < 1_200; i++) app.core.store.audit.record({ actor: 'system:test', action: 'match', subject: `m_${i}`, details: { confidence: 0.9 } });
    });
    await sleep(5);
    const to = Date.now();
    await sleep(5);
    app.core.store.audit.record({ actor: 'system:test', action: 'match', subject: 'm_after' });

    const { rows } = await exportRows(`?since=${new Date(from).toISOString()}&until=${new Date(to).toISOString()}`);
    expect(rows.map((r) => r[3])).toEqual(Array.from({ length: 1_200 }, (_, i) => `m_${i}`));
    for (const r of rows) {
      expect(Date.parse(r[0]!)).toBeGreaterThanOrEqual(from);
      expect(Date.parse(r[0]!)).toBeLessThan(to);
    }
  });

  it('never carries face data', async () => {
    const { rows } = await exportRows();
    for (const [, , , , details] of rows) {
      if (!details) continue;
      expect(details).not.toMatch(/descriptor|embedding|phone|payer/i);
      expect(details).not.toMatch(/\[(\s*-?\d+(\.\d+)?(e-?\d+)?\s*,){63,}/i);
    }
  });

  it('refuses bad ranges and every token but admin', async () => {
    for (const query of ['?since=yesterday', '?since=2025-02-01&until=2025-01-01', '?from=2025-01-01']) {
      const res = await get(`/api/audit.csv${query}`);
      expect(res.status, query).toBe(400);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('invalid-input');
    }
    expect((await get('/api/audit.csv', null)).status).toBe(401);
    for (const role of ['till', 'pos', 'device'] as const) {
      const res = await get('/api/audit.csv', tokens[role]);
      expect(res.status, role).toBe(403);
      expect(await res.json()).toEqual({ error: { code: 'forbidden', message: expect.any(String) } });
    }
  });

  it('writes an admin token\'s use as one login per window, not one per request', () => {
    const logins = app.core.store.audit.list({ limit: 100_000 }).filter((e) => e.action === 'login');
    expect(logins.map((e) => e.actor)).toEqual([adminActor]);
  });

  it('reports entries past the retention period, which the hourly purge deletes', async () => {
    const fresh = (await (await get('/api/audit/retention')).json()) as Record<string, unknown>;
    // The purge at start found nothing to delete, so it left no entry either.
    expect(fresh).toMatchObject({ retentionDays: 1095, expiredEntries: 0, oldestExpiredAt: null, deletion: 'hourly', lastPurge: null });

    // An entry from before the retention period, as a store running since then would hold.
    const db = new Database(path.join(dir, 'memberlens.db'));
    try {
      const oldMs = Date.now() - 1_100 * 86_400_000;
      db.prepare("INSERT INTO audit_log (at_ms, actor, action) VALUES (?, 'system:test', 'match')").run(oldMs);
      const aged = (await (await get('/api/audit/retention')).json()) as Record<string, unknown>;
      expect(aged).toMatchObject({ expiredEntries: 1, oldestExpiredAt: new Date(oldMs).toISOString() });
      // Only a declared purge may delete it, not a raw DELETE around the service.
      expect(() => db.prepare('DELETE FROM audit_log WHERE at_ms = ?').run(oldMs)).toThrow(/append-only except/);
    } finally {
      db.close();
    }

    // What the hourly job runs.
    expect(await app.core.store.audit.deleteExpired(1095)).toBe(1);
    const purged = (await (await get('/api/audit/retention')).json()) as Record<string, unknown>;
    expect(purged).toMatchObject({ expiredEntries: 0, oldestExpiredAt: null, lastPurge: { entries: 1 } });
    const lastPurge = purged.lastPurge as { at: string; cutoff: string };
    expect(Date.parse(lastPurge.cutoff)).toBeLessThan(Date.parse(lastPurge.at) - 1094 * 86_400_000);
    expect((await get('/api/audit/retention', tokens.till)).status).toBe(403);
  });
});

describe('processing log retention at start', () => {
  it('deletes entries past the retention when the service starts, and logs only their count', async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'memberlens-audit-purge-'));
    const dayMs = 86_400_000;
    const db = openDatabase(path.join(dataDir, 'memberlens.db'));
    const insert = db.prepare("INSERT INTO audit_log (at_ms, actor, action, subject) VALUES (?, 'lane:1', 'match', ?)");
    insert.run(Date.now() - 1_200 * dayMs, 'm_expired');
    insert.run(Date.now() - 1_000 * dayMs, 'm_kept');
    db.close();

    const logs: string[] = [];
    const logStream = new PassThrough();
    logStream.on('data', (chunk: Buffer) => logs.push(chunk.toString('utf8')));
    const service = await startTestApp('audit-purge', { dataDir }, createLogger('info', logStream));
    try {
      const entries = service.app.core.store.audit.list({ limit: 100 });
      expect(entries.filter((e) => e.action === 'match').map((e) => e.subject)).toEqual(['m_kept']);
      expect(entries.filter((e) => (e.action as string) === 'audit.purge').map((e) => e.details?.entries)).toEqual([1]);
      const purgeLines = logs.join('').split('\n').filter((line) => line.includes('auditEntriesDeleted'));
      expect(purgeLines).toHaveLength(1);
      expect(JSON.parse(purgeLines[0]!)).toMatchObject({ level: 30, auditEntriesDeleted: 1, auditRetentionDays: 1095 });
      expect(logs.join('')).not.toContain('m_expired');
    } finally {
      await service.stop();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
