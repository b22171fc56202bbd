import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { settingsSchema } from '../../src/config/settingsSchema.js';
import { createLogger } from '../../src/core/logger.js';
import { MemberStore } from '../../src/ledger/index.js';
import { couponFromTerms } from '../../src/operations/coupons.js';
import { CampaignService } from '../../src/services/campaignService.js';
import { SegmentService } from '../../src/services/segmentService.js';
import { storeSettings } from '../support/settings.js';
import { tempDirPerTest } from '../support/tempDir.js';

const DAY = 86_400_000;
// Noon, local time, so the store's day does not change while a test moves the clock by hours.
const T0 = new Date(2026, 2, 10, 12, 0, 0).getTime();
const WINDOW_MS = 30 * 60_000;
const settings = settingsSchema.parse({
  membership: { rechargeBonusRules: [{ minYuan: 100, bonusYuan: 10 }, { minYuan: 500, bonusYuan: 80 }] },
  campaigns: { visitWindowMs: WINDOW_MS, rules: { checkIn: { points: 5 } } },
});

/**
 * Each campaign rule on a fixed clock, against a real SQLite ledger: it fires once, not twice,
 * and never for a member who opted out of marketing.
 */
const dir = tempDirPerTest('campaigns');
let now: number;
let store: MemberStore;
let campaigns: CampaignService;
let seq = 0;

beforeEach(() => {
  now = T0;
  const log = createLogger('silent');
  store = dir.track(MemberStore.open({ databaseFile: join(dir.path, 'm.db'), faceKey: randomBytes(32), clock: () => now, ...storeSettings(settings) }));
  const segments = new SegmentService({ store, settings: settings.segments, log, clock: () => now });
  campaigns = new CampaignService({ store, segments, settings: settings.campaigns, rechargeBonusRules: settings.membership.rechargeBonusRules, log, clock: () => now });
});

/** A member made by paying `amounts` yuan at the times given (default: now). */
function member(payer: string, amounts: Array<[number, number?]> = [[20]]): string {
  let id = '';
  for (const [amount, at] of amounts) {
    id = store.membership.recordPayment({ orderId: `o-${++seq}`, lane: 'l1', channel: 'wechat', appId: 'app', payerId: payer, amountYuan: amount, paidAtMs: at ?? now }).memberId;
  }
  return id;
}
const optOut = (id: string) => store.campaigns.setMarketingOptOut(id, true, now);
const kinds = (prompts: { kind: string }[]) => prompts.map((p) => p.kind);
/** A later visit: past the visit window. */
const nextVisit = (ms = WINDOW_MS + 60_000) => {
  now += ms;
};

describe('check-in (签到)', () => {
  it('counts the first recognized visit of a day once, with points and a streak', () => {
    const id = member('a');
    const pointsBefore = store.membership.balances(id).points;
    expect(campaigns.atCounter(id, 'l1', 'face').filter((p) => p.kind === 'check-in')).toEqual([{ kind: 'check-in', message: '签到成功，+5积分', messageEn: 'Checked in, +5 points' }]);
    expect(campaigns.atCounter(id, 'l1', 'member-qr').filter((p) => p.kind === 'check-in')).toEqual([]);
    nextVisit(2 * 3_600_000);
    expect(kinds(campaigns.atCounter(id, 'l1', 'face'))).not.toContain('check-in');
    expect(store.membership.balances(id).points).toBe(pointsBefore + 5);
    nextVisit(DAY);
    expect(campaigns.atCounter(id, 'l1', 'face').find((p) => p.kind === 'check-in')?.message).toBe('签到成功，连续2天，+5积分');
  });

  it('a phone number typed in is a visit but no check-in; the face later that day is', () => {
    const id = member('a2');
    expect(kinds(campaigns.atCounter(id, 'l1', 'phone'))).not.toContain('check-in');
    nextVisit();
    expect(kinds(campaigns.atCounter(id, 'l1', 'face'))).toContain('check-in');
    expect(store.campaigns.visitDays(id, 5)).toHaveLength(1);
  });

  it('a member who opted out is counted as a visitor but gets no check-in and no points', () => {
    const id = member('b');
    optOut(id);
    const points = store.membership.balances(id).points;
    expect(kinds(campaigns.atCounter(id, 'l1', 'face'))).not.toContain('check-in');
    expect(store.campaigns.visitDays(id, 5)).toHaveLength(1);
    expect(store.membership.balances(id).points).toBe(points);
  });
});

describe('dormant welcome (沉睡唤醒)', () => {
  const dormantMember = (payer: string) => member(payer, [[300, T0 - 4 * DAY], [300, T0 - 2 * DAY], [300, T0]]);

  it('a dormant member seen gets a welcome-back coupon once per dormancy', () => {
    const id = dormantMember('c');
    expect(kinds(campaigns.atCounter(id, 'l1', 'face'))).not.toContain('dormant-welcome');
    now = T0 + 73 * DAY;
    const [welcome] = campaigns.atCounter(id, 'l1', 'member-qr').filter((p) => p.kind === 'dormant-welcome');
    expect(welcome).toMatchObject({ message: '73天未到店，送您¥10回归券', amountFen: 1000 });
    expect(store.coupons.get(welcome!.couponId!)).toMatchObject({ memberId: id, amountOffFen: 1000, minSpendFen: 5000 });
    nextVisit();
    const later = campaigns.atCounter(id, 'l1', 'face');
    expect(kinds(later)).not.toContain('dormant-welcome');
    // The coupon is still theirs to use: it is offered, not issued again.
    expect(later.filter((p) => p.kind === 'coupon-available').map((p) => p.couponId)).toEqual([welcome!.couponId]);
    expect(store.coupons.forMember(id)).toHaveLength(1);
  });

  it('a new dormancy after a purchase brings a new coupon', () => {
    const id = dormantMember('d');
    now = T0 + 80 * DAY;
    expect(kinds(campaigns.atCounter(id, 'l1', 'face'))).toContain('dormant-welcome');
    member('d', [[100]]);
    now += 90 * DAY;
    nextVisit();
    expect(kinds(campaigns.atCounter(id, 'l1', 'face'))).toContain('dormant-welcome');
    expect(store.coupons.forMember(id)).toHaveLength(2);
  });

  it('never for a member who opted out', () => {
    const id = dormantMember('e');
    optOut(id);
    now = T0 + 100 * DAY;
    expect(campaigns.atCounter(id, 'l1', 'face')).toEqual([]);
    expect(store.coupons.forMember(id)).toEqual([]);
  });
});

describe('birthday', () => {
  const md = (ms: number) => { const d = new Date(ms); return `${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`; };

  it('greets in the birthday week with a coupon once a year, never saying the date', () => {
    const id = member('f');
    store.campaigns.setBirthday(id, { monthDay: md(T0 + 2 * DAY), agreedAtMs: now }, now);
    const [greeting] = campaigns.atCounter(id, 'l1', 'face').filter((p) => p.kind === 'birthday');
    expect(greeting).toMatchObject({ message: '本周生日，送您¥20生日券', amountFen: 2000 });
    expect(JSON.stringify(greeting)).not.toContain(md(T0 + 2 * DAY));
    nextVisit(DAY);
    expect(kinds(campaigns.atCounter(id, 'l1', 'face'))).not.toContain('birthday');
    now = T0 + 365 * DAY;
    expect(kinds(campaigns.atCounter(id, 'l1', 'face'))).toContain('birthday');
  });

  it('outside the window, without a birthday, or opted out: nothing', () => {
    const far = member('g');
    store.campaigns.setBirthday(far, { monthDay: md(T0 + 10 * DAY), agreedAtMs: now }, now);
    const none = member('h');
    const out = member('i');
    store.campaigns.setBirthday(out, { monthDay: md(T0), agreedAtMs: now }, now);
    optOut(out);
    for (const id of [far, none, out]) expect(kinds(campaigns.atCounter(id, 'l1', 'face'))).not.toContain('birthday');
  });

  it('as a points multiplier: the first payment in the window earns the multiple, once a year', async () => {
    await campaigns.saveRules({ ...campaigns.rules(), birthday: { ...campaigns.rules().birthday, reward: 'points-multiplier', pointsMultiplier: 3 } }, 'admin');
    const id = member('j');
    store.campaigns.setBirthday(id, { monthDay: md(T0), agreedAtMs: now }, now);
    expect(campaigns.atCounter(id, 'l1', 'face').find((p) => p.kind === 'birthday')?.message).toBe('本周生日，今天消费积分3倍');
    const points = store.membership.balances(id).points;
    campaigns.afterPayment({ memberId: id, orderId: 'bd-1', lane: 'l1', created: false, paidFen: 10_000, pointsEarned: 100 });
    campaigns.afterPayment({ memberId: id, orderId: 'bd-2', lane: 'l1', created: false, paidFen: 10_000, pointsEarned: 100 });
    expect(store.membership.balances(id).points).toBe(points + 200);
  });
});

describe('near next tier', () => {
  it('says how much more reaches the next tier, once per visit', () => {
    const id = member('k', [[1915]]);
    expect(campaigns.atCounter(id, 'l1', 'face').filter((p) => p.kind === 'near-tier')).toEqual([
      { kind: 'near-tier', message: '再消费¥85升黄金', messageEn: '¥85 more to reach 黄金', amountFen: 8500 },
    ]);
    expect(kinds(campaigns.atCounter(id, 'l1', 'face'))).not.toContain('near-tier');
    nextVisit();
    expect(kinds(campaigns.atCounter(id, 'l1', 'face'))).toContain('near-tier');
  });

  it('not when far from it, and not for a member who opted out', () => {
    const far = member('l', [[500]]);
    const out = member('m', [[1950]]);
    optOut(out);
    expect(kinds(campaigns.atCounter(far, 'l1', 'face'))).not.toContain('near-tier');
    expect(kinds(campaigns.atCounter(out, 'l1', 'face'))).not.toContain('near-tier');
  });
});

describe('points expiring', () => {
  it('mentions points that expire within the window, once per visit', () => {
    const id = member('n', [[150]]);
    expect(kinds(campaigns.atCounter(id, 'l1', 'face'))).not.toContain('points-expiring');
    now = T0 + 340 * DAY;
    // The 150 points of the payment and the 5 of the check-in at T0, both earned 340 days ago.
    expect(campaigns.atCounter(id, 'l1', 'face').find((p) => p.kind === 'points-expiring')?.message).toBe('155积分将在30天内过期，可抵扣使用');
    expect(kinds(campaigns.atCounter(id, 'l1', 'face'))).not.toContain('points-expiring');
    const out = member('o', [[150, T0]]);
    optOut(out);
    expect(kinds(campaigns.atCounter(out, 'l1', 'face'))).not.toContain('points-expiring');
  });
});

describe('coupon available', () => {
  it('offers a coupon the member holds, once per visit, also to a member who opted out (it is theirs)', () => {
    const id = member('p');
    const { coupon } = store.coupons.issue({ ...couponFromTerms({ title: '周末券', amountOffYuan: 15, minSpendYuan: 100, validDays: 7 }, now), memberId: id, source: 'batch', sourceRef: 'b1' });
    optOut(id);
    expect(campaigns.atCounter(id, 'l1', 'face')).toEqual([
      { kind: 'coupon-available', message: '有¥15周末券可用', messageEn: '周末券 (¥15 off) can be used', couponId: coupon.couponId, amountFen: 1500 },
    ]);
    expect(campaigns.atCounter(id, 'l1', 'face')).toEqual([]);
    expect(campaigns.visitPrompts(id)).toHaveLength(1);
  });
});

describe('after a payment', () => {
  it('join gift: once, for the payment that made the member', () => {
    const id = member('q');
    const [gift] = campaigns.afterPayment({ memberId: id, orderId: 'j1', lane: 'l1', created: true, paidFen: 2000, pointsEarned: 20 });
    expect(gift).toMatchObject({ kind: 'coupon-available', message: '新会员礼：送您¥5新会员礼券，下次可用' });
    expect(campaigns.afterPayment({ memberId: id, orderId: 'j1', lane: 'l1', created: true, paidFen: 2000, pointsEarned: 20 })).toEqual([]);
    expect(store.coupons.forMember(id)).toHaveLength(1);
    const out = member('r');
    optOut(out);
    expect(campaigns.afterPayment({ memberId: out, orderId: 'j2', lane: 'l1', created: true, paidFen: 2000, pointsEarned: 20 })).toEqual([]);
  });

  it('满X送券: a coupon for the next visit, once per order; none below X or for who opted out', () => {
    const id = member('s');
    const facts = { memberId: id, orderId: 'big-1', lane: 'l1', created: false, paidFen: 20_000, pointsEarned: 200 };
    expect(campaigns.afterPayment(facts).map((p) => p.message)).toContain('满200送券：送您¥20满额返券，下次可用');
    expect(campaigns.afterPayment(facts).filter((p) => p.kind === 'coupon-available')).toEqual([]);
    expect(campaigns.afterPayment({ ...facts, orderId: 'small', paidFen: 19_999 }).filter((p) => p.kind === 'coupon-available')).toEqual([]);
    const out = member('t');
    optOut(out);
    expect(campaigns.afterPayment({ ...facts, memberId: out, orderId: 'big-2' })).toEqual([]);
  });

  it('recharge offer: a large payment by a member with no stored value hears 充100送10', async () => {
    const id = member('u');
    const facts = { memberId: id, orderId: 'r1', lane: 'l1', created: false, paidFen: 15_000, pointsEarned: 150 };
    expect(campaigns.afterPayment(facts).find((p) => p.kind === 'recharge-offer')).toEqual({ kind: 'recharge-offer', message: '充100送10', messageEn: 'Top up ¥100, get ¥10 free', amountFen: 10_000 });
    expect(campaigns.afterPayment({ ...facts, orderId: 'r2', paidFen: 9_999 }).find((p) => p.kind === 'recharge-offer')).toBeUndefined();
    store.membership.recharge({ memberId: id, amountYuan: 100, rechargeId: 'rc1' });
    expect(campaigns.afterPayment({ ...facts, orderId: 'r3' }).find((p) => p.kind === 'recharge-offer')).toBeUndefined();
  });

  it('referral (老带新): both get their coupon once; self-referral and existing members are refused', () => {
    const referrer = member('v');
    const newcomer = member('w');
    const [prompt] = campaigns.afterPayment({ memberId: newcomer, orderId: 'ref-1', lane: 'l1', created: true, paidFen: 1000, pointsEarned: 10, referrerId: referrer }).filter((p) => p.kind === 'referral');
    expect(prompt?.message).toBe('好友推荐入会，送您¥10好友礼券，下次可用');
    expect(store.campaigns.referrerOf(newcomer)).toBe(referrer);
    expect(store.coupons.forMember(referrer).map((c) => c.title)).toEqual(['推荐奖励券']);
    expect(campaigns.afterPayment({ memberId: newcomer, orderId: 'ref-1', lane: 'l1', created: true, paidFen: 1000, pointsEarned: 10, referrerId: referrer }).filter((p) => p.kind === 'referral')).toEqual([]);
    expect(store.coupons.forMember(referrer)).toHaveLength(1);

    const self = member('x');
    expect(kinds(campaigns.afterPayment({ memberId: self, orderId: 'ref-2', lane: 'l1', created: true, paidFen: 1000, pointsEarned: 10, referrerId: self }))).not.toContain('referral');
    const existing = member('y');
    expect(kinds(campaigns.afterPayment({ memberId: existing, orderId: 'ref-3', lane: 'l1', created: false, paidFen: 1000, pointsEarned: 10, referrerId: referrer }))).not.toContain('referral');
    expect(store.campaigns.referrerOf(self)).toBeUndefined();
    expect(store.campaigns.referrerOf(existing)).toBeUndefined();
    const out = member('z');
    optOut(out);
    expect(campaigns.afterPayment({ memberId: out, orderId: 'ref-4', lane: 'l1', created: true, paidFen: 1000, pointsEarned: 10, referrerId: referrer })).toEqual([]);
  });
});
