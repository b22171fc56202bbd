import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/ledger/database.js';
import { newMemberId } from '../../src/ledger/ids.js';
import { settingsSchema } from '../../src/config/settingsSchema.js';
import { derivePayerKeySecret, MemberStore, PayerIdentity, type RecordPaymentInput } from '../../src/ledger/index.js';
import { storeSettings, TEST_TIERS } from '../support/settings.js';
import { tempDirPerTest } from '../support/tempDir.js';
import { thrownBy } from '../support/ledgerErrors.js';

const DAY = 86_400_000;
const T0 = 1_700_000_000_000;

const settings = storeSettings(
  settingsSchema.parse({
    membership: {
      tiers: TEST_TIERS,
      rechargeTierRules: [{ minRechargeYuan: 1000, tier: '黄金' }],
      rechargeBonusRules: [
        { minYuan: 100, bonusYuan: 10 },
        { minYuan: 500, bonusYuan: 80 },
      ],
      pointsPerYuan: 1,
      pointsExpiryDays: 365,
      tierWindowDays: 365,
      tierPeriodDays: 365,
      maxAmountYuan: 50_000,
    },
  }),
);

const dir = tempDirPerTest('membership');
let dbFile: string;
let now: number;
let faceKey: Buffer;
let store: MemberStore;

beforeEach(() => {
  dbFile = join(dir.path, 'members.db');
  now = T0;
  faceKey = randomBytes(32);
  store = dir.track(MemberStore.open({ databaseFile: dbFile, faceKey, clock: () => now, ...settings }));
});

const WECHAT_APP = 'wx8888888888888888';
let orderSeq = 0;

function payment(over: Partial<RecordPaymentInput> = {}): RecordPaymentInput {
  orderSeq += 1;
  return {
    orderId: `order-${orderSeq}`,
    lane: 'lane-1',
    channel: 'wechat',
    appId: WECHAT_APP,
    payerId: 'oUpF8uMuAJO_M2pxb1Q9zNjWeS6o',
    amountYuan: 100,
    paidAtMs: now,
    ...over,
  };
}

function expectCacheMatchesEntries(memberId: string): void {
  const cached = store.membership.balances(memberId);
  const check = store.membership.recomputeBalances(memberId);
  expect(check.cacheWasCorrect).toBe(true);
  expect(check.balances).toEqual(cached);
  const entries = store.membership.entries(memberId);
  expect(cached.lifetimeSpendFen).toBe(entries.reduce((sum, e) => sum + e.spendFen, 0));
  expect(cached.points).toBe(entries.reduce((sum, e) => sum + e.points, 0));
  expect(cached.storedFen).toBe(entries.reduce((sum, e) => sum + e.storedFen, 0));
}

function databaseBytes(): Buffer {
  return Buffer.concat([dbFile, `${dbFile}-wal`].filter(existsSync).map((f) => readFileSync(f)));
}

describe('payments', () => {
  it('never creates a member id the processing log would take for a phone number', () => {
    // About 1 random hex id in 2,000 held 11 digits in a row: its first payment was refused.
    const ids = Array.from({ length: 100_000 }, () => newMemberId());
    expect(ids.filter((id) => /(?<!\d)1[3-9]\d{9}(?!\d)/.test(id))).toEqual([]);
  });

  it('makes an unknown payer a member in the base tier and maps the same payer back to them', () => {
    const first = store.membership.recordPayment(payment({ amountYuan: 88.8 }));
    expect(first).toMatchObject({
      created: true,
      duplicate: false,
      discountRateApplied: 1,
      pointsEarned: 88,
      tierBefore: '普通',
      tierAfter: '普通',
      tierChange: null,
    });
    const member = store.members.get(first.memberId);
    expect(member?.name).toBe(`会员 ${first.memberId.slice(-4)}`);
    expect(member?.phone).toBeNull();

    const second = store.membership.recordPayment(payment({ amountYuan: '11.20' }));
    expect(second).toMatchObject({ memberId: first.memberId, created: false, pointsEarned: 11 });
    expect(store.membership.lookupPayer('wechat', WECHAT_APP, 'oUpF8uMuAJO_M2pxb1Q9zNjWeS6o')).toBe(first.memberId);
    expect(store.membership.lookupPayer('wechat', WECHAT_APP, 'oUpF8uMuAJO_M2pxb1Q9zNjWeS6X')).toBeUndefined();
    expect(store.membership.memberSummary(first.memberId)).toEqual({
      tier: { name: '普通', discountRate: 1 },
      points: 99,
      balanceYuan: 0,
      spendInWindowYuan: 100,
    });
    expect(store.members.count()).toBe(1);
    expectCacheMatchesEntries(first.memberId);
  });

  it('keeps payers of different app ids apart, but an Alipay 2088 user id is one payer everywhere', () => {
    const a = store.membership.recordPayment(payment({ appId: 'wx-app-a', payerId: 'o-same-openid' }));
    const b = store.membership.recordPayment(payment({ appId: 'wx-app-b', payerId: 'o-same-openid' }));
    expect(b.created).toBe(true);
    expect(b.memberId).not.toBe(a.memberId);

    const alipayA = store.membership.recordPayment(payment({ channel: 'alipay', appId: '2021000000000001', payerId: '2088102146225135' }));
    const alipayB = store.membership.recordPayment(payment({ channel: 'alipay', appId: '2021000000000002', payerId: '2088102146225135' }));
    expect(alipayB).toMatchObject({ memberId: alipayA.memberId, created: false });
    // The same id string on another channel is another payer.
    const unionpay = store.membership.recordPayment(payment({ channel: 'unionpay', appId: 'm-1', payerId: 'o-same-openid' }));
    expect([a.memberId, b.memberId]).not.toContain(unionpay.memberId);
  });

  it('counts a repeated order once and refuses the same order id with other content', () => {
    const input = payment({ amountYuan: 300 });
    const first = store.membership.recordPayment(input);
    const again = store.membership.recordPayment({ ...input });
    expect(again).toEqual({ ...first, duplicate: true });
    for (const change of [{ amountYuan: 301 }, { payerId: 'someone-else' }, { lane: 'lane-2' }, { paidAtMs: now - 1 }]) {
      expect(thrownBy(() => store.membership.recordPayment({ ...input, ...change })).code).toBe('ORDER_CONFLICT');
    }
    expect(store.membership.balances(first.memberId)).toEqual({ lifetimeSpendFen: 30_000, points: 300, storedFen: 0 });
    expect(store.membership.entries(first.memberId).map((e) => e.kind)).toEqual(['spend', 'points-earn']);
  });

  it('refuses malformed amounts, times and identities without writing anything', () => {
    for (const amountYuan of [0, -5, 12.345, 50_000.01, '1e3']) {
      expect(thrownBy(() => store.membership.recordPayment(payment({ amountYuan }))).code).toBe('INVALID_INPUT');
    }
    expect(thrownBy(() => store.membership.recordPayment(payment({ paidAtMs: now + DAY }))).code).toBe('INVALID_INPUT');
    expect(thrownBy(() => store.membership.recordPayment(payment({ channel: 'paypal' }))).code).toBe('INVALID_INPUT');
    expect(thrownBy(() => store.membership.recordPayment(payment({ appId: '' }))).code).toBe('INVALID_INPUT');
    const error = thrownBy(() => store.membership.recordPayment(payment({ payerId: 'secret payer' })));
    expect(error.message).not.toContain('secret');
    expect(store.members.count()).toBe(0);
  });

  it('never writes a raw payer id to the database files or the audit log', () => {
    const openid = 'oRAWPAYERIDxyz0123456789abc';
    const alipayId = '2088999988887777';
    const m = store.membership.recordPayment(payment({ payerId: openid, amountYuan: 10 }));
    store.membership.recordPayment(payment({ channel: 'alipay', appId: '2021000000000001', payerId: alipayId }));
    store.membership.recordRefund({ orderId: `order-${orderSeq}`, refundId: 'r-1', amountYuan: 1 });
    store.membership.recharge({ memberId: m.memberId, amountYuan: 100, rechargeId: 'rc-1' });
    // In the WAL before any checkpoint, then in the main file after close checkpoints it.
    for (const phase of ['wal', 'closed']) {
      if (phase === 'closed') store.close();
      const bytes = databaseBytes();
      expect(bytes.length).toBeGreaterThan(0);
      for (const id of [openid, alipayId]) {
        expect(bytes.includes(Buffer.from(id, 'utf8')), `${id} in ${phase}`).toBe(false);
        expect(bytes.includes(Buffer.from(id, 'utf16le')), `${id} in ${phase}`).toBe(false);
      }
    }
    // The check above can fail: the member id written in the same way is found.
    expect(databaseBytes().includes(Buffer.from(m.memberId, 'utf8'))).toBe(true);
  });

  it('audits payments with amounts and member ids only', () => {
    const paid = store.membership.recordPayment(payment({ amountYuan: 12.5 }));
    const entries = store.audit.list({ limit: 10 });
    expect(entries.map((e) => e.action)).toEqual(['member.create', 'payment']);
    expect(entries[1]).toMatchObject({
      actor: 'lane:lane-1',
      subject: paid.memberId,
      details: { amountFen: 1250, pointsEarned: 12, memberCreated: true, tierBefore: '普通', tierAfter: '普通' },
    });
    expect(JSON.stringify(entries)).not.toContain('oUpF8u');
  });

  it('keeps the money records when a member is deleted, and the payer starts over as a new member', () => {
    const first = store.membership.recordPayment(payment({ amountYuan: 50 }));
    const payerKey = new PayerIdentity(derivePayerKeySecret(faceKey)).keyFor('wechat', WECHAT_APP, payment().payerId);
    expect(databaseBytes().includes(Buffer.from(payerKey))).toBe(true);
    store.deleteMember(first.memberId, 'admin');
    // The link from the payer to the deleted member is gone from the files, not only the table.
    expect(databaseBytes().includes(Buffer.from(payerKey))).toBe(false);
    expect(store.membership.entries(first.memberId)).toHaveLength(2);
    const next = store.membership.recordPayment(payment({ amountYuan: 20 }));
    expect(next.created).toBe(true);
    expect(next.memberId).not.toBe(first.memberId);
    expect(thrownBy(() => store.membership.memberSummary(first.memberId)).code).toBe('MEMBER_NOT_FOUND');
  });
});

describe('the ledger is append-only and the cache is derived', () => {
  it('rejects UPDATE and DELETE of entries', () => {
    store.membership.recordPayment(payment());
    const db = dir.track(openDatabase(dbFile));
    expect(() => db.prepare('UPDATE ledger_entries SET spend_fen = 1').run()).toThrow(/append-only/);
    expect(() => db.prepare('DELETE FROM ledger_entries').run()).toThrow(/append-only/);
    // The sign of each kind is enforced by the schema, not only by the code.
    expect(() =>
      db
        .prepare("INSERT INTO ledger_entries (member_id, kind, stored_fen, at_ms, recorded_at_ms) VALUES ('m', 'deduct', 5, 0, 0)")
        .run(),
    ).toThrow(/CHECK/);
  });

  it('finds and repairs a cache that disagrees with the entries', () => {
    const paid = store.membership.recordPayment(payment({ amountYuan: 40 }));
    store.membership.recharge({ memberId: paid.memberId, amountYuan: 100, rechargeId: 'rc-1' });
    expectCacheMatchesEntries(paid.memberId);
    const db = dir.track(openDatabase(dbFile));
    db.prepare('UPDATE member_balances SET stored_fen = stored_fen + 1, points = points + 7').run();
    db.prepare('UPDATE points_lots SET remaining = remaining + 7').run();
    const check = store.membership.recomputeBalances(paid.memberId);
    expect(check).toEqual({ balances: { lifetimeSpendFen: 4000, points: 40, storedFen: 11_000 }, cacheWasCorrect: false });
    expectCacheMatchesEntries(paid.memberId);
    expect(store.membership.memberSummary(paid.memberId).points).toBe(40);
  });
});

describe('refunds', () => {
  it('reverses spend and the matching points, partially and in full, once per refund id', () => {
    const paid = store.membership.recordPayment(payment({ orderId: 'o-1', amountYuan: 99.99 }));
    expect(paid.pointsEarned).toBe(99);
    const part = store.membership.recordRefund({ orderId: 'o-1', refundId: 'r-1', amountYuan: 33.33 });
    expect(part).toMatchObject({ refundedYuan: 33.33, totalRefundedYuan: 33.33, pointsReversed: 33, pointsShortfall: 0, duplicate: false });
    expect(store.membership.recordRefund({ orderId: 'o-1', refundId: 'r-1', amountYuan: 33.33 })).toEqual({ ...part, duplicate: true });
    expect(thrownBy(() => store.membership.recordRefund({ orderId: 'o-1', refundId: 'r-1', amountYuan: 1 })).code).toBe('REFUND_CONFLICT');
    expect(thrownBy(() => store.membership.recordRefund({ orderId: 'o-1', refundId: 'r-2', amountYuan: 66.67 })).code).toBe(
      'REFUND_EXCEEDS_PAYMENT',
    );
    const rest = store.membership.recordRefund({ orderId: 'o-1', refundId: 'r-2', amountYuan: 66.66 });
    expect(rest).toMatchObject({ totalRefundedYuan: 99.99, pointsReversed: 66 });
    expect(store.membership.balances(paid.memberId)).toEqual({ lifetimeSpendFen: 0, points: 0, storedFen: 0 });
    expect(thrownBy(() => store.membership.recordRefund({ orderId: 'o-unknown', refundId: 'r-3', amountYuan: 1 })).code).toBe(
      'ORDER_NOT_FOUND',
    );
    expectCacheMatchesEntries(paid.memberId);
  });

  it('takes back points already redeemed from other points, and reports what it could not take', () => {
    store.membership.recordPayment(payment({ orderId: 'o-1', amountYuan: 100 }));
    const { memberId } = store.membership.recordPayment(payment({ orderId: 'o-2', amountYuan: 30 }));
    store.membership.redeemPoints(memberId, 110, 'o-3');
    const refund = store.membership.recordRefund({ orderId: 'o-1', refundId: 'r-1', amountYuan: 100 });
    expect(refund).toMatchObject({ pointsReversed: 20, pointsShortfall: 80 });
    expect(store.membership.balances(memberId).points).toBe(0);
    expectCacheMatchesEntries(memberId);
  });

  it('re-evaluates the tier: a refund does not drop it before the period end, the period end does', () => {
    const paid = store.membership.recordPayment(payment({ orderId: 'big', amountYuan: 2500 }));
    expect(paid).toMatchObject({ tierBefore: '普通', tierAfter: '黄金', discountRateApplied: 1 });
    expect(paid.tierChange).toEqual({
      memberId: paid.memberId,
      from: { name: '普通', discountRate: 1 },
      to: { name: '黄金', discountRate: 0.95 },
      reason: 'spend',
    });
    now += DAY;
    const refund = store.membership.recordRefund({ orderId: 'big', refundId: 'r-big', amountYuan: 1000 });
    expect(refund).toMatchObject({ tier: '黄金', qualifiedTier: '普通', pointsReversed: 1000 });
    expect(store.membership.memberSummary(paid.memberId)).toMatchObject({ tier: { name: '黄金' }, spendInWindowYuan: 1500, points: 1500 });

    expect(store.membership.evaluateTierAtPeriodEnd(T0 + 364 * DAY)).toEqual([]);
    const changes = store.membership.evaluateTierAtPeriodEnd(T0 + 365 * DAY);
    expect(changes).toEqual([
      { memberId: paid.memberId, from: { name: '黄金', discountRate: 0.95 }, to: { name: '普通', discountRate: 1 }, reason: 'period-end' },
    ]);
    expect(store.membership.memberSummary(paid.memberId, T0 + 365 * DAY).tier.name).toBe('普通');
    expectCacheMatchesEntries(paid.memberId);
  });
});

describe('tiers', () => {
  it('upgrades at once when spend crosses a threshold and applies the new discount to the next order', () => {
    const first = store.membership.recordPayment(payment({ amountYuan: 1999.99 }));
    expect(first.tierAfter).toBe('普通');
    now += 1000;
    const second = store.membership.recordPayment(payment({ amountYuan: 0.01 }));
    expect(second).toMatchObject({ tierBefore: '普通', tierAfter: '黄金', discountRateApplied: 1 });
    const third = store.membership.recordPayment(payment({ amountYuan: 8000 }));
    expect(third).toMatchObject({ tierBefore: '黄金', tierAfter: '钻石', discountRateApplied: 0.95 });
    expect(third.tierChange?.to).toEqual({ name: '钻石', discountRate: 0.9 });
    const fourth = store.membership.recordPayment(payment({ amountYuan: 1 }));
    expect(fourth).toMatchObject({ discountRateApplied: 0.9, tierChange: null });
  });

  it('downgrades only at the period end, to what the rolling window still reaches', () => {
    const paid = store.membership.recordPayment(payment({ amountYuan: 10_000 }));
    expect(paid.tierAfter).toBe('钻石');
    // Spend inside the new window keeps 黄金 at the period end; the old spend has left it.
    now = T0 + 200 * DAY;
    store.membership.recordPayment(payment({ amountYuan: 2500, paidAtMs: now }));
    now = T0 + 300 * DAY;
    expect(store.membership.evaluateTierAtPeriodEnd(now)).toEqual([]);
    expect(store.membership.memberSummary(paid.memberId).tier.name).toBe('钻石');
    now = T0 + 366 * DAY;
    expect(store.membership.memberSummary(paid.memberId).spendInWindowYuan).toBe(2500);
    expect(store.membership.memberSummary(paid.memberId).tier.name).toBe('钻石');
    const changes = store.membership.evaluateTierAtPeriodEnd(now);
    expect(changes.map((c) => [c.from.name, c.to.name])).toEqual([['钻石', '黄金']]);
    // Evaluated again the same day: the new period has begun, nothing moves.
    expect(store.membership.evaluateTierAtPeriodEnd(now)).toEqual([]);
  });

  it('reaches a tier at once with one large recharge, but not with the bonus counted in', () => {
    const { memberId } = store.membership.recordPayment(payment({ amountYuan: 1 }));
    const small = store.membership.recharge({ memberId, amountYuan: 999.99, rechargeId: 'rc-1' });
    expect(small).toMatchObject({ bonusYuan: 80, tierAfter: '普通', tierChange: null });
    const big = store.membership.recharge({ memberId, amountYuan: 1000, rechargeId: 'rc-2' });
    expect(big).toMatchObject({ tierBefore: '普通', tierAfter: '黄金' });
    expect(big.tierChange).toMatchObject({ reason: 'recharge', to: { name: '黄金' } });
  });
});

describe('stored value', () => {
  it('adds the best matching bonus, once per recharge id', () => {
    const { memberId } = store.membership.recordPayment(payment({ amountYuan: 1 }));
    expect(store.membership.recharge({ memberId, amountYuan: 99, rechargeId: 'a' })).toMatchObject({ bonusYuan: 0, balanceYuan: 99 });
    expect(store.membership.recharge({ memberId, amountYuan: 100, rechargeId: 'b' })).toMatchObject({ bonusYuan: 10, balanceYuan: 209 });
    const big = store.membership.recharge({ memberId, amountYuan: 600, rechargeId: 'c' });
    expect(big).toMatchObject({ rechargedYuan: 600, bonusYuan: 80, balanceYuan: 889, duplicate: false });
    expect(store.membership.recharge({ memberId, amountYuan: 600, rechargeId: 'c' })).toMatchObject({ duplicate: true, balanceYuan: 889 });
    expect(thrownBy(() => store.membership.recharge({ memberId, amountYuan: 700, rechargeId: 'c' })).code).toBe('RECHARGE_CONFLICT');
    expect(thrownBy(() => store.membership.recharge({ memberId: 'm_nobody', amountYuan: 1, rechargeId: 'd' })).code).toBe(
      'MEMBER_NOT_FOUND',
    );
    expect(store.membership.entries(memberId).filter((e) => e.storedFen !== 0).map((e) => [e.kind, e.storedFen])).toEqual([
      ['recharge', 9900],
      ['recharge', 10_000],
      ['recharge-bonus', 1000],
      ['recharge', 60_000],
      ['recharge-bonus', 8000],
    ]);
    expectCacheMatchesEntries(memberId);
  });

  it('deducts only with confirmation and never below zero', () => {
    const { memberId } = store.membership.recordPayment(payment({ amountYuan: 1 }));
    store.membership.recharge({ memberId, amountYuan: 100, rechargeId: 'rc' });
    const confirmation = { method: 'till-confirm', staff: 'staff-7' } as const;
    const unconfirmed = [undefined, { method: 'nod', staff: 'staff-7' }, { method: 'pin', staff: ' ' }];
    for (const c of unconfirmed) {
      const input = { memberId, amountYuan: 10, orderId: 'o-1', confirmation: c as never };
      expect(thrownBy(() => store.membership.deduct(input)).code).toBe('CONFIRMATION_REQUIRED');
    }
    expect(thrownBy(() => store.membership.deduct({ memberId, amountYuan: 110.01, orderId: 'o-1', confirmation })).code).toBe(
      'INSUFFICIENT_BALANCE',
    );
    expect(store.membership.deduct({ memberId, amountYuan: 100, orderId: 'o-1', confirmation })).toEqual({
      memberId,
      orderId: 'o-1',
      deductedYuan: 100,
      balanceYuan: 10,
      duplicate: false,
    });
    expect(store.membership.deduct({ memberId, amountYuan: 100, orderId: 'o-1', confirmation }).duplicate).toBe(true);
    expect(store.membership.deduct({ memberId, amountYuan: 10, orderId: 'o-2', confirmation: { method: 'pin', staff: 's' } }).balanceYuan).toBe(0);
    expect(thrownBy(() => store.membership.deduct({ memberId, amountYuan: 0.01, orderId: 'o-3', confirmation })).code).toBe(
      'INSUFFICIENT_BALANCE',
    );
    expect(store.membership.balances(memberId).storedFen).toBe(0);
    expect(store.audit.list({ limit: 20 }).filter((e) => e.action === 'deduct')).toHaveLength(2);
    expectCacheMatchesEntries(memberId);
  });
});

describe('points', () => {
  it('redeems and expires oldest first, and never goes below zero', () => {
    const lotA = store.membership.recordPayment(payment({ amountYuan: 100, paidAtMs: T0 }));
    const { memberId } = lotA;
    now = T0 + 100 * DAY;
    store.membership.recordPayment(payment({ amountYuan: 50, paidAtMs: now }));
    expect(store.membership.redeemPoints(memberId, 30, 'redeem-1')).toMatchObject({ pointsLeft: 120, duplicate: false });
    expect(store.membership.redeemPoints(memberId, 30, 'redeem-1')).toMatchObject({ pointsLeft: 120, duplicate: true });
    expect(thrownBy(() => store.membership.redeemPoints(memberId, 121, 'redeem-2')).code).toBe('INSUFFICIENT_POINTS');

    // Lot A (earned at T0) expires at T0 + 365 days: the popup stops counting it at once,
    // and the sweep writes the expiry entry for the 70 left of it.
    now = T0 + 365 * DAY;
    expect(store.membership.memberSummary(memberId).points).toBe(50);
    expect(store.membership.expirePoints(now)).toEqual({ pointsExpired: 70, members: [{ memberId, points: 70 }] });
    expect(store.membership.expirePoints(now)).toEqual({ pointsExpired: 0, members: [] });
    expect(store.membership.balances(memberId).points).toBe(50);
    expect(thrownBy(() => store.membership.redeemPoints(memberId, 51, 'redeem-3')).code).toBe('INSUFFICIENT_POINTS');
    expect(store.membership.redeemPoints(memberId, 50, 'redeem-4').pointsLeft).toBe(0);

    const kinds = store.membership.entries(memberId).map((e) => [e.kind, e.points, e.lotEntryId]);
    const [, earnA, , earnB] = store.membership.entries(memberId).map((e) => e.id);
    expect(kinds).toEqual([
      ['spend', 0, null],
      ['points-earn', 100, null],
      ['spend', 0, null],
      ['points-earn', 50, null],
      ['points-redeem', -30, earnA],
      ['points-expire', -70, earnA],
      ['points-redeem', -50, earnB],
    ]);
    expectCacheMatchesEntries(memberId);
  });
});
