import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { AnalyticsQueries } from '../../src/ledger/analyticsQueries.js';
import { openDatabase, type SqliteDatabase } from '../../src/ledger/database.js';
import { MemberStore } from '../../src/ledger/index.js';
import { migrations } from '../../src/ledger/migrations/migrations.js';
import { storeSettings } from '../support/settings.js';
import { tempDirPerTest } from '../support/tempDir.js';

// The member-months and seven-day windows must say exactly what the member-days say: checked
// here against figures this file computes from rollup_member_days rows on its own.

const dir = tempDirPerTest('member-month-rollups');
const DAY_MS = 86_400_000;
const OFFSET_MS = 8 * 3_600_000; // Asia/Shanghai
const addDays = (date: string, days: number) => new Date(Date.parse(`${date}T00:00:00Z`) + days * DAY_MS).toISOString().slice(0, 10);

interface MemberDay {
  day: string;
  member_id: string;
  orders: number;
}

function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

const memberDays = (db: SqliteDatabase) => db.prepare('SELECT day, member_id, orders FROM rollup_member_days').all() as MemberDay[];

function monthsFrom(rows: MemberDay[]): Record<string, { visits: number; orders: number }> {
  const months: Record<string, { visits: number; orders: number }> = {};
  for (const r of rows) {
    const m = (months[`${r.member_id} ${r.day.slice(0, 7)}`] ??= { visits: 0, orders: 0 });
    m.visits += 1;
    m.orders += r.orders;
  }
  return months;
}

function storedMonths(db: SqliteDatabase): Record<string, { visits: number; orders: number }> {
  const rows = db.prepare('SELECT member_id, month, visits, orders FROM rollup_member_months').all() as Array<{ member_id: string; month: string; visits: number; orders: number }>;
  return Object.fromEntries(rows.map((r) => [`${r.member_id} ${r.month}`, { visits: r.visits, orders: r.orders }]));
}

/** Buyers and repeaters of every seven days starting on a day that holds a purchase; days with none left out. */
function windowsFrom(rows: MemberDay[]): Record<string, { buyers: number; repeaters: number }> {
  const starts = new Set(rows.flatMap((r) => [0, 1, 2, 3, 4, 5, 6].map((n) => addDays(r.day, -n))));
  const windows: Record<string, { buyers: number; repeaters: number }> = {};
  for (const start of starts) {
    const counts = perMember(rows, start, addDays(start, 7));
    const buyers = [...counts.values()].filter((c) => c.orders >= 1).length;
    const repeaters = [...counts.values()].filter((c) => c.orders >= 2).length;
    if (buyers > 0) windows[start] = { buyers, repeaters };
  }
  return windows;
}

function storedWindows(db: SqliteDatabase): Record<string, { buyers: number; repeaters: number }> {
  const rows = db.prepare('SELECT day, buyers, repeaters FROM rollup_week_windows WHERE buyers > 0').all() as Array<{ day: string; buyers: number; repeaters: number }>;
  return Object.fromEntries(rows.map((r) => [r.day, { buyers: r.buyers, repeaters: r.repeaters }]));
}

function perMember(rows: MemberDay[], from: string, to: string): Map<string, { visits: number; orders: number }> {
  const counts = new Map<string, { visits: number; orders: number }>();
  for (const r of rows) {
    if (r.day < from || r.day >= to) continue;
    const c = counts.get(r.member_id) ?? { visits: 0, orders: 0 };
    c.visits += 1;
    c.orders += r.orders;
    counts.set(r.member_id, c);
  }
  return counts;
}

function memberFiguresFrom(rows: MemberDay[], from: string, to: string) {
  const c = [...perMember(rows, from, to).values()];
  return {
    active: c.length,
    buyers: c.filter((m) => m.orders >= 1).length,
    repeaters: c.filter((m) => m.orders >= 2).length,
    visits1: c.filter((m) => m.visits === 1).length,
    visits2: c.filter((m) => m.visits === 2).length,
    visits3to5: c.filter((m) => m.visits >= 3 && m.visits <= 5).length,
    visits6plus: c.filter((m) => m.visits >= 6).length,
  };
}

/** Periods short and long, on and off month boundaries, reaching past the history at either end. */
const PERIODS = [
  ['2026-07-10', '2026-07-24'],
  ['2026-07-03', '2026-09-17'],
  ['2026-08-01', '2026-11-01'],
  ['2026-06-15', '2026-10-20'],
  ['2026-05-01', '2026-12-01'],
  ['2026-07-31', '2026-10-02'],
] as const;

describe('member-month and seven-day window rollups', () => {
  it('are kept by every payment and refund as the member-days are, and give the same period figures', () => {
    const store = dir.track(
      MemberStore.open({ databaseFile: path.join(dir.path, 'm.db'), faceKey: randomBytes(32), ...storeSettings(), timeZone: 'Asia/Shanghai' }),
    );
    const rnd = random(7);
    const start = Date.parse('2026-07-01T00:00:00Z') - OFFSET_MS;
    for (let i = 0; i < 400; i++) {
      const payer = `payer-${Math.floor(12 * rnd() ** 2)}`;
      const paidAtMs = start + Math.floor(rnd() * 100 * DAY_MS);
      const orderId = `o${i}`;
      store.membership.recordPayment({ orderId, lane: 'lane1', channel: 'wechat', appId: 'wx', payerId: payer, amountYuan: 50, paidAtMs });
      // Some orders refunded in full (their order no longer counts), some in part.
      if (i % 7 === 0) store.membership.recordRefund({ orderId, refundId: `r${i}`, amountYuan: 50 });
      else if (i % 5 === 0) store.membership.recordRefund({ orderId, refundId: `r${i}`, amountYuan: 20 });
    }
    // A member seen only in the first days of July: in a period's first month, not in the period.
    store.membership.recordPayment({ orderId: 'edge', lane: 'lane1', channel: 'wechat', appId: 'wx', payerId: 'edge-only', amountYuan: 9, paidAtMs: start + DAY_MS });
    // One who bought twice on 2 July and once later: a repeater in July, not from 3 July on.
    for (const [orderId, atMs] of [['twice-1', start + DAY_MS + 3_600_000], ['twice-2', start + DAY_MS + 7_200_000], ['twice-3', start + 19 * DAY_MS]] as const) {
      store.membership.recordPayment({ orderId, lane: 'lane1', channel: 'wechat', appId: 'wx', payerId: 'edge-twice', amountYuan: 9, paidAtMs: atMs });
    }
    // A second connection reads what the store's committed.
    const db = dir.track(openDatabase(path.join(dir.path, 'm.db')));
    const rows = memberDays(db);
    expect(rows.length).toBeGreaterThan(200);
    expect(rows.some((r) => r.orders >= 2)).toBe(true);
    expect(storedMonths(db)).toEqual(monthsFrom(rows));
    expect(storedWindows(db)).toEqual(windowsFrom(rows));
    for (const [from, to] of PERIODS) {
      expect(store.analytics.members(from, to), `${from}..${to}`).toEqual(memberFiguresFrom(rows, from, to));
      const weeks = store.analytics.weeklyRepeat(from, to);
      const expected = [];
      for (let week = 0, s: string = from; s < to; week++, s = addDays(s, 7)) {
        const e = addDays(s, 7) < to ? addDays(s, 7) : to;
        const f = memberFiguresFrom(rows, s, e);
        expected.push({ week, buyers: f.buyers, repeaters: f.repeaters });
      }
      expect(weeks, `${from}..${to}`).toEqual(expected);
    }
  });

  it('are backfilled by the migration from the member-days of an upgraded store', () => {
    const file = path.join(dir.path, 'upgraded.db');
    const before = openDatabase(file, { migrations: migrations.filter((m) => m.version <= 11) });
    expect(before.pragma('user_version', { simple: true })).toBe(11);
    const rnd = random(11);
    const insert = before.prepare('INSERT OR IGNORE INTO rollup_member_days (day, member_id, orders, sales_fen) VALUES (?, ?, ?, ?)');
    for (let i = 0; i < 3000; i++) {
      const day = addDays('2026-06-20', Math.floor(rnd() * 150));
      // Visits without a purchase (orders 0), single and several orders in a day.
      insert.run(day, `m_${Math.floor(60 * rnd() ** 2)}`, Math.floor(rnd() * 3), 1000);
    }
    insert.run('2026-07-01', 'm_edge', 2, 500);
    const rows = memberDays(before);
    before.close();

    const after = dir.track(openDatabase(file));
    expect(after.pragma('user_version', { simple: true })).toBe(12);
    expect(Object.keys(storedMonths(after)).length).toBeGreaterThan(100);
    expect(storedMonths(after)).toEqual(monthsFrom(rows));
    expect(storedWindows(after)).toEqual(windowsFrom(rows));
    const analytics = new AnalyticsQueries(after);
    for (const [from, to] of PERIODS) expect(analytics.members(from, to), `${from}..${to}`).toEqual(memberFiguresFrom(rows, from, to));
  });
});
