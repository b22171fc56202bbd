import { describe, expect, it } from 'vitest';
import { LedgerError } from '../../src/ledger/index.js';
import { yuanToFen } from '../../src/ledger/money.js';
import { pointsForFen, compilePointsRules, planDraw, pointsToReverse } from '../../src/ledger/pointsRules.js';
import { compileBonusRules, rechargeBonusFen } from '../../src/ledger/storedValue.js';
import {
  atPeriodEnd,
  compileTierRules,
  onActivity,
  qualifiedRank,
  type TierSetting,
} from '../../src/ledger/tierRules.js';
import { defaultSettings, TEST_TIERS } from '../support/settings.js';

const DAY = 86_400_000;
/** Windows, periods and the earn rate as shipped: 365 days, 1 point per yuan. */
const membership = defaultSettings.membership;
const tiers: TierSetting[] = TEST_TIERS;
const rules = compileTierRules({ ...membership, tiers, rechargeTierRules: [{ minRechargeYuan: 1000, tier: '黄金' }] });

describe('tier rules', () => {
  it('qualifies by spend in the window or by a single recharge, whichever reaches higher', () => {
    expect(qualifiedRank(rules, { spendInWindowFen: 0, largestRechargeInWindowFen: 0 })).toBe(0);
    expect(qualifiedRank(rules, { spendInWindowFen: 199_999, largestRechargeInWindowFen: 0 })).toBe(0);
    expect(qualifiedRank(rules, { spendInWindowFen: 200_000, largestRechargeInWindowFen: 0 })).toBe(1);
    expect(qualifiedRank(rules, { spendInWindowFen: 1_000_000, largestRechargeInWindowFen: 0 })).toBe(2);
    expect(qualifiedRank(rules, { spendInWindowFen: 0, largestRechargeInWindowFen: 100_000 })).toBe(1);
    expect(qualifiedRank(rules, { spendInWindowFen: 1_000_000, largestRechargeInWindowFen: 100_000 })).toBe(2);
  });

  it('upgrades at once with a new period and never downgrades on activity', () => {
    const state = { rank: 1, periodEndAtMs: 1000 * DAY };
    expect(onActivity(rules, state, 2, 10 * DAY)).toEqual({ rank: 2, periodEndAtMs: 375 * DAY });
    expect(onActivity(rules, state, 0, 2000 * DAY)).toBe(state);
  });

  it('drops only once the period has ended, and keeps periods on their schedule', () => {
    const state = { rank: 2, periodEndAtMs: 400 * DAY };
    expect(atPeriodEnd(rules, state, 0, 399 * DAY)).toBe(state);
    expect(atPeriodEnd(rules, state, 0, 401 * DAY)).toEqual({ rank: 0, periodEndAtMs: 765 * DAY });
    expect(atPeriodEnd(rules, state, 2, 400 * DAY)).toEqual({ rank: 2, periodEndAtMs: 765 * DAY });
    // Called late by more than a period: still lands on the period grid.
    expect(atPeriodEnd(rules, state, 1, 800 * DAY)).toEqual({ rank: 1, periodEndAtMs: 1130 * DAY });
  });

  it('refuses tiers out of order, unknown recharge tiers and odd windows', () => {
    const swapped = [tiers[0]!, tiers[2]!, tiers[1]!];
    expect(() => compileTierRules({ ...membership, tiers: swapped })).toThrow(LedgerError);
    expect(() => compileTierRules({ ...membership, tiers, rechargeTierRules: [{ minRechargeYuan: 1, tier: '白金' }] })).toThrow(/白金/);
    expect(() => compileTierRules({ ...membership, tiers, tierWindowDays: 0.5 })).toThrow(/tierWindowDays/);
    expect(() => compileTierRules({ ...membership, tiers: [] })).toThrow(LedgerError);
  });
});

describe('money and points arithmetic', () => {
  it('converts yuan to fen exactly and refuses what it cannot represent', () => {
    const opts = { label: 'amount', maxFen: 10_000_000 };
    expect(yuanToFen(19.9, opts)).toBe(1990);
    expect(yuanToFen('0.07', opts)).toBe(7);
    expect(yuanToFen(1234.56, opts)).toBe(123_456);
    for (const bad of [0, -1, 0.1 + 0.2, 19.999, Number.NaN, Infinity, 1e21, '1e3', ' ', '12.', 100_000.01]) {
      expect(() => yuanToFen(bad, opts), String(bad)).toThrow(LedgerError);
    }
  });

  it('earns on the amount paid, dropping fractions of a point', () => {
    expect(pointsForFen(compilePointsRules(membership), 1999)).toBe(19);
    expect(pointsForFen(compilePointsRules({ ...membership, pointsPerYuan: 1.5 }), 1000)).toBe(15);
    expect(pointsForFen(compilePointsRules({ ...membership, pointsPerYuan: 0.01 }), 9999)).toBe(0);
    expect(() => compilePointsRules({ ...membership, pointsPerYuan: 0.001 })).toThrow(LedgerError);
  });

  it('reverses points of a refund in pieces that add up to what the order earned', () => {
    const parts = [333, 333, 334].map((fen, i, all) =>
      pointsToReverse(7, 1000, all.slice(0, i).reduce((a, b) => a + b, 0), fen),
    );
    expect(parts.reduce((a, b) => a + b, 0)).toBe(7);
    expect(pointsToReverse(100, 10_000, 0, 5000)).toBe(50);
  });

  it('draws points from lots in the order given', () => {
    const lots = [
      { lotEntryId: 1, remaining: 5 },
      { lotEntryId: 2, remaining: 0 },
      { lotEntryId: 3, remaining: 10 },
    ];
    expect(planDraw(lots, 8)).toEqual({ draws: [{ lotEntryId: 1, points: 5 }, { lotEntryId: 3, points: 3 }], drawn: 8 });
    expect(planDraw(lots, 20).drawn).toBe(15);
  });

  it('applies only the best recharge bonus the amount reaches', () => {
    const bonus = compileBonusRules([{ minYuan: 100, bonusYuan: 10 }, { minYuan: 500, bonusYuan: 80 }], 10_000_000);
    expect(rechargeBonusFen(bonus, 9_999)).toBe(0);
    expect(rechargeBonusFen(bonus, 10_000)).toBe(1_000);
    expect(rechargeBonusFen(bonus, 20_000)).toBe(1_000);
    expect(rechargeBonusFen(bonus, 60_000)).toBe(8_000);
  });
});
