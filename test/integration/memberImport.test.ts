import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/ledger/database.js';
import { loadFaceKey, MemberStore } from '../../src/ledger/index.js';
import { migrations } from '../../src/ledger/migrations/migrations.js';
import { MEMBERLENS_CLI } from '../support/cli.js';
import { storeSettings } from '../support/settings.js';
import { tempDirPerTest } from '../support/tempDir.js';

const run = promisify(execFile);
const dir = tempDirPerTest('import');
const DAY = 86_400_000;

/** The real command in a child process on a real SQLite file; logs at info, so the test can search them. */
async function cli(...args: string[]): Promise<{ code: number; lines: any[]; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [MEMBERLENS_CLI, '--data-dir', dir.path, ...args], {
      env: { ...process.env, MEMBERLENS_LOG_LEVEL: 'info' },
    });
    return { code: 0, lines: lines(stdout), stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, lines: lines(e.stdout), stderr: e.stderr };
  }
}

function lines(stdout: string): any[] {
  return stdout.split('\n').filter(Boolean).map((line) => JSON.parse(line));
}

function openStore(): MemberStore {
  return dir.track(
    MemberStore.open({ databaseFile: path.join(dir.path, 'memberlens.db'), faceKey: loadFaceKey({ keyFile: path.join(dir.path, 'face.key') }), ...storeSettings() }),
  );
}

/** A local date-time string `days` ago, as a till system's export writes it. */
function localDaysAgo(days: number): string {
  const d = new Date(Date.now() - days * DAY);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

// Written as Excel on a Chinese Windows saves "CSV UTF-8": a BOM, CRLF line ends, Chinese headers.
const MEMBERS_CSV =
  '\uFEFF姓名,手机号,生日,等级,积分,储值\r\n' +
  '王芳,138 0013 8000,1988-03-14,黄金,1200,350.00\r\n' + // line 2: good, phone with spaces
  'Li Lei,+86 139-0013-9000,,普通,0,0\r\n' + // line 3: good, +86 and dashes
  '"Chen, Jie",13700137000,05-21,,80,12.5\r\n' + // line 4: good, quoted comma
  'Zhao Min,1380013800,1990-01-01,,10,\r\n' + // line 5: 10 digits
  'Sun Li,13600136000,1990-02-30,,10,\r\n' + // line 6: no such date
  '"=HYPERLINK(""http://evil.example"",""x"")",13500135000,,,0,\r\n' + // line 7: formula injection
  '@SUM(A1),13500135001,,,0,\r\n' + // line 8: formula injection
  'Wu Qing,13800138000,,,5,\r\n' + // line 9: same phone as line 2
  'Zhou Yu,13400134000,,钻石,abc,\r\n' + // line 10: points not a number
  'Ma Lin,13300133000,,白金,0,-5\r\n' + // line 11: unknown tier and negative money
  'He Ping,13200132000,12/31,,0\r\n'; // line 12: a field short

describe('memberlens import members and purchases', () => {
  it('imports the good rows with their opening balances, reports every other row by line and field, and a re-run adds nothing', async () => {
    const membersFile = path.join(dir.path, 'members.csv');
    writeFileSync(membersFile, MEMBERS_CSV);

    const first = await cli('import', 'members', membersFile, '--staff', 'lin');
    expect(first.code).toBe(1); // some rows were rejected
    const summary = first.lines.at(-1);
    expect(summary).toEqual({ file: membersFile, what: 'members', rows: 11, added: 3, unchanged: 0, rejected: 8 });
    const rejected = first.lines.slice(0, -1);
    expect(rejected.map((r) => [r.line, r.field])).toEqual([
      [5, 'phone'],
      [6, 'birthday'],
      [7, 'name'],
      [8, 'name'],
      [9, 'phone'],
      [10, 'points'],
      [11, 'tier'],
      [11, 'storedValueYuan'],
      [12, ''],
    ]);
    expect(rejected.find((r) => r.line === 7).problem).toMatch(/formula/);
    expect(rejected.find((r) => r.line === 9).problem).toMatch(/same number as line 2/);
    expect(rejected.find((r) => r.line === 12).problem).toMatch(/5 fields where the first line names 6/);

    const again = await cli('import', 'members', membersFile, '--staff', 'lin');
    expect(again.lines.at(-1)).toEqual({ file: membersFile, what: 'members', rows: 11, added: 0, unchanged: 3, rejected: 8 });

    const store = openStore();
    const members = store.members.list({ limit: 50 });
    expect(members.map((m) => m.name).sort()).toEqual(['Chen, Jie', 'Li Lei', '王芳']);
    const wang = store.members.byPhone('13800138000')!;
    // The opening balances are ledger entries of their own kinds, and the balances add up from them.
    const entries = store.membership.entries(wang.id);
    expect(entries.map((e) => [e.kind, e.points, e.storedFen])).toEqual([
      ['opening-points', 1200, 0],
      ['opening-stored', 0, 35000],
    ]);
    expect(store.membership.memberSummary(wang.id)).toMatchObject({ tier: { name: '黄金' }, points: 1200, balanceYuan: 350 });
    expect(store.membership.recomputeBalances(wang.id).cacheWasCorrect).toBe(true);
    // Only month and day of a birthday are kept, with the import as the member's agreement.
    expect(store.campaigns.preferences(wang.id)?.birthday).toMatchObject({ monthDay: '03-14' });
    expect(store.campaigns.preferences(store.members.byPhone('13900139000')!.id)?.birthday).toBeNull();
    const chen = store.members.byPhone('13700137000')!;
    expect(store.membership.memberSummary(chen.id)).toMatchObject({ tier: { name: '普通' }, points: 80, balanceYuan: 12.5 });
    // Members created by the import say so in the processing log (the dashboard counts them by it).
    const created = store.audit.listByAction('member.create', { limit: 10 });
    expect(created.map((e) => e.details)).toEqual([{ source: 'import' }, { source: 'import' }, { source: 'import' }]);
    // Phones are private: never in a log line or in the report, whichever row they came in.
    for (const phone of ['13800138000', '1380013800', '13900139000', '13700137000', '13500135000', '13300133000', '0013']) {
      expect(first.stderr + again.stderr + JSON.stringify(first.lines)).not.toContain(phone);
    }
  });

  it('imports past purchases once, for the members\' segments, and rejects those it cannot place', async () => {
    const membersFile = path.join(dir.path, 'members.csv');
    writeFileSync(membersFile, MEMBERS_CSV);
    expect((await cli('import', 'members', membersFile)).lines.at(-1).added).toBe(3);

    const purchasesFile = path.join(dir.path, 'purchases.csv');
    writeFileSync(
      purchasesFile,
      'phone,paidAt,amountYuan,orderNo\n' +
        `13800138000,${localDaysAgo(3)},258.00,R-1001\n` + // 2: 王芳, three recent purchases worth ¥608
        `13800138000,${localDaysAgo(20)},200,R-1002\n` + // 3
        `13800138000,${localDaysAgo(40)},150.00,R-1003\n` + // 4
        `13900139000,${localDaysAgo(100)},30,\n` + // 5: Li Lei, no order number…
        `13900139000,${localDaysAgo(100)},30,\n` + // 6: …twice the same: two purchases
        `13100131000,${localDaysAgo(5)},10,R-1005\n` + // 7: nobody's phone
        '13800138000,2026-13-01,10,R-1006\n' + // 8: no 13th month
        '13800138000,2099-01-01,10,R-1007\n' + // 9: future
        `13800138000,${localDaysAgo(1)},-3,R-1008\n` + // 10: negative
        `13800138000,${localDaysAgo(1)},5,R-1001\n`, // 11: order number of line 2
    );
    const first = await cli('import', 'purchases', purchasesFile);
    expect(first.lines.slice(0, -1).map((r) => [r.line, r.field])).toEqual([
      [7, 'phone'],
      [8, 'paidAt'],
      [9, 'paidAt'],
      [10, 'amountYuan'],
      [11, 'orderNo'],
    ]);
    expect(first.lines.at(-1)).toMatchObject({ rows: 10, added: 5, unchanged: 0, rejected: 5 });
    const again = await cli('import', 'purchases', purchasesFile);
    expect(again.lines.at(-1)).toMatchObject({ rows: 10, added: 0, unchanged: 5, rejected: 5 });

    const store = openStore();
    const wang = store.members.byPhone('13800138000')!;
    const spend = store.membership.entries(wang.id).filter((e) => e.kind === 'spend');
    expect(spend.map((e) => [e.orderId, e.spendFen])).toEqual([
      ['import:R-1001', 25800],
      ['import:R-1002', 20000],
      ['import:R-1003', 15000],
    ]);
    // Past purchases earn no points again: the opening balance holds them.
    expect(store.membership.memberSummary(wang.id).points).toBe(1200);
    // They count for segments: three purchases in 90 days, the last 3 days ago, ¥608 → loyal, important-value.
    expect(store.segments.segment(wang.id)).toMatchObject({ lifecycle: 'loyal', rfm: 'important-value', purchases365: 3, netSpend365Fen: 60800 });
    const li = store.members.byPhone('13900139000')!;
    expect(store.segments.segment(li.id)).toMatchObject({ lifecycle: 'dormant', purchases365: 2 });
  });

  it('refuses a file whose header is wrong, naming the column, and imports nothing from it', async () => {
    const file = path.join(dir.path, 'typo.csv');
    writeFileSync(file, 'name,phnoe,points\nAmy,13800138000,5\n');
    const result = await cli('import', 'members', file);
    expect(result.code).toBe(1);
    expect(result.lines.slice(0, -1)).toEqual([
      { line: 1, field: 'phnoe', problem: expect.stringMatching(/not a known column; the columns are name, phone, birthday/) },
      { line: 1, field: 'phone', problem: expect.stringMatching(/column is missing/) },
    ]);
    expect(result.lines.at(-1)).toMatchObject({ rows: 0, added: 0 });
    expect((await cli('import', 'members', path.join(dir.path, 'missing.csv'))).code).toBe(2);

    // A quote left open swallows the rest of the file: nothing of it is imported.
    const broken = path.join(dir.path, 'broken.csv');
    writeFileSync(broken, 'name,phone\nAmy,13800138000\n"Bob,13800138001\nCat,13800138002\n');
    const unreadable = await cli('import', 'members', broken);
    expect(unreadable.code).toBe(1);
    expect(unreadable.lines[0]).toMatchObject({ field: '', problem: expect.stringMatching(/cannot be read as CSV \(Quote Not Closed/) });
    expect(unreadable.lines.at(-1)).toMatchObject({ rows: 0, added: 0 });
  });

  it('migration 8 rebuilds the ledger with every entry, id, balance and trigger it had', () => {
    const file = path.join(dir.path, 'old.db');
    const old = openDatabase(file, { migrations: migrations.filter((m) => m.version <= 6) });
    old.prepare("INSERT INTO members (id, name, phone, created_at_ms, updated_at_ms) VALUES ('m_1', 'Amy', NULL, 1, 1)").run();
    const now = Date.now();
    const add = old.prepare(`INSERT INTO ledger_entries (member_id, kind, spend_fen, points, order_id, lot_entry_id, at_ms, recorded_at_ms) VALUES (?, ?, ?, ?, ?, ?, ${now}, ${now})`);
    add.run('m_1', 'spend', 1000, 0, 'o1', null);
    const lot = Number(add.run('m_1', 'points-earn', 0, 10, 'o1', null).lastInsertRowid);
    add.run('m_1', 'points-redeem', 0, -4, 'o2', lot);
    const before = old.prepare('SELECT * FROM ledger_entries ORDER BY id').all();
    old.close();

    const store = dir.track(MemberStore.open({ databaseFile: file, faceKey: randomBytes(32), ...storeSettings() }));
    expect(store.membership.entries('m_1').map((e) => e.id)).toEqual((before as Array<{ id: number }>).map((r) => r.id));
    expect(store.membership.recomputeBalances('m_1')).toMatchObject({ cacheWasCorrect: true, balances: { lifetimeSpendFen: 1000, points: 6 } });
    store.membership.recordOpeningBalances({ memberId: 'm_1', points: 5, storedYuan: '2.50', tier: null, actor: 'test' });
    expect(store.membership.memberSummary('m_1')).toMatchObject({ points: 11, balanceYuan: 2.5 });
    // Still append-only, and a second opening is refused.
    expect(() => store.inTransaction(() => store.membership.recordOpeningBalances({ memberId: 'm_1', points: 1, storedYuan: 0, tier: null, actor: 'test' }))).toThrow(/already has opening balances/);
    const db = openDatabase(file);
    expect(() => db.prepare('DELETE FROM ledger_entries').run()).toThrow(/append-only/);
    expect(() => db.prepare("INSERT INTO ledger_entries (member_id, kind, stored_fen, at_ms, recorded_at_ms) VALUES ('m_1', 'opening-stored', -5, 1, 1)").run()).toThrow(/CHECK/);
    db.close();
  });
});
