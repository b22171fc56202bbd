import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningApp } from '../../src/app.js';
import type { Role } from '../../src/ledger/index.js';
import { postJson, requestJson, startTestApp, type TestApp } from '../support/testApp.js';
import { recordingTill, type TillEvent } from '../support/till.js';

const DAY = 86_400_000;

/**
 * The dormant member's story through the running service, over HTTP and a real Socket.IO till:
 * dormant after 100 quiet days, their member QR scanned at the lane brings a dormant-welcome
 * prompt with a coupon, paying with it applies the discount, paying again with it is 409, and
 * the member is active afterwards. Then the cashier's one tap: a coupon held on the lane is
 * used by the member's next payment there.
 */
describe('dormant member at the counter', () => {
  let service: TestApp;
  let app: RunningApp;
  let tokens: Record<Role, string>;
  let seq = 0;
  const events: TillEvent[] = [];
  let closeTill: () => void;

  const pay = (payerId: string, amount: string, extra: { paidAtMs?: number; couponId?: string } = {}) =>
    postJson(`${app.url}/api/payments`, tokens.pos, {
      orderId: `dw-${++seq}`,
      lane: 'lane1',
      channel: 'alipay',
      appId: 'dw-app',
      payerId,
      amount,
      paidAt: new Date(extra.paidAtMs ?? Date.now()).toISOString(),
      ...(extra.couponId === undefined ? {} : { couponId: extra.couponId }),
    });
  const get = (path: string) => requestJson(`${app.url}${path}`, tokens.admin, 'GET');
  const scanMemberQr = async (memberId: string) => {
    const qr = await get(`/api/members/${memberId}/qr`);
    expect(qr.status).toBe(200);
    return postJson(`${app.url}/api/lanes/lane1/scans`, tokens.device, { code: qr.body.code });
  };
  const until = async <T>(what: string, find: () => T | undefined): Promise<T> => {
    const deadline = Date.now() + 5000;
    for (;;) {
      const found = find();
      if (found !== undefined) return found;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; till saw ${events.map((e) => e.name).join(', ')}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  };

  beforeAll(async () => {
    service = await startTestApp('dormant-welcome');
    ({ app, tokens } = service);
    const till = await recordingTill(app.url, tokens.till, 'lane1', events);
    closeTill = () => till.socket.close();
  });
  afterAll(async () => {
    closeTill?.();
    await service?.stop();
  });

  it('a member quiet for 100 days is welcomed back with a coupon that pays once, and is active after', async () => {
    const now = Date.now();
    // Three purchases (a new member's one would keep them 'new') that ended 100 days ago.
    const memberId = (await pay('sleepy', '80.00', { paidAtMs: now - 104 * DAY })).body.memberId as string;
    await pay('sleepy', '80.00', { paidAtMs: now - 102 * DAY });
    await pay('sleepy', '80.00', { paidAtMs: now - 100 * DAY });
    expect((await get(`/api/members/${memberId}`)).body.segment.lifecycle).toBe('dormant');

    const scan = await scanMemberQr(memberId);
    expect(scan.status).toBe(200);
    const event = await until('the scan on the till', () => events.find((e) => e.name === 'scan:classified' && e.payload.memberId === memberId));
    const welcome = event.payload.prompts.find((p: { kind: string }) => p.kind === 'dormant-welcome');
    expect(welcome).toMatchObject({ message: '100天未到店，送您¥10回归券', messageEn: '100 days since the last visit: a ¥10 off welcome-back coupon', amountFen: 1000 });
    expect(welcome.couponId).toMatch(/^cp_/);
    expect(scan.body.prompts).toEqual(event.payload.prompts);
    // Nothing private on the till: no phone, no payer id.
    expect(JSON.stringify(event.payload)).not.toMatch(/sleepy|1[3-9]\d{9}/);

    // Scanned again in the same visit: the prompt is not repeated.
    await scanMemberQr(memberId);
    const second = await until('the second scan', () => events.filter((e) => e.name === 'scan:classified' && e.payload.memberId === memberId)[1]);
    expect(second.payload.prompts).toEqual([]);

    const paid = await pay('sleepy', '100.00', { couponId: welcome.couponId });
    expect(paid.status, JSON.stringify(paid.body)).toBe(201);
    expect(paid.body.coupon).toMatchObject({ couponId: welcome.couponId, orderYuan: 100, discountYuan: 10, paidYuan: 90 });
    const linked = await until('payment:linked', () => events.find((e) => e.name === 'payment:linked' && e.payload.orderId === paid.body.orderId));
    expect(linked.payload).toMatchObject({ amount: 90, coupon: { couponId: welcome.couponId, discountYuan: 10 } });

    const again = await pay('sleepy', '100.00', { couponId: welcome.couponId });
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe('COUPON_USED');
    expect((await get(`/api/members/${memberId}`)).body.segment.lifecycle).toBe('active');
    const coupons = (await get(`/api/members/${memberId}/coupons`)).body.coupons;
    // Beside it, the join gift of the payment that made them a member 104 days ago.
    expect(coupons).toContainEqual(expect.objectContaining({ couponId: welcome.couponId, status: 'redeemed' }));
  });

  it('one tap on the till holds a coupon for the member\'s next payment at the lane', async () => {
    const memberId = (await pay('tapper', '10.00')).body.memberId as string;
    const batch = await postJson(`${app.url}/api/coupons/batches`, tokens.admin, {
      batchId: 'tap-1',
      segment: { lifecycle: 'new' },
      coupon: { title: '到店券', amountOffYuan: 8, minSpendYuan: 30, validDays: 3 },
    });
    expect(batch.status, JSON.stringify(batch.body)).toBe(201);
    const couponId = (await get(`/api/members/${memberId}/coupons`)).body.coupons[0].couponId as string;
    const held = await postJson(`${app.url}/api/lanes/lane1/coupons`, tokens.till, { couponId });
    expect(held.status, JSON.stringify(held.body)).toBe(200);
    expect(held.body).toMatchObject({ lane: 'lane1', couponId, memberId });
    // Another payer's payment at the lane leaves it alone; the member's own uses it.
    const other = await pay('someone-else', '50.00');
    expect(other.body.coupon).toBeNull();
    const mine = await pay('tapper', '50.00');
    expect(mine.body.coupon).toMatchObject({ couponId, discountYuan: 8, paidYuan: 42 });
    const tapAgain = await postJson(`${app.url}/api/lanes/lane1/coupons`, tokens.till, { couponId });
    expect(tapAgain.status).toBe(409);
  });
});
