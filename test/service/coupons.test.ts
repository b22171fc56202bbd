import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningApp } from '../../src/app.js';
import type { Role } from '../../src/ledger/index.js';
import { postJson, requestJson, startTestApp, type TestApp } from '../support/testApp.js';
import { recordingTill, type TillEvent } from '../support/till.js';

/**
 * Coupons and campaign rules through the REST API of the running service: an admin batch to
 * a tagged segment (idempotent, skipping members who opted out), a member's coupon list,
 * paying with a coupon (the answer says what it took off; a second use is 409, another
 * member's coupon 403), the campaign rules read, validated, saved and audited.
 */
describe('coupons and campaign rules over the API', () => {
  let service: TestApp;
  let app: RunningApp;
  let tokens: Record<Role, string>;
  let seq = 0;

  const pay = (payerId: string, amount: string, couponId?: string) =>
    postJson(`${app.url}/api/payments`, tokens.pos, {
      orderId: `cp-${++seq}`,
      lane: 'lane1',
      channel: 'wechat',
      appId: 'cp-app',
      payerId,
      amount,
      paidAt: new Date().toISOString(),
      ...(couponId === undefined ? {} : { couponId }),
    });
  const get = (path: string, token = tokens.admin) => requestJson(`${app.url}${path}`, token, 'GET');

  beforeAll(async () => {
    service = await startTestApp('coupons');
    ({ app, tokens } = service);
  });
  afterAll(async () => {
    await service?.stop();
  });

  it('a batch to a tag issues once per member, skips who opted out, and the coupon pays once', async () => {
    const alice = (await pay('alice', '20.00')).body.memberId as string;
    const bob = (await pay('bob', '20.00')).body.memberId as string;
    const carol = (await pay('carol', '20.00')).body.memberId as string;
    for (const id of [alice, bob, carol]) expect((await postJson(`${app.url}/api/members/${id}/tags`, tokens.admin, { tag: '周末' })).status).toBe(201);
    const optOut = await requestJson(`${app.url}/api/members/${carol}`, tokens.admin, 'PATCH', { marketingOptOut: true });
    expect(optOut.status, JSON.stringify(optOut.body)).toBe(200);
    expect(optOut.body.marketing).toEqual({ marketingOptOut: true, birthday: null });

    const batch = { batchId: 'weekend-1', segment: { tag: '周末' }, coupon: { title: '周末券', amountOffYuan: 15, minSpendYuan: 100, validDays: 7 } };
    const first = await postJson(`${app.url}/api/coupons/batches`, tokens.admin, batch);
    expect(first.status, JSON.stringify(first.body)).toBe(201);
    expect(first.body).toMatchObject({ batchId: 'weekend-1', issued: 2, skipped: 0, optedOut: 1, duplicate: false });
    const again = await postJson(`${app.url}/api/coupons/batches`, tokens.admin, batch);
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ issued: 2, duplicate: true });
    const conflict = await postJson(`${app.url}/api/coupons/batches`, tokens.admin, { ...batch, coupon: { ...batch.coupon, amountOffYuan: 50 } });
    expect(conflict.status).toBe(409);
    expect(conflict.body.error.code).toBe('BATCH_CONFLICT');
    // Each also holds the join gift of the payment that made them a member.
    const fromBatch = (coupons: any[]): any[] => coupons.filter((c) => c.source === 'batch');
    expect(fromBatch((await get(`/api/members/${carol}/coupons`)).body.coupons)).toEqual([]);

    const list = await get(`/api/members/${alice}/coupons`, tokens.pos);
    expect(list.status).toBe(200);
    expect(fromBatch(list.body.coupons)).toHaveLength(1);
    const coupon = fromBatch(list.body.coupons)[0];
    expect(coupon).toMatchObject({ title: '周末券', kind: 'amount', amountOffYuan: 15, minSpendYuan: 100, status: 'available', source: 'batch' });

    const below = await pay('alice', '99.99', coupon.couponId);
    expect(below.status).toBe(422);
    expect(below.body.error.code).toBe('COUPON_MIN_SPEND');
    const notBobs = await pay('bob', '120.00', coupon.couponId);
    expect(notBobs.status).toBe(403);
    expect(notBobs.body.error.code).toBe('COUPON_OTHER_MEMBER');

    const paid = await pay('alice', '120.00', coupon.couponId);
    expect(paid.status, JSON.stringify(paid.body)).toBe(201);
    expect(paid.body.coupon).toEqual({ couponId: coupon.couponId, title: '周末券', orderYuan: 120, discountYuan: 15, paidYuan: 105 });
    expect(paid.body.pointsEarned).toBe(105);
    const reused = await pay('alice', '120.00', coupon.couponId);
    expect(reused.status).toBe(409);
    expect(reused.body.error.code).toBe('COUPON_USED');
    const after = fromBatch((await get(`/api/members/${alice}/coupons`)).body.coupons)[0];
    expect(after.status).toBe('redeemed');
    expect(after.redeemed).toMatchObject({ orderId: paid.body.orderId, discountYuan: 15 });
  });

  it('a batch must name a segment, and refuses malformed coupon terms naming the field', async () => {
    const noSegment = await postJson(`${app.url}/api/coupons/batches`, tokens.admin, { batchId: 'b-x', segment: {}, coupon: { title: 'x', amountOffYuan: 1, validDays: 1 } });
    expect(noSegment.status).toBe(400);
    expect(noSegment.body.error.message).toMatch(/segment/);
    const both = await postJson(`${app.url}/api/coupons/batches`, tokens.admin, { batchId: 'b-y', segment: { lifecycle: 'new' }, coupon: { title: 'x', amountOffYuan: 1, rate: 0.9, validDays: 1 } });
    expect(both.status).toBe(400);
    expect(both.body.error.message).toMatch(/coupon\.amountOffYuan/);
    const unknownLifecycle = await postJson(`${app.url}/api/coupons/batches`, tokens.admin, { batchId: 'b-z', segment: { lifecycle: 'sleepy' }, coupon: { title: 'x', amountOffYuan: 1, validDays: 1 } });
    expect(unknownLifecycle.status).toBe(400);
    expect(unknownLifecycle.body.error.message).toMatch(/segment\.lifecycle/);
  });

  it('campaign rules: settings defaults, an admin saves validated rules over them, audited; others may not', async () => {
    const before = await get('/api/campaigns/rules');
    expect(before.status).toBe(200);
    expect(before.body.source).toBe('settings');
    expect(before.body.rules.dormantWelcome).toMatchObject({ enabled: true, coupon: { title: '回归券', amountOffYuan: 10 } });

    const rules = structuredClone(before.body.rules);
    rules.dormantWelcome.coupon.amountOffYuan = 12;
    rules.checkIn.points = 5;
    const bad = await requestJson(`${app.url}/api/campaigns/rules`, tokens.admin, 'PUT', { ...rules, nearTier: { ...rules.nearTier, withinYuan: -3 } });
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toMatch(/nearTier\.withinYuan/);
    expect((await requestJson(`${app.url}/api/campaigns/rules`, tokens.till, 'PUT', rules)).status).toBe(403);

    const saved = await requestJson(`${app.url}/api/campaigns/rules`, tokens.admin, 'PUT', rules);
    expect(saved.status, JSON.stringify(saved.body)).toBe(200);
    expect(saved.body).toMatchObject({ source: 'saved', rules: { dormantWelcome: { coupon: { amountOffYuan: 12 } }, checkIn: { points: 5 } } });
    const read = await get('/api/campaigns/rules');
    expect(read.body.rules).toEqual(saved.body.rules);
    expect(app.core.store.audit.listByAction('campaign.rules', { limit: 5 })).toHaveLength(1);
  });

  it('refuses hostile rule bodies with a 400 naming the problem, and keeps the rules', async () => {
    const before = (await get('/api/campaigns/rules')).body.rules;
    const put = (body: string) =>
      fetch(`${app.url}/api/campaigns/rules`, { method: 'PUT', headers: { authorization: `Bearer ${tokens.admin}`, 'content-type': 'application/json' }, body });
    for (const body of ['null', '[]', '"rules"', '{"joinGift": 1}', '{"dormantWelcome": {"coupon": {"title": "回归\\u202e券", "amountOffYuan": 10, "validDays": 3}}}', `{"x":${'['.repeat(5000)}${']'.repeat(5000)}}`]) {
      const res = await put(body);
      expect(res.status, body.slice(0, 60)).toBe(400);
      expect(Object.keys((await res.json()) as object)).toEqual(['error']);
    }
    expect((await get('/api/campaigns/rules')).body.rules).toEqual(before);
  });

  it('老带新 at the lane: a member QR scanned, then a first-time payer pays; both get their coupon, once', async () => {
    const events: TillEvent[] = [];
    const till = await recordingTill(app.url, tokens.till, 'lane1', events);
    try {
      const referrer = (await pay('erin', '20.00')).body.memberId as string;
      const qr = await get(`/api/members/${referrer}/qr`);
      expect((await postJson(`${app.url}/api/lanes/lane1/scans`, tokens.device, { code: qr.body.code })).status).toBe(200);
      const newcomer = await pay('frank-first-time', '30.00');
      expect(newcomer.body.created).toBe(true);
      const deadline = Date.now() + 5000;
      let linked: TillEvent | undefined;
      while (!(linked = events.find((e) => e.name === 'payment:linked' && e.payload.orderId === newcomer.body.orderId)) && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 20));
      }
      expect(linked?.payload.prompts.map((p: { kind: string }) => p.kind)).toContain('referral');
      const titles = async (id: string) => ((await get(`/api/members/${id}/coupons`)).body.coupons as { title: string }[]).map((c) => c.title).sort();
      expect(await titles(newcomer.body.memberId)).toEqual(['好友礼券', '新会员礼券']);
      expect(await titles(referrer)).toEqual(['推荐奖励券', '新会员礼券']);

      // The QR was used up: the next first-time payer at the lane is nobody's referral; and a
      // member who scans their own QR and pays refers nobody.
      const later = await pay('gina-first-time', '30.00');
      expect(await titles(later.body.memberId)).toEqual(['新会员礼券']);
      expect((await postJson(`${app.url}/api/lanes/lane1/scans`, tokens.device, { code: (await get(`/api/members/${referrer}/qr`)).body.code })).status).toBe(200);
      await pay('erin', '30.00');
      expect(await titles(referrer)).toEqual(['推荐奖励券', '新会员礼券']);
    } finally {
      till.socket.close();
    }
  });

  it('a birthday is stored only with the member\'s agreement, and shows on the member detail', async () => {
    const dave = (await pay('dave', '20.00')).body.memberId as string;
    const noAgreement = await requestJson(`${app.url}/api/members/${dave}`, tokens.admin, 'PATCH', { birthday: { monthDay: '03-14' } });
    expect(noAgreement.status).toBe(400);
    expect(noAgreement.body.error.message).toMatch(/birthday\.agreed/);
    const noSuchDay = await requestJson(`${app.url}/api/members/${dave}`, tokens.admin, 'PATCH', { birthday: { monthDay: '02-30', agreed: true } });
    expect(noSuchDay.status).toBe(400);
    const given = await requestJson(`${app.url}/api/members/${dave}`, tokens.admin, 'PATCH', { birthday: { monthDay: '03-14', agreed: true } });
    expect(given.status).toBe(200);
    expect(given.body.marketing.birthday.monthDay).toBe('03-14');
    expect((await get(`/api/members/${dave}`)).body.marketing).toMatchObject({ marketingOptOut: false, birthday: { monthDay: '03-14' } });
    const forgotten = await requestJson(`${app.url}/api/members/${dave}`, tokens.admin, 'PATCH', { birthday: null });
    expect(forgotten.body.marketing.birthday).toBeNull();
    expect((await requestJson(`${app.url}/api/members/m_nobody`, tokens.admin, 'PATCH', { marketingOptOut: true })).status).toBe(404);
  });
});
