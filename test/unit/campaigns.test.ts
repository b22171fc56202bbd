import { describe, expect, it } from 'vitest';
import { birthdayWindow, dormancyKey, visitStreak } from '../../src/operations/campaigns.js';
import { couponDiscountFen, couponStatus, couponValueText } from '../../src/operations/coupons.js';

describe('birthday window', () => {
  it('counts days either side of the month-day by the store calendar, across the new year', () => {
    expect(birthdayWindow('03-14', '2026-03-14', 3)).toEqual({ year: 2026 });
    expect(birthdayWindow('03-14', '2026-03-11', 3)).toEqual({ year: 2026 });
    expect(birthdayWindow('03-14', '2026-03-17', 3)).toEqual({ year: 2026 });
    expect(birthdayWindow('03-14', '2026-03-18', 3)).toBeNull();
    expect(birthdayWindow('12-30', '2027-01-01', 3)).toEqual({ year: 2026 });
    expect(birthdayWindow('01-01', '2026-12-30', 3)).toEqual({ year: 2027 });
    expect(birthdayWindow('03-14', '2026-03-15', 0)).toBeNull();
  });

  it('keeps a 29 February birthday on the 28th in other years', () => {
    expect(birthdayWindow('02-29', '2027-02-28', 0)).toEqual({ year: 2027 });
    expect(birthdayWindow('02-29', '2028-02-29', 0)).toEqual({ year: 2028 });
    expect(birthdayWindow('02-29', '2028-02-28', 0)).toBeNull();
  });
});

describe('visit streak', () => {
  it('counts consecutive days ending today; a missed day ends it', () => {
    expect(visitStreak(['2026-03-10', '2026-03-09', '2026-03-08', '2026-03-06'], '2026-03-10')).toBe(3);
    expect(visitStreak(['2026-03-10'], '2026-03-10')).toBe(1);
    expect(visitStreak(['2026-03-09'], '2026-03-10')).toBe(0);
    expect(visitStreak(['2026-03-01', '2026-02-28', '2026-02-27'], '2026-03-01')).toBe(3);
  });
});

describe('dormancy key', () => {
  it('names the dormancy by the purchase it followed, only for dormant or lost members', () => {
    expect(dormancyKey('dormant', 123)).toBe('since:123');
    expect(dormancyKey('lost', 123)).toBe('since:123');
    expect(dormancyKey('active', 123)).toBeNull();
    expect(dormancyKey('new', 123)).toBeNull();
  });
});

describe('coupon arithmetic', () => {
  const amount = { amountOffFen: 1000, rate: null, minSpendFen: 5000 };
  const rate = { amountOffFen: null, rate: 0.85, minSpendFen: 0 };

  it('an amount off needs the minimum spend and always leaves a fen to pay', () => {
    expect(couponDiscountFen(amount, 4999)).toBe(0);
    expect(couponDiscountFen(amount, 5000)).toBe(1000);
    expect(couponDiscountFen({ ...amount, minSpendFen: 0 }, 500)).toBe(499);
  });

  it('a rate takes the order times (1 − rate), rounded down to the fen', () => {
    expect(couponDiscountFen(rate, 10_000)).toBe(1500);
    expect(couponDiscountFen(rate, 12_345)).toBe(1851);
    expect(couponDiscountFen(rate, 1)).toBe(0);
  });

  it('reads aloud as ¥ and 折', () => {
    expect(couponValueText(amount)).toEqual({ zh: '¥10', en: '¥10 off' });
    expect(couponValueText({ amountOffFen: 1050, rate: null })).toEqual({ zh: '¥10.50', en: '¥10.50 off' });
    expect(couponValueText({ amountOffFen: null, rate: 0.9 })).toEqual({ zh: '9折', en: '10% off' });
    expect(couponValueText(rate)).toEqual({ zh: '8.5折', en: '15% off' });
  });

  it('a coupon is available from its start until its end, then expired; redeemed wins', () => {
    const c = { couponId: 'c', memberId: 'm', source: 'rule' as const, sourceRef: 'r', title: 't', ...amount, validFromMs: 100, validUntilMs: 200, issuedAtMs: 100, redeemed: null, expiredAtMs: null };
    expect(couponStatus(c, 99)).toBe('not-yet-valid');
    expect(couponStatus(c, 100)).toBe('available');
    expect(couponStatus(c, 199)).toBe('available');
    expect(couponStatus(c, 200)).toBe('expired');
    expect(couponStatus({ ...c, redeemed: { orderId: 'o', orderFen: 6000, discountFen: 1000, atMs: 150 } }, 300)).toBe('redeemed');
  });
});
