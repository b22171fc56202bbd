import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, postJson, requestJson, startTestApp, type TestApp } from '../support/testApp.js';

// Shanghai keeps +08:00 all year: the test's own reading of a local date needs no time zone library.
const ZONE = 'Asia/Shanghai';
const OFFSET_MS = 8 * 3_600_000;
const DAY_MS = 86_400_000;
const localDate = (ms: number) => new Date(ms + OFFSET_MS).toISOString().slice(0, 10);
const addDays = (date: string, days: number) => new Date(Date.parse(`${date}T00:00:00Z`) + days * DAY_MS).toISOString().slice(0, 10);
/** The instant of `hh:mm` local time on `date`. */
const localTime = (date: string, hh: number, mm = 0) => Date.parse(`${date}T00:00:00Z`) - OFFSET_MS + (hh * 60 + mm) * 60_000;

let t: TestApp;
let base: string;
let today: string;
/** The current period is the 14 days up to today; the previous one the 14 before. */
let period: { from: string; to: string };
let previous: { from: string; to: string };

const pay = async (orderId: string, payer: string, amount: number, atMs: number, channel = 'wechat') => {
  const res = await postJson(`${base}/api/payments`, t.tokens.pos, {
    orderId, lane: 'lane1', channel, appId: 'wx-shop', payerId: payer, amount, paidAt: new Date(atMs).toISOString(),
  });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body as { memberId: string };
};
const cash = async (orderId: string, amount: number, atMs: number) => {
  const res = await postJson(`${base}/api/payments`, t.tokens.pos, { orderId, lane: 'lane1', channel: 'cash', amount, paidAt: new Date(atMs).toISOString() });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body as { memberId: string | null; identifiedBy: string | null; pointsEarned: number };
};
const refund = async (orderId: string, refundId: string, amount: number) => {
  const res = await postJson(`${base}/api/payments/${orderId}/refunds`, t.tokens.pos, { refundId, amount });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body;
};
const overview = async (from: string, to: string) => {
  const res = await requestJson(`${base}/api/analytics/overview?from=${from}&to=${to}`, t.tokens.admin, 'GET');
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body;
};

beforeAll(async () => {
  t = await startTestApp('analytics-overview', { analytics: { timeZone: ZONE } });
  base = t.app.url;
  today = localDate(Date.now());
  period = { from: addDays(today, -13), to: addDays(today, 1) };
  previous = { from: addDays(today, -27), to: addDays(today, -13) };
  const day = (n: number) => addDays(today, -n);

  // Before both periods: counted nowhere.
  await pay('old-1', 'amy', 300, localTime(day(40), 12));
  // Previous period: Amy twice (a repeat buyer), Bo once, two strangers paying cash, one refunded in full.
  const amy = await pay('p-1', 'amy', 120, localTime(day(20), 10));
  await pay('p-2', 'amy', 80.5, localTime(day(16), 19, 45));
  await pay('p-3', 'bo', 45, localTime(day(15), 9));
  await cash('p-cash-1', 33.3, localTime(day(18), 11));
  await cash('p-cash-2', 60, localTime(day(17), 15));
  await refund('p-cash-2', 'p-cash-2-r', 60);
  // 00:30 local on the first day of the current period is still the previous day in UTC.
  await pay('c-midnight', 'cy', 25, localTime(day(13), 0, 30));
  // 23:50 local on the last day of the previous period is already the next day in UTC.
  await pay('p-late', 'dee', 18, localTime(day(14), 23, 50));

  // Current period: Amy three times (one refunded in full, so two purchases), Bo once with a partial refund.
  await pay('c-1', 'amy', 200, localTime(day(10), 12));
  await pay('c-2', 'amy', 50, localTime(day(6), 13));
  await refund('c-2', 'c-2-r', 50);
  await pay('c-3', 'amy', 99.9, localTime(day(3), 18));
  await pay('c-4', 'bo', 150, localTime(day(2), 8));
  await refund('c-4', 'c-4-r1', 30);
  await refund('c-4', 'c-4-r2', 20.5);
  await pay('c-5', 'eve', 66, localTime(day(1), 20), 'alipay');
  // Cash: two non-members (one partly refunded) and one member who shows her member QR first.
  await cash('c-cash-1', 12.5, localTime(day(9), 10));
  // The POS sends it again: the first answer, counted once (the ledger comparison below would see a second).
  const again = await postJson(`${base}/api/payments`, t.tokens.pos, { orderId: 'c-cash-1', lane: 'lane1', channel: 'cash', amount: 12.5, paidAt: new Date(localTime(day(9), 10)).toISOString() });
  expect(again).toMatchObject({ status: 200, body: { duplicate: true, memberId: null } });
  await cash('c-cash-2', 40, localTime(day(4), 16));
  await refund('c-cash-2', 'c-cash-2-r', 10);
  const qr = await requestJson(`${base}/api/members/${amy.memberId}/qr`, t.tokens.admin, 'GET');
  const scan = await postJson(`${base}/api/lanes/lane1/scans`, t.tokens.device, { code: qr.body.code });
  expect(scan.body.kind).toBe('member-qr');
  const credited = await cash('c-cash-amy', 30, Date.now() - 1000);
  expect(credited).toMatchObject({ memberId: amy.memberId, identifiedBy: 'member-qr' });
  expect(credited.pointsEarned).toBeGreaterThan(0);
  // The QR paid one sale: the next cash sale is nobody's.
  expect((await cash('c-cash-3', 8, Date.now() - 500)).memberId).toBeNull();
  // Stored value: a recharge is no sale, spending it is.
  const recharge = await postJson(`${base}/api/members/${amy.memberId}/recharges`, t.tokens.pos, { rechargeId: 'r-1', amount: 100 });
  expect(recharge.status).toBe(201);
  const deduction = await postJson(`${base}/api/members/${amy.memberId}/deductions`, t.tokens.pos, {
    orderId: 'c-sv-1', amount: 35, confirmation: { method: 'till-confirm', staff: 'Li' },
  });
  expect(deduction.status).toBe(201);
  // Coupons: a batch to the members tagged vip (Amy and the newest other member); Amy uses hers on an ¥88 order.
  const other = (await requestJson(`${base}/api/members?limit=500`, t.tokens.admin, 'GET')).body.members.find(
    (m: { id: string }) => m.id !== amy.memberId,
  );
  for (const id of [amy.memberId, other.id]) expect((await postJson(`${base}/api/members/${id}/tags`, t.tokens.admin, { tag: 'vip' })).status).toBe(201);
  const batch = await postJson(`${base}/api/coupons/batches`, t.tokens.admin, {
    batchId: 'vip-nov', segment: { tag: 'vip' }, coupon: { title: '老客券', amountOffYuan: 10, minSpendYuan: 50, validDays: 14 },
  });
  expect(batch.status, JSON.stringify(batch.body)).toBe(201);
  const amyCoupons = await requestJson(`${base}/api/members/${amy.memberId}/coupons`, t.tokens.admin, 'GET');
  const coupon = amyCoupons.body.coupons[0];
  const withCoupon = await postJson(`${base}/api/payments`, t.tokens.pos, {
    orderId: 'c-coupon', lane: 'lane1', channel: 'wechat', appId: 'wx-shop', payerId: 'amy', amount: 88, paidAt: new Date(Date.now() - 2000).toISOString(), couponId: coupon.couponId,
  });
  expect(withCoupon.status, JSON.stringify(withCoupon.body)).toBe(201);
  // Members added at the desk today.
  expect((await postJson(`${base}/api/members`, t.tokens.admin, { name: '王芳' })).status).toBe(201);
  expect((await postJson(`${base}/api/members`, t.tokens.admin, { name: 'Fay' })).status).toBe(201);
}, 60_000);

afterAll(async () => {
  await t?.stop();
});

/** The overview's figures, computed here from the ledger's own rows without the rollups. */
function fromLedger(db: Database.Database, p: { from: string; to: string }) {
  const inPeriod = (ms: number) => localDate(ms) >= p.from && localDate(ms) < p.to;
  const entries = db
    // Purchases imported from a previous system are no sales at this till.
    .prepare(
      `SELECT member_id, kind, spend_fen, stored_fen, order_id, at_ms FROM ledger_entries
       WHERE kind IN ('spend', 'refund', 'deduct') AND NOT (kind = 'spend' AND ref_id IS 'import')`,
    )
    .all() as Array<{ member_id: string; kind: string; spend_fen: number; stored_fen: number; order_id: string; at_ms: number }>;
  let memberSales = 0;
  const orders = new Map<string, { member: string; net: number; firstAt: number }>();
  for (const e of entries) {
    const fen = e.kind === 'deduct' ? -e.stored_fen : e.spend_fen;
    if (inPeriod(e.at_ms)) memberSales += fen;
    const order = orders.get(e.order_id) ?? { member: e.member_id, net: 0, firstAt: Infinity };
    order.net += fen;
    if (e.kind !== 'refund') order.firstAt = Math.min(order.firstAt, e.at_ms);
    orders.set(e.order_id, order);
  }
  const purchases = new Map<string, number>();
  const active = new Set<string>();
  let memberOrders = 0;
  for (const order of orders.values()) {
    if (!inPeriod(order.firstAt)) continue;
    active.add(order.member);
    if (order.net <= 0) continue;
    memberOrders++;
    purchases.set(order.member, (purchases.get(order.member) ?? 0) + 1);
  }
  const sales = db
    .prepare(`SELECT s.order_id, s.amount_fen - COALESCE((SELECT SUM(r.amount_fen) FROM non_member_refunds r WHERE r.order_id = s.order_id), 0) AS net, s.paid_at_ms FROM non_member_sales s`)
    .all() as Array<{ net: number; paid_at_ms: number }>;
  const nonMember = sales.filter((s) => inPeriod(s.paid_at_ms));
  const nonMemberSales = nonMember.reduce((sum, s) => sum + s.net, 0);
  const nonMemberOrders = nonMember.filter((s) => s.net > 0).length;
  const byPayment = (db.prepare('SELECT paid_at_ms FROM payments WHERE member_created = 1').all() as Array<{ paid_at_ms: number }>).filter((r) =>
    inPeriod(r.paid_at_ms),
  ).length;
  // Everyone else who joined is in the processing log: imported, enrolled with a face (a face.enroll
  // of theirs in the same instant), or added at the desk.
  const created = (db.prepare(`SELECT subject, at_ms, details FROM audit_log WHERE action = 'member.create'`).all() as Array<{ subject: string; at_ms: number; details: string | null }>)
    .filter((r) => inPeriod(r.at_ms) && JSON.parse(r.details ?? '{}').source !== 'payment');
  const enrolled = new Set(
    (db.prepare(`SELECT at_ms, details FROM audit_log WHERE action = 'face.enroll'`).all() as Array<{ at_ms: number; details: string }>).map(
      (r) => `${JSON.parse(r.details).memberId}@${r.at_ms}`,
    ),
  );
  const sourceOf = (r: { subject: string; at_ms: number; details: string | null }) =>
    JSON.parse(r.details ?? '{}').source === 'import' ? 'import' : enrolled.has(`${r.subject}@${r.at_ms}`) ? 'face' : 'admin';
  const bySource = (source: string) => created.filter((r) => sourceOf(r) === source).length;
  const buyers = [...purchases.values()].filter((n) => n >= 1).length;
  const repeaters = [...purchases.values()].filter((n) => n >= 2).length;
  const total = memberSales + nonMemberSales;
  return {
    from: p.from,
    to: p.to,
    salesFen: { total, members: memberSales, nonMembers: nonMemberSales },
    memberShareOfSales: total > 0 ? memberSales / total : null,
    orders: { total: memberOrders + nonMemberOrders, members: memberOrders, nonMembers: nonMemberOrders },
    averageTicketFen: {
      members: memberOrders > 0 ? Math.round(memberSales / memberOrders) : null,
      nonMembers: nonMemberOrders > 0 ? Math.round(nonMemberSales / nonMemberOrders) : null,
    },
    repeatRate: buyers > 0 ? repeaters / buyers : null,
    activeMembers: active.size,
    buyingMembers: buyers,
    newMembers: {
      total: byPayment + bySource('face') + bySource('admin') + bySource('import'),
      byPayment,
      byFace: bySource('face'),
      byAdmin: bySource('admin'),
      byImport: bySource('import'),
    },
    memberVisits: null as unknown,
    coupons: couponsFromEvents(db, inPeriod),
  };
}

function couponsFromEvents(db: Database.Database, inPeriod: (ms: number) => boolean) {
  const events = (db.prepare('SELECT kind, order_fen, discount_fen, at_ms FROM coupon_events').all() as Array<{ kind: string; order_fen: number | null; discount_fen: number | null; at_ms: number }>).filter((e) =>
    inPeriod(e.at_ms),
  );
  const count = (kind: string) => events.filter((e) => e.kind === kind).length;
  const salesFen = events.filter((e) => e.kind === 'redeemed').reduce((sum, e) => sum + e.order_fen! - e.discount_fen!, 0);
  return { issued: count('issued'), redeemed: count('redeemed'), expired: count('expired'), salesFen };
}

describe('GET /api/analytics/overview', () => {
  it('states every figure of both periods as the ledger rows add up', async () => {
    const body = await overview(period.from, period.to);
    const db = new Database(path.join(t.dir, 'memberlens.db'), { readonly: true });
    try {
      for (const [figures, p] of [[body, period], [body.previous, previous]] as const) {
        const expected = fromLedger(db, p);
        const { memberVisits, ...rest } = expected;
        expect(figures).toMatchObject(rest);
        // A visit here is a member's day with a purchase (nobody was recognized by face in this history).
        expect(figures.memberVisits).toBeGreaterThanOrEqual(figures.activeMembers);
        void memberVisits;
      }
    } finally {
      db.close();
    }
    expect(body.timeZone).toBe(ZONE);
  });

  it('gives the figures this history was built to have', async () => {
    const body = await overview(period.from, period.to);
    // Amy 200 + 0 (refunded) + 99.90 + 30 cash + 35 stored value + 88 less her ¥10 coupon; Bo 150 − 50.50; Eve 66; Cy 25.
    expect(body.salesFen).toEqual({ members: 20_000 + 9_990 + 3_000 + 3_500 + 7_800 + 9_950 + 6_600 + 2_500, nonMembers: 1_250 + 3_000 + 800, total: 63_340 + 5_050 });
    // Issued: the batch's two, and whatever the campaign rules gave (join gifts, spend thresholds).
    expect(body.coupons).toMatchObject({ redeemed: 1, expired: 0, salesFen: 7_800 });
    expect(body.coupons.issued).toBeGreaterThanOrEqual(2);
    expect(body.previous.coupons).toEqual({ issued: 0, redeemed: 0, expired: 0, salesFen: 0 });
    // Buyers: Amy (five purchases), Bo, Eve, Cy; only Amy bought twice or more.
    expect(body.repeatRate).toBeCloseTo(1 / 4, 10);
    expect(body.newMembers).toEqual({ total: 4, byPayment: 2, byFace: 0, byAdmin: 2, byImport: 0 });
    expect(body.previous.salesFen).toEqual({ members: 12_000 + 8_050 + 4_500 + 1_800, nonMembers: 3_330, total: 26_350 + 3_330 });
    expect(body.previous.repeatRate).toBeCloseTo(1 / 3, 10);
    expect(body.previous.newMembers).toEqual({ total: 2, byPayment: 2, byFace: 0, byAdmin: 0, byImport: 0 });
    expect(body.previous.orders).toEqual({ total: 5, members: 4, nonMembers: 1 });
  });

  it('answers a clear 400 for a missing, malformed, reversed or too long period', async () => {
    const bad = ['', `?from=${today}`, `?from=2026-13-01&to=2026-12-01`, `?from=2026-02-30&to=2026-03-02`, `?from=${today}&to=${today}`, '?from=2020-01-01&to=2026-01-01', `?from=${today}&to=${addDays(today, 2)}&store=x`];
    for (const query of bad) {
      const res = await fetch(`${base}/api/analytics/overview${query}`, { headers: bearer(t.tokens.admin) });
      const body = (await res.json()) as { error: { code: string; message: string } };
      expect(res.status, query).toBe(400);
      expect(body.error.code).toBe('invalid-input');
      expect(body.error.message).toMatch(/from|to|store/);
    }
  });
});

describe('GET /api/analytics/series and /details', () => {
  it('has one entry per day whose sums are the overview\'s', async () => {
    const res = await requestJson(`${base}/api/analytics/series?from=${period.from}&to=${period.to}`, t.tokens.admin, 'GET');
    expect(res.status).toBe(200);
    const body = await overview(period.from, period.to);
    expect(res.body.days).toHaveLength(14);
    const sum = (f: (d: any) => number) => res.body.days.reduce((s: number, d: any) => s + f(d), 0);
    expect(sum((d) => d.salesFen.members)).toBe(body.salesFen.members);
    expect(sum((d) => d.salesFen.nonMembers)).toBe(body.salesFen.nonMembers);
    expect(sum((d) => d.newMembers.byPayment + d.newMembers.byAdmin)).toBe(body.newMembers.total);
    expect(res.body.repeatRateByWeek).toHaveLength(2);
  });

  it('lists segments, tiers, visit frequency and liability from the same history', async () => {
    const res = await requestJson(`${base}/api/analytics/details?from=${period.from}&to=${period.to}`, t.tokens.admin, 'GET');
    expect(res.status).toBe(200);
    const d = res.body;
    const members = (await requestJson(`${base}/api/members?limit=500`, t.tokens.admin, 'GET')).body.members.length;
    expect(d.rfm.reduce((s: number, r: any) => s + r.members, 0)).toBe(members);
    expect(d.tiers.reduce((s: number, r: any) => s + r.members, 0)).toBe(members);
    const body = await overview(period.from, period.to);
    expect(d.visitFrequency.reduce((s: number, r: any) => s + r.members, 0)).toBe(body.activeMembers);
    expect(d.liability.storedValueFen).toEqual({ issued: 10_000, redeemed: 3_500, outstanding: 6_500 });
    expect(d.liability.points.outstanding).toBeGreaterThan(0);
    expect(d.visitHeatmap.flat().reduce((a: number, b: number) => a + b, 0)).toBe(body.memberVisits);
  });
});
