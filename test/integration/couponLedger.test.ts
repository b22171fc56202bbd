import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { settingsSchema } from '../../src/config/settingsSchema.js';
import { openDatabase } from '../../src/ledger/database.js';
import { MemberStore, type RecordPaymentInput } from '../../src/ledger/index.js';
import { couponFromTerms } from '../../src/operations/coupons.js';
import { storeSettings } from '../support/settings.js';
import { tempDirPerTest } from '../support/tempDir.js';
import { thrownBy } from '../support/ledgerErrors.js';

const DAY = 86_400_000;
const T0 = 1_700_000_000_000;
const settings = storeSettings(settingsSchema.parse({}));

const dir = tempDirPerTest('coupons');
let now: number;
let store: MemberStore;
let dbFile: string;
let seq = 0;

beforeEach(() => {
  now = T0;
  dbFile = join(dir.path, 'members.db');
  store = dir.track(MemberStore.open({ databaseFile: dbFile, faceKey: randomBytes(32), clock: () => now, ...settings }));
});

function payment(payerId: string, amountYuan: number | string, over: Partial<RecordPaymentInput> = {}): RecordPaymentInput {
  return { orderId: `o-${++seq}`, lane: 'lane-1', channel: 'wechat', appId: 'wx-app', payerId, amountYuan, paidAtMs: now, ...over };
}

/** A member made by a first payment, and a ¥10-off coupon (min ¥50, 14 days) issued to them. */
function memberWithCoupon(payerId = 'payer-a', terms = { title: '回归券', amountOffYuan: 10, minSpendYuan: 50, validDays: 14 }) {
  const memberId = store.membership.recordPayment(payment(payerId, 20)).memberId;
  const { coupon } = store.coupons.issue({ ...couponFromTerms(terms, now), memberId, source: 'rule', sourceRef: `dormant-welcome:${payerId}` });
  return { memberId, coupon };
}

describe('coupon ledger', () => {
  it('issues once per source and member', () => {
    const { memberId, coupon } = memberWithCoupon();
    const again = store.coupons.issue({ ...couponFromTerms({ title: 'x', amountOffYuan: 5, minSpendYuan: 0, validDays: 1 }, now), memberId, source: 'rule', sourceRef: 'dormant-welcome:payer-a' });
    expect(again.created).toBe(false);
    expect(again.coupon.couponId).toBe(coupon.couponId);
    expect(store.coupons.forMember(memberId)).toHaveLength(1);
  });

  it('redeems with the payment in one transaction: the spend is the order less the discount, once', () => {
    const { memberId, coupon } = memberWithCoupon();
    const paid = store.coupons.recordPaymentWithCoupon(payment('payer-a', 100, { orderId: 'with-coupon' }), coupon.couponId);
    expect(paid.coupon).toEqual({ couponId: coupon.couponId, title: '回归券', orderYuan: 100, discountYuan: 10, paidYuan: 90 });
    expect(paid.result.memberId).toBe(memberId);
    expect(paid.result.pointsEarned).toBe(90);
    expect(store.membership.balances(memberId).lifetimeSpendFen).toBe(2000 + 9000);
    // The same order again gets the first answer; another order gets COUPON_USED.
    const retry = store.coupons.recordPaymentWithCoupon(payment('payer-a', 100, { orderId: 'with-coupon' }), coupon.couponId);
    expect(retry.result.duplicate).toBe(true);
    expect(retry.coupon.discountYuan).toBe(10);
    expect(thrownBy(() => store.coupons.recordPaymentWithCoupon(payment('payer-a', 100), coupon.couponId)).code).toBe('COUPON_USED');
    expect(store.membership.balances(memberId).lifetimeSpendFen).toBe(11_000);
    expect(store.coupons.get(coupon.couponId)!.redeemed).toMatchObject({ orderId: 'with-coupon', orderFen: 10_000, discountFen: 1000 });
  });

  it('refuses another member\'s coupon, an expired one and an order below the minimum, recording no payment', () => {
    const { memberId, coupon } = memberWithCoupon();
    store.membership.recordPayment(payment('payer-b', 20));
    const spendBefore = store.membership.balances(memberId).lifetimeSpendFen;
    expect(thrownBy(() => store.coupons.recordPaymentWithCoupon(payment('payer-b', 100), coupon.couponId)).code).toBe('COUPON_OTHER_MEMBER');
    expect(thrownBy(() => store.coupons.recordPaymentWithCoupon(payment('first-time', 100), coupon.couponId)).code).toBe('COUPON_OTHER_MEMBER');
    expect(thrownBy(() => store.coupons.recordPaymentWithCoupon(payment('payer-a', 49.99), coupon.couponId)).code).toBe('COUPON_MIN_SPEND');
    expect(thrownBy(() => store.coupons.recordPaymentWithCoupon(payment('payer-a', 100), 'cp_nope')).code).toBe('COUPON_NOT_FOUND');
    now += 14 * DAY;
    expect(thrownBy(() => store.coupons.recordPaymentWithCoupon(payment('payer-a', 100, { paidAtMs: now }), coupon.couponId)).code).toBe('COUPON_EXPIRED');
    expect(store.membership.balances(memberId).lifetimeSpendFen).toBe(spendBefore);
    expect(store.coupons.get(coupon.couponId)!.redeemed).toBeNull();
  });

  it('a rate coupon takes off the order times (1 − rate), leaving at least a fen to pay', () => {
    const { coupon } = memberWithCoupon('payer-r', { title: '九折券', rate: 0.9, minSpendYuan: 0, validDays: 7 } as never);
    const paid = store.coupons.recordPaymentWithCoupon(payment('payer-r', '123.45'), coupon.couponId);
    expect(paid.coupon.discountYuan).toBe(12.34);
    expect(paid.coupon.paidYuan).toBe(111.11);
  });

  it('records expiries once, and never for a redeemed coupon', () => {
    const a = memberWithCoupon('payer-a');
    const b = memberWithCoupon('payer-b');
    store.coupons.recordPaymentWithCoupon(payment('payer-a', 60), a.coupon.couponId);
    now += 15 * DAY;
    expect(store.coupons.expireDue()).toBe(1);
    expect(store.coupons.expireDue()).toBe(0);
    expect(store.coupons.get(b.coupon.couponId)!.expiredAtMs).toBe(now);
    expect(store.coupons.get(a.coupon.couponId)!.expiredAtMs).toBeNull();
  });

  it('batches are idempotent by id and refuse the same id with other content', () => {
    const m1 = store.membership.recordPayment(payment('p1', 20)).memberId;
    const m2 = store.membership.recordPayment(payment('p2', 20)).memberId;
    const coupon = couponFromTerms({ title: '周末券', amountOffYuan: 5, minSpendYuan: 20, validDays: 3 }, now);
    const batch = { batchId: 'b-1', requestDigest: 'd1', filter: { tag: 'vip' }, terms: {}, memberIds: [m1, m2], coupon, actor: 'admin' };
    expect(store.coupons.issueBatch(batch)).toEqual({ batchId: 'b-1', issued: 2, skipped: 0, duplicate: false });
    expect(store.coupons.issueBatch(batch)).toEqual({ batchId: 'b-1', issued: 2, skipped: 0, duplicate: true });
    expect(thrownBy(() => store.coupons.issueBatch({ ...batch, requestDigest: 'd2' })).code).toBe('BATCH_CONFLICT');
    expect(store.coupons.forMember(m1)).toHaveLength(1);
  });

  it('the coupon ledger is append-only, and one coupon per order', () => {
    const { coupon } = memberWithCoupon();
    store.coupons.recordPaymentWithCoupon(payment('payer-a', 60, { orderId: 'o-x' }), coupon.couponId);
    store.close();
    const db = openDatabase(dbFile);
    try {
      expect(() => db.prepare("UPDATE coupons SET min_spend_fen = 0").run()).toThrow(/written once/);
      expect(() => db.prepare('DELETE FROM coupon_events').run()).toThrow(/append-only/);
      expect(() => db.prepare("UPDATE coupon_events SET discount_fen = 1 WHERE kind = 'redeemed'").run()).toThrow(/append-only/);
      expect(() =>
        db.prepare("INSERT INTO coupon_events (coupon_id, member_id, kind, order_id, order_fen, discount_fen, at_ms) VALUES (?, 'm', 'redeemed', 'o-y', 100, 1, 0)").run(coupon.couponId),
      ).toThrow(/UNIQUE/);
    } finally {
      db.close();
    }
  });
});
