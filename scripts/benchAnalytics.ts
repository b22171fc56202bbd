/**
 * The owner's dashboard at a busy store's scale: a year of MEMBERS members and about
 * ENTRIES ledger entries (payments as spend + points-earn pairs, some refunds, cash sales without
 * a member, recognitions at two lanes), written with direct bulk inserts into a temp SQLite file
 * and their rollups filled by SQL in the same shape the ledger keeps them. Then:
 *
 * - GET /api/analytics/overview, /series and /details as the service computes them
 *   (AnalyticsService over the store), for the last 30, 90 and 365 days: median and p95;
 * - what the rollup upkeep adds to a payment: the same payment through the membership ledger
 *   with and without its rollups, alternating pair by pair in one run, each in its own
 *   transaction as the service's group commit runs a lone payment (fsync included).
 *
 * `npm run bench:analytics [-- MEMBERS ENTRIES] [--json]`.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { settingsSchema } from '../src/config/settingsSchema.js';
import { createLogger } from '../src/core/logger.js';
import { AuditLog } from '../src/ledger/auditLog.js';
import { openDatabase } from '../src/ledger/database.js';
import { MemberRepository } from '../src/ledger/memberRepository.js';
import { MembershipLedger } from '../src/ledger/membershipLedger.js';
import { MemberStore, PayerIdentity, derivePayerKeySecret } from '../src/ledger/index.js';
import { memberMonthAndWeekRollupsBackfill } from '../src/ledger/migrations/012_member_month_and_week_rollups.js';
import { AnalyticsService } from '../src/services/analyticsService.js';
import { SegmentService } from '../src/services/segmentService.js';
import { megabytes, summarize } from './benchStats.js';

const DAY_MS = 86_400_000;
// Shanghai keeps +08:00 all year, so the bulk fill can compute local dates in SQL exactly as
// the ledger's StoreCalendar does for this zone.
const ZONE = 'Asia/Shanghai';
const OFFSET_S = 8 * 3600;
const args = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const members = Number(args[0] ?? 100_000);
const targetEntries = Number(args[1] ?? 1_000_000);
const json = process.argv.includes('--json');
const QUERY_RUNS = 40;
const PAIRED_PAYMENTS = 400;

const settings = settingsSchema.parse({ analytics: { timeZone: ZONE } });
const dir = mkdtempSync(path.join(tmpdir(), 'memberlens-bench-analytics-'));
const databaseFile = path.join(dir, 'bench.db');
const faceKey = randomBytes(32);
const now = Date.now();
const payers = new PayerIdentity(derivePayerKeySecret(faceKey));

/** Deterministic pseudo-random numbers, so two runs fill the same history. */
function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

function fill(): { entries: number; fillS: number } {
  const started = performance.now();
  const db = openDatabase(databaseFile);
  const rnd = random(42);
  const insertMember = db.prepare('INSERT INTO members (id, name, created_at_ms, updated_at_ms) VALUES (?, ?, ?, ?)');
  const insertPayer = db.prepare("INSERT INTO payer_identities (payer_key, member_id, channel, created_at_ms) VALUES (?, ?, 'wechat', ?)");
  const insertEntry = db.prepare(
    'INSERT INTO ledger_entries (member_id, kind, spend_fen, points, stored_fen, order_id, ref_id, lot_entry_id, at_ms, recorded_at_ms) VALUES (?, ?, ?, ?, 0, ?, ?, NULL, ?, ?)',
  );
  const insertSale = db.prepare("INSERT INTO non_member_sales (order_id, lane, channel, amount_fen, paid_at_ms, recorded_at_ms) VALUES (?, 'lane1', 'cash', ?, ?, ?)");
  let entries = 0;
  db.transaction(() => {
    for (let m = 0; m < members; m++) {
      const joined = now - Math.floor(rnd() * 365 * DAY_MS);
      insertMember.run(`m_${m}`, `会员 ${m}`, joined, joined);
      insertPayer.run(payers.keyFor('wechat', 'bench-app', `payer-${m}`), `m_${m}`, joined);
    }
    // A few regulars buy often, most members now and then: payments skewed towards low member numbers.
    for (let order = 0; entries < targetEntries; order++) {
      const member = Math.floor(members * rnd() ** 2);
      const at = now - Math.floor(rnd() * 365 * DAY_MS);
      const fen = 500 + Math.floor(rnd() * 30_000);
      const orderId = `o${order}`;
      insertEntry.run(`m_${member}`, 'spend', fen, 0, orderId, null, at, at);
      insertEntry.run(`m_${member}`, 'points-earn', 0, Math.floor(fen / 100), orderId, null, at, at);
      entries += 2;
      if (order % 50 === 0) {
        insertEntry.run(`m_${member}`, 'refund', -fen, 0, orderId, `r${order}`, at, at);
        entries += 1;
      }
      if (order % 4 === 0) insertSale.run(`c${order}`, 300 + Math.floor(rnd() * 8000), at, at);
    }
    // The rollups, as the ledger keeps them write by write (see RollupRepository).
    const day = (col: string) => `date(${col} / 1000 + ${OFFSET_S}, 'unixepoch')`;
    db.exec(`
      INSERT INTO rollup_member_days (day, member_id, orders, sales_fen)
        SELECT ${day('at_ms')}, member_id, SUM(kind = 'spend') - SUM(kind = 'refund'), SUM(spend_fen)
        FROM ledger_entries WHERE kind IN ('spend', 'refund') GROUP BY 1, 2;
      INSERT INTO rollup_visit_hours (day, hour, visits)
        SELECT d, h, COUNT(*) FROM (
          SELECT ${day('MIN(at_ms)')} AS d, CAST(strftime('%H', MIN(at_ms) / 1000 + ${OFFSET_S}, 'unixepoch') AS INTEGER) AS h
          FROM ledger_entries WHERE kind = 'spend' GROUP BY member_id, ${day('at_ms')})
        GROUP BY d, h;
      INSERT INTO rollup_days (day, member_sales_fen, member_orders, member_visits)
        SELECT day, SUM(sales_fen), SUM(orders), COUNT(*) FROM rollup_member_days GROUP BY day;
      INSERT INTO rollup_days (day, non_member_sales_fen, non_member_orders)
        SELECT ${day('paid_at_ms')}, SUM(amount_fen), COUNT(*) FROM non_member_sales GROUP BY 1
        ON CONFLICT (day) DO UPDATE SET non_member_sales_fen = excluded.non_member_sales_fen, non_member_orders = excluded.non_member_orders;
      INSERT INTO rollup_days (day, new_by_payment)
        SELECT ${day('created_at_ms')}, COUNT(*) FROM members GROUP BY 1
        ON CONFLICT (day) DO UPDATE SET new_by_payment = excluded.new_by_payment;
      INSERT INTO rollup_days (day, points_issued)
        SELECT ${day('at_ms')}, SUM(points) FROM ledger_entries WHERE kind = 'points-earn' GROUP BY 1
        ON CONFLICT (day) DO UPDATE SET points_issued = excluded.points_issued;
      INSERT INTO rollup_lane_days (day, lane, recognitions, unknown_faces, face_linked_payments)
        SELECT day, lane, member_visits / 2, member_visits / 5, member_visits / 8
        FROM rollup_days, (SELECT 'lane1' AS lane UNION ALL SELECT 'lane2');
    `);
    // The member-months and seven-day windows, as an upgraded store gets them from its member-days.
    db.exec(memberMonthAndWeekRollupsBackfill);
  })();
  db.close();
  return { entries, fillS: Math.round((performance.now() - started) / 100) / 10 };
}

function timed(fn: () => unknown, runs: number): ReturnType<typeof summarize> {
  fn(); // warm the statement cache and the page cache once
  const samples: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    fn();
    samples.push(performance.now() - t);
  }
  return summarize(samples);
}

const localDate = (ms: number) => new Date(ms + OFFSET_S * 1000).toISOString().slice(0, 10);
const period = (days: number) => {
  const to = localDate(now + DAY_MS);
  return { from: localDate(Date.parse(`${to}T00:00:00Z`) - days * DAY_MS), to };
};

try {
  const filled = fill();
  const store = MemberStore.open({ databaseFile, faceKey, clock: () => Date.now(), membership: settings.membership, maxWritesPerCommit: 1, timeZone: ZONE });
  const segments = new SegmentService({ store, settings: settings.segments, log: createLogger('silent') });
  const segmentsStart = performance.now();
  await segments.recomputeAll();
  const segmentsS = Math.round((performance.now() - segmentsStart) / 100) / 10;
  const analytics = new AnalyticsService({ store, segments, tierNames: settings.membership.tiers.map((t) => t.name) });

  const queries: Record<string, Record<string, ReturnType<typeof summarize>>> = {};
  for (const days of [30, 90, 365]) {
    const p = period(days);
    queries[`${days}d`] = {
      overview: timed(() => analytics.overview(p), QUERY_RUNS),
      series: timed(() => analytics.series(p), QUERY_RUNS),
      details: timed(() => analytics.details(p), QUERY_RUNS),
    };
  }

  // The same payment with and without the rollups: a second connection whose ledger keeps none.
  const bare = openDatabase(databaseFile);
  const clock = () => Date.now();
  const withoutRollups = new MembershipLedger(
    { db: bare, members: new MemberRepository(bare, clock), audit: new AuditLog(bare, clock), clock },
    { ...settings.membership, payerKeySecret: derivePayerKeySecret(faceKey) },
  );
  const pay = (ledger: MembershipLedger, i: number) =>
    ledger.recordPayment({ orderId: `bench-${i}`, lane: 'lane1', channel: 'wechat', appId: 'bench-app', payerId: `payer-${i % members}`, amountYuan: 88, paidAtMs: Date.now() });
  const withMs: number[] = [];
  const withoutMs: number[] = [];
  const differenceMs: number[] = [];
  for (let i = 0; i < PAIRED_PAYMENTS; i++) {
    const run = (ledger: MembershipLedger, n: number) => {
      const t = performance.now();
      pay(ledger, n);
      return performance.now() - t;
    };
    // Alternate which goes first, so neither always meets a warmer cache.
    let withRollups: number;
    let withoutRollupsMs: number;
    if (i % 2 === 0) {
      withRollups = run(store.membership, 2 * i);
      withoutRollupsMs = run(withoutRollups, 2 * i + 1);
    } else {
      withoutRollupsMs = run(withoutRollups, 2 * i + 1);
      withRollups = run(store.membership, 2 * i);
    }
    withMs.push(withRollups);
    withoutMs.push(withoutRollupsMs);
    differenceMs.push(withRollups - withoutRollupsMs);
  }
  // The upkeep alone, inside one open transaction (no fsync): what the rollup statements cost.
  const upkeepMs: number[] = [];
  store.inTransaction(() => {
    for (let i = 0; i < 2000; i++) {
      const t = performance.now();
      store.rollups.memberSale(`m_${i % members}`, 8800, Date.now(), true);
      store.rollups.liability({ kind: 'points-earn', points: 88, atMs: Date.now() });
      upkeepMs.push(performance.now() - t);
    }
  });
  bare.close();
  store.close();

  const result = {
    members,
    ledgerEntries: filled.entries,
    fillS: filled.fillS,
    segmentsRecomputeS: segmentsS,
    databaseMB: megabytes(statSync(databaseFile).size + (statSync(`${databaseFile}-wal`, { throwIfNoEntry: false })?.size ?? 0)),
    queriesMs: queries,
    payment: {
      withRollupsMs: summarize(withMs),
      withoutRollupsMs: summarize(withoutMs),
      pairedDifferenceMs: summarize(differenceMs),
      upkeepAloneMs: summarize(upkeepMs),
    },
  };
  if (json) process.stdout.write(`${JSON.stringify(result)}\n`);
  else {
    const line = (name: string, s: ReturnType<typeof summarize>) => `  ${name.padEnd(9)} median ${s.median} ms, p95 ${s.p95} ms, max ${s.max} ms\n`;
    let out = `${members} members, ${filled.entries} ledger entries over 365 days (filled in ${result.fillS} s, segments in ${segmentsS} s, ${result.databaseMB} MB)\n`;
    for (const [range, q] of Object.entries(queries)) {
      out += `last ${range}:\n${line('overview', q.overview!)}${line('series', q.series!)}${line('details', q.details!)}`;
    }
    const p = result.payment;
    out +=
      `a payment, ${PAIRED_PAYMENTS} pairs each in its own transaction with fsync:\n` +
      `  with rollups    median ${p.withRollupsMs.median} ms, p95 ${p.withRollupsMs.p95} ms\n` +
      `  without rollups median ${p.withoutRollupsMs.median} ms, p95 ${p.withoutRollupsMs.p95} ms\n` +
      `  paired difference median ${p.pairedDifferenceMs.median} ms\n` +
      `  upkeep statements alone (no fsync) median ${p.upkeepAloneMs.median} ms, p99 ${p.upkeepAloneMs.p99} ms\n`;
    process.stdout.write(out);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
