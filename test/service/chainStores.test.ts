import Database from 'better-sqlite3';
import { existsSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPostgres, type PostgresCluster } from '../../scripts/postgresCluster.js';
import { startServiceProcess, type ServiceProcess } from '../../scripts/serviceProcess.js';
import { hqCommand, startHqProcess, type HqProcess } from '../../scripts/hqProcess.js';
import { startTcpProxy, type TcpProxy } from '../../scripts/tcpProxy.js';
import { waitFor as waitForValue } from '../support/waitFor.js';

/**
 * Issue 13, chain stores: a real PostgreSQL, `memberlens hq serve`, and two stores as the
 * real service (`node dist/main.js`). Store A reaches HQ through a TCP proxy the test cuts.
 * A member who pays at A is the same member at B; A keeps selling offline while B spends the
 * member's stored value and A's own spend is refused; A comes back, is SIGKILLed while its
 * first batch is in flight, restarts — and in the end no change is lost or counted twice and
 * every branch and HQ agree on every balance, recomputed from the union of all entries.
 */

const OFFLINE_PAYMENTS = 450;
const PAYERS = 40;
const TIMEOUT_MS = 10_000;

const storeSettings = (storeId: string, hqUrl: string, token: string) => ({
  logLevel: 'warn',
  demo: { seedFolder: '' },
  backup: { intervalHours: 0 },
  inference: { workers: 1 },
  lanes: [{ id: 'lane1', camera: { kind: 'http-push' } }],
  // Small batches so the backlog takes several, and the SIGKILL lands between them.
  chain: { hqUrl, storeId, token, syncEveryMs: 300, batchEvents: 100, requestTimeoutMs: 3000 },
});

async function call(service: Pick<ServiceProcess, 'url' | 'tokens'>, role: string, method: string, route: string, body?: unknown) {
  const res = await fetch(`${service.url}${route}`, {
    method,
    headers: { authorization: `Bearer ${service.tokens[role]}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
    signal: AbortSignal.timeout(TIMEOUT_MS),
  });
  return { status: res.status, body: (await res.json()) as any };
}

const pay = (s: ServiceProcess, orderId: string, payerId: string, amount: string) =>
  call(s, 'pos', 'POST', '/api/payments', { orderId, lane: 'lane1', channel: 'wechat', appId: 'chain-app', payerId, amount, paidAt: new Date().toISOString() });
const deduct = (s: ServiceProcess, memberId: string, orderId: string, amount: number) =>
  call(s, 'pos', 'POST', `/api/members/${memberId}/deductions`, { orderId, amount, confirmation: { method: 'till-confirm', staff: 'cashier' } });

const waitFor = <T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> => waitForValue(what, probe, timeoutMs, 200);

/** A store's balances per member, read from its SQLite file (the service keeps running). */
function storeLedger(service: ServiceProcess) {
  const db = new Database(path.join(service.dir, 'memberlens.db'), { readonly: true });
  try {
    return {
      entries: (db.prepare('SELECT count(*) AS n FROM ledger_entries').get() as { n: number }).n,
      balances: new Map(
        (db.prepare('SELECT member_id, lifetime_spend_fen AS spend, points, stored_fen AS stored FROM member_balances').all() as { member_id: string; spend: number; points: number; stored: number }[]).map(
          (r) => [r.member_id, `${r.spend}/${r.points}/${r.stored}`],
        ),
      ),
      members: (db.prepare('SELECT count(*) AS n FROM members').get() as { n: number }).n,
      outbox: (db.prepare('SELECT count(*) AS n FROM chain_outbox').get() as { n: number }).n,
      tiers: new Map((db.prepare('SELECT member_id, tier_name FROM member_tiers').all() as { member_id: string; tier_name: string }[]).map((r) => [r.member_id, r.tier_name])),
    };
  } finally {
    db.close();
  }
}

describe('chain stores: one membership at every branch, on PostgreSQL at HQ', () => {
  let postgres: PostgresCluster;
  let hq: HqProcess;
  let proxy: TcpProxy;
  let db: pg.Pool;
  const stores: ServiceProcess[] = [];

  beforeAll(async () => {
    if (!existsSync('dist/main.js')) throw new Error('dist/main.js is missing: run `npm run build` first (npm test does).');
    postgres = await startPostgres();
    db = new pg.Pool({ connectionString: postgres.url, max: 2 });
    // A connection still closing when the cluster stops gets PostgreSQL's 57P01; it must not end the run.
    db.on('error', () => undefined);
  }, 60_000);

  afterAll(async () => {
    for (const s of stores) await s.stop().catch(() => undefined);
    await proxy?.close();
    await hq?.stop();
    await db?.end();
    await postgres?.stop();
  }, 60_000);

  it('converges: nothing lost or doubled, offline spends refused, the same balance everywhere', async () => {
    const a = await hqCommand(postgres.url, 'stores', 'add', 'store-a');
    const b = await hqCommand(postgres.url, 'stores', 'add', 'store-b');
    const owner = await hqCommand(postgres.url, 'owners', 'add', 'test owner');
    expect(Object.keys(a).sort()).toEqual(['storeId', 'token']);
    expect(a.storeId).toBe('store-a');
    hq = await startHqProcess(postgres.url);
    proxy = await startTcpProxy(hq.port);

    let storeA = await startServiceProcess(storeSettings('store-a', proxy.url, a.token!));
    stores.push(storeA);
    const storeB = await startServiceProcess(storeSettings('store-b', hq.url, b.token!));
    stores.push(storeB);

    // --- joined at A, the same member at B ---
    const first = await pay(storeA, 'a-first', 'openid-amy', '100.00');
    expect(first.status).toBe(201);
    const amy = first.body.memberId as string;
    expect((await call(storeA, 'pos', 'POST', `/api/members/${amy}/recharges`, { rechargeId: 'a-recharge-1', amount: 500 })).status).toBe(201);
    await waitFor('Amy at B with her balance', async () => {
      const m = await call(storeB, 'admin', 'GET', `/api/members/${amy}`);
      return m.status === 200 && m.body.membership.balanceYuan === 500 ? m : undefined;
    });
    const atB = await pay(storeB, 'b-first', 'openid-amy', '50.00');
    expect(atB.status).toBe(201);
    expect(atB.body.memberId).toBe(amy);
    expect(atB.body.created).toBe(false);
    // She declines marketing at B: no branch may send her messages.
    expect((await call(storeB, 'admin', 'PATCH', `/api/members/${amy}`, { marketingOptOut: true })).status).toBe(200);

    // --- A's link is cut: A sells on; B spends Amy's stored value; A's spend is refused ---
    proxy.cut();
    const acknowledgedAtA = new Set<string>(['a-first']);
    for (let i = 0; i < OFFLINE_PAYMENTS; i++) {
      const orderId = `a-off-${i}`;
      const res = await pay(storeA, orderId, `openid-${i % PAYERS === 0 ? 'amy' : `p${i % PAYERS}`}`, `${1 + (i % 90)}.${String(i % 100).padStart(2, '0')}`);
      expect(res.status, orderId).toBe(201);
      acknowledgedAtA.add(orderId);
    }
    const refused = await deduct(storeA, amy, 'a-spend-offline', 100);
    expect(refused.status).toBe(503);
    expect(refused.body.error.code).toBe('chain-offline');
    expect(refused.body.error.message).toMatch(/cannot be reached.*stored value cannot be spent/s);
    const spent = await deduct(storeB, amy, 'b-spend-1', 300);
    expect(spent.status).toBe(201);
    expect(spent.body.balanceYuan).toBe(200);
    const tooMuch = await deduct(storeB, amy, 'b-spend-2', 300);
    expect(tooMuch.status).toBe(422);
    expect(tooMuch.body.error.code).toBe('INSUFFICIENT_BALANCE');

    // --- A reconnects and is SIGKILLed while its first batch is on the wire ---
    const exited = new Promise<void>((resolve) => storeA.child.once('exit', () => resolve()));
    let killed = false;
    proxy.restore((chunk) => {
      if (!killed && chunk.toString('latin1').includes('POST /api/chain/batches')) {
        killed = true;
        storeA.child.kill('SIGKILL');
      }
    });
    await exited;
    expect(storeA.child.signalCode).toBe('SIGKILL');
    // It died with its offline backlog still in the outbox: every payment made at least a
    // spend and a points entry, and HQ had confirmed none of them.
    const backlogAtKill = storeLedger(storeA).outbox;
    const hqHadOfA = (await db.query<{ last_seq: number }>("SELECT last_seq FROM stores WHERE store_id = 'store-a'")).rows[0]!.last_seq;
    expect(backlogAtKill).toBeGreaterThan(2 * OFFLINE_PAYMENTS - 100);
    proxy.restore();
    const dirA = storeA.dir;
    storeA = await startServiceProcess(storeSettings('store-a', proxy.url, a.token!), { reuse: { dir: dirA, tokens: storeA.tokens } });
    stores[0] = storeA;

    // --- convergence ---
    const hqBalances = async () =>
      new Map(
        (await db.query<{ member_id: string; v: string }>("SELECT member_id, spend_fen || '/' || points || '/' || stored_fen AS v FROM balances")).rows.map((r) => [r.member_id, r.v]),
      );
    await waitFor(
      'every branch and HQ to agree',
      async () => {
        const la = storeLedger(storeA);
        const lb = storeLedger(storeB);
        const h = await hqBalances();
        const same = la.outbox === 0 && lb.outbox === 0 && la.entries === lb.entries && la.balances.size === h.size && [...h].every(([m, v]) => la.balances.get(m) === v && lb.balances.get(m) === v);
        return same ? true : undefined;
      },
      90_000,
    );

    // No change lost or doubled: each store's sequence numbers at HQ are 1..N without a gap,
    // every payment A acknowledged is there exactly once, and both stores hold every entry.
    for (const storeId of ['store-a', 'store-b']) {
      const { rows } = await db.query<{ n: number; lo: number; hi: number; last: number }>(
        `SELECT count(*)::int AS n, min(store_seq)::int AS lo, max(store_seq)::int AS hi, (SELECT last_seq FROM stores WHERE store_id = $1)::int AS last
         FROM chain_events WHERE store_id = $1 AND pushed`,
        [storeId],
      );
      expect(rows[0], storeId).toEqual({ n: rows[0]!.hi, lo: 1, hi: rows[0]!.last, last: rows[0]!.last });
    }
    const spends = await db.query<{ order_id: string; n: number }>(
      "SELECT body->>'orderId' AS order_id, count(*)::int AS n FROM chain_events WHERE kind = 'entry' AND body->>'kind' = 'spend' GROUP BY 1",
    );
    const spendCount = new Map(spends.rows.map((r) => [r.order_id, r.n]));
    for (const orderId of acknowledgedAtA) expect(spendCount.get(orderId), orderId).toBe(1);
    expect([...spendCount.values()].every((n) => n === 1)).toBe(true);
    expect(spendCount.size).toBe(acknowledgedAtA.size + 1); // and B's one payment
    const hqEntries = (await db.query<{ n: number }>("SELECT count(*)::int AS n FROM chain_events WHERE kind = 'entry'")).rows[0]!.n;
    const la = storeLedger(storeA);
    const lb = storeLedger(storeB);
    const finalSeqOfA = (await db.query<{ last_seq: number }>("SELECT last_seq FROM stores WHERE store_id = 'store-a'")).rows[0]!.last_seq;
    expect(finalSeqOfA - hqHadOfA).toBeGreaterThanOrEqual(backlogAtKill - 100);
    expect(la.entries).toBe(hqEntries);
    expect(lb.entries).toBe(hqEntries);
    expect(la.members).toBe(lb.members);

    // Every balance equals the recomputation from the union of all entries, and none went
    // negative at any point in HQ's order.
    const { rows: union } = await db.query<{ member_id: string; v: string; min_stored: number }>(
      `SELECT member_id, sum(sf) || '/' || sum(p) || '/' || sum(st) AS v, min(running) AS min_stored FROM (
         SELECT member_id, (body->>'spendFen')::bigint AS sf, (body->>'points')::bigint AS p, (body->>'storedFen')::bigint AS st,
                sum((body->>'storedFen')::bigint) OVER (PARTITION BY member_id ORDER BY id) AS running
         FROM chain_events WHERE kind = 'entry') e GROUP BY member_id`,
    );
    expect(union.length).toBe(la.balances.size);
    for (const r of union) {
      expect(la.balances.get(r.member_id), r.member_id).toBe(r.v);
      expect(lb.balances.get(r.member_id), r.member_id).toBe(r.v);
      expect(Number(r.min_stored)).toBeGreaterThanOrEqual(0);
    }
    expect(la.balances.get(amy)!.split('/')[2]).toBe('20000'); // ¥500 recharged, ¥300 spent at B
    expect(la.tiers.get(amy)).toBe(lb.tiers.get(amy));
    for (const s of [storeA, storeB]) {
      const m = await call(s, 'admin', 'GET', `/api/members/${amy}`);
      expect(m.body.membership.balanceYuan).toBe(200);
      expect(m.body.marketing.marketingOptOut).toBe(true);
    }

    // The owner sees the stores and the chain's sales.
    const ownerCall = async (route: string) => {
      const res = await fetch(`${hq.url}${route}`, { headers: { authorization: `Bearer ${owner.token}` } });
      return { status: res.status, body: (await res.json()) as any };
    };
    const storesPage = await ownerCall('/api/hq/stores');
    expect(storesPage.status).toBe(200);
    expect(storesPage.body.stores.map((s: { storeId: string; backlog: number }) => [s.storeId, s.backlog])).toEqual([['store-a', 0], ['store-b', 0]]);
    // Two days either side, whatever the hour in HQ's time zone (Asia/Shanghai) and here.
    const day = (offsetDays: number) => new Date(Date.now() + offsetDays * 86_400_000).toISOString().slice(0, 10);
    const overview = await ownerCall(`/api/hq/overview?from=${day(-2)}&to=${day(2)}`);
    expect(overview.status).toBe(200);
    const expectedSales = (await db.query<{ fen: number }>("SELECT sum((body->>'spendFen')::bigint)::bigint AS fen FROM chain_events WHERE kind = 'entry'")).rows[0]!.fen;
    expect(overview.body.salesFen.total).toBe(Number(expectedSales));
    expect(overview.body.stores.find((s: { storeId: string }) => s.storeId === 'store-b').salesFen.total).toBe(5000);
    expect(overview.body.previous.salesFen.total).toBe(0);
    // Amy bought at A and at B: a repeat buyer of the chain, though B saw her once.
    const atBStore = overview.body.stores.find((s: { storeId: string }) => s.storeId === 'store-b');
    expect(atBStore).toMatchObject({ buyingMembers: 1, repeatRate: 0 });
    expect(overview.body.buyingMembers).toBe(PAYERS);
    expect(overview.body.repeatRate).toBe(1);
    const none = await ownerCall(`/api/hq/overview?from=${day(-9)}&to=${day(-5)}`);
    expect(none.body.salesFen.total).toBe(0);
    expect((await ownerCall('/api/hq/overview?from=2026-13-01&to=x')).status).toBe(400);
    expect((await fetch(`${hq.url}/api/hq/stores`, { headers: { authorization: `Bearer ${a.token}` } })).status).toBe(401);
  }, 300_000);
});
