import { describe, expect, it } from 'vitest';
import {
  classify,
  DAY_MS,
  lifecycleOf,
  median,
  medianThresholds,
  rfmOf,
  type LifecycleRules,
  type PurchaseFacts,
  type RfmThresholds,
} from '../../src/operations/segments.js';
import { defaultSettings } from '../support/settings.js';

/** A fixed clock: every fact below is placed relative to it. */
const NOW = Date.UTC(2026, 5, 15, 12, 0, 0);
const daysAgo = (days: number, extraMs = 0) => NOW - days * DAY_MS - extraMs;

const shipped = defaultSettings.segments;
const rules: LifecycleRules = shipped;
const thresholds: RfmThresholds = {
  recentDays: shipped.recentDays,
  frequentPurchases: shipped.frequentPurchases,
  valuableSpendFen: shipped.valuableSpendYuan * 100,
};

/** A member who joined a year ago and bought twice for ¥100 in total, last time 10 days ago. */
function facts(over: Partial<PurchaseFacts> = {}): PurchaseFacts {
  return { joinedAtMs: daysAgo(365), lastPurchaseAtMs: daysAgo(10), purchases365: 2, purchases90: 2, netSpend365Fen: 10_000, ...over };
}

describe('shipped thresholds', () => {
  it('are the ones a shop till starts with', () => {
    expect(shipped).toMatchObject({
      recentDays: 30,
      frequentPurchases: 3,
      valuableSpendYuan: 500,
      useStoreMedians: false,
      newMemberDays: 30,
      loyalPurchasesIn90Days: 3,
      dormantAfterDays: 60,
      lostAfterDays: 180,
    });
  });
});

describe('lifecycle', () => {
  const lifecycle = (over: Partial<PurchaseFacts>) => lifecycleOf(facts(over), rules, NOW);

  it('is new while joined at most 30 days ago with at most one purchase (29/30/31 days)', () => {
    for (const purchases of [0, 1]) {
      const bought = { purchases365: purchases, purchases90: purchases, lastPurchaseAtMs: purchases ? daysAgo(2) : null };
      expect(lifecycle({ ...bought, joinedAtMs: daysAgo(29) })).toBe('new');
      expect(lifecycle({ ...bought, joinedAtMs: daysAgo(30) })).toBe('new');
      // 30 days and 23 hours is still 30 whole days.
      expect(lifecycle({ ...bought, joinedAtMs: daysAgo(30, DAY_MS - 1) })).toBe('new');
      expect(lifecycle({ ...bought, joinedAtMs: daysAgo(31) })).toBe('active');
    }
  });

  it('is no longer new after a second purchase', () => {
    expect(lifecycle({ joinedAtMs: daysAgo(5), lastPurchaseAtMs: daysAgo(1), purchases365: 2, purchases90: 2 })).toBe('active');
  });

  it('is loyal with 3 purchases in 90 days and the last at most 30 days ago (29/30/31 days, 2/3 purchases)', () => {
    expect(lifecycle({ lastPurchaseAtMs: daysAgo(29), purchases90: 3, purchases365: 3 })).toBe('loyal');
    expect(lifecycle({ lastPurchaseAtMs: daysAgo(30), purchases90: 3, purchases365: 3 })).toBe('loyal');
    expect(lifecycle({ lastPurchaseAtMs: daysAgo(31), purchases90: 3, purchases365: 3 })).toBe('active');
    expect(lifecycle({ lastPurchaseAtMs: daysAgo(1), purchases90: 2, purchases365: 9 })).toBe('active');
    // A new member who already came three times is loyal, not new.
    expect(lifecycle({ joinedAtMs: daysAgo(10), lastPurchaseAtMs: daysAgo(1), purchases90: 3, purchases365: 3 })).toBe('loyal');
  });

  it('is dormant from 61 days after the last purchase (60/61) and lost from 181 (180/181)', () => {
    expect(lifecycle({ lastPurchaseAtMs: daysAgo(60) })).toBe('active');
    expect(lifecycle({ lastPurchaseAtMs: daysAgo(61) })).toBe('dormant');
    expect(lifecycle({ lastPurchaseAtMs: daysAgo(100) })).toBe('dormant');
    expect(lifecycle({ lastPurchaseAtMs: daysAgo(180) })).toBe('dormant');
    expect(lifecycle({ lastPurchaseAtMs: daysAgo(180, DAY_MS - 1) })).toBe('dormant');
    expect(lifecycle({ lastPurchaseAtMs: daysAgo(181), purchases365: 1, purchases90: 0 })).toBe('lost');
  });

  it('without a purchase goes by the days since joining once no longer new', () => {
    const never = { lastPurchaseAtMs: null, purchases365: 0, purchases90: 0, netSpend365Fen: 0 };
    expect(lifecycle({ ...never, joinedAtMs: daysAgo(30) })).toBe('new');
    expect(lifecycle({ ...never, joinedAtMs: daysAgo(31) })).toBe('active');
    expect(lifecycle({ ...never, joinedAtMs: daysAgo(60) })).toBe('active');
    expect(lifecycle({ ...never, joinedAtMs: daysAgo(61) })).toBe('dormant');
    expect(lifecycle({ ...never, joinedAtMs: daysAgo(180) })).toBe('dormant');
    expect(lifecycle({ ...never, joinedAtMs: daysAgo(181) })).toBe('lost');
  });

  it('follows the settings, not fixed numbers', () => {
    const tight = { ...rules, newMemberDays: 7, dormantAfterDays: 20, lostAfterDays: 40, recentDays: 5, loyalPurchasesIn90Days: 2 };
    expect(lifecycleOf(facts({ joinedAtMs: daysAgo(8), purchases365: 0, purchases90: 0, lastPurchaseAtMs: null }), tight, NOW)).toBe('active');
    expect(lifecycleOf(facts({ lastPurchaseAtMs: daysAgo(21) }), tight, NOW)).toBe('dormant');
    expect(lifecycleOf(facts({ lastPurchaseAtMs: daysAgo(41) }), tight, NOW)).toBe('lost');
    expect(lifecycleOf(facts({ lastPurchaseAtMs: daysAgo(5) }), tight, NOW)).toBe('loyal');
    expect(lifecycleOf(facts({ lastPurchaseAtMs: daysAgo(6) }), tight, NOW)).toBe('active');
  });

  it('counts a purchase stamped a little ahead of this clock as today', () => {
    expect(lifecycle({ lastPurchaseAtMs: NOW + 60_000, purchases90: 3, purchases365: 3 })).toBe('loyal');
  });
});

describe('RFM segment', () => {
  const rfm = (over: Partial<PurchaseFacts>, t: RfmThresholds = thresholds) => rfmOf(facts(over), t, NOW);
  const high = { lastPurchaseAtMs: daysAgo(1), purchases365: 3, netSpend365Fen: 50_000 };

  it('maps R, F and M high or low onto the eight segments', () => {
    const old = daysAgo(200);
    expect(rfm({ ...high })).toBe('important-value');
    expect(rfm({ ...high, lastPurchaseAtMs: old })).toBe('important-keep');
    expect(rfm({ ...high, purchases365: 1 })).toBe('important-develop');
    expect(rfm({ ...high, lastPurchaseAtMs: old, purchases365: 1 })).toBe('important-retain');
    expect(rfm({ ...high, netSpend365Fen: 100 })).toBe('general-value');
    expect(rfm({ ...high, netSpend365Fen: 100, lastPurchaseAtMs: old })).toBe('general-keep');
    expect(rfm({ ...high, netSpend365Fen: 100, purchases365: 1 })).toBe('general-develop');
    expect(rfm({ ...high, netSpend365Fen: 100, lastPurchaseAtMs: old, purchases365: 1 })).toBe('general-retain');
  });

  it('R is high up to 30 whole days since the last purchase (29/30/31)', () => {
    expect(rfm({ ...high, lastPurchaseAtMs: daysAgo(29) })).toBe('important-value');
    expect(rfm({ ...high, lastPurchaseAtMs: daysAgo(30) })).toBe('important-value');
    expect(rfm({ ...high, lastPurchaseAtMs: daysAgo(30, DAY_MS - 1) })).toBe('important-value');
    expect(rfm({ ...high, lastPurchaseAtMs: daysAgo(31) })).toBe('important-keep');
  });

  it('F is high from 3 purchases (2/3)', () => {
    expect(rfm({ ...high, purchases365: 2 })).toBe('important-develop');
    expect(rfm({ ...high, purchases365: 3 })).toBe('important-value');
  });

  it('M is high from ¥500 net (¥499.99 / ¥500.00)', () => {
    expect(rfm({ ...high, netSpend365Fen: 49_999 })).toBe('general-value');
    expect(rfm({ ...high, netSpend365Fen: 50_000 })).toBe('important-value');
  });

  it('a member who never bought is general-retain', () => {
    expect(rfm({ lastPurchaseAtMs: null, purchases365: 0, purchases90: 0, netSpend365Fen: 0 })).toBe('general-retain');
  });

  it('classify gives both', () => {
    expect(classify(facts({ ...high, purchases90: 3 }), thresholds, rules, NOW)).toEqual({ lifecycle: 'loyal', rfm: 'important-value' });
  });
});

describe('store medians', () => {
  it('median of odd and even counts', () => {
    expect(median([5, 1, 3])).toBe(3);
    expect(median([4, 1, 3, 2])).toBe(2.5);
  });

  it('splits at the medians of the members who bought in the last year, ignoring those who did not', () => {
    const store: PurchaseFacts[] = [
      facts({ lastPurchaseAtMs: daysAgo(2), purchases365: 1, netSpend365Fen: 1_000 }),
      facts({ lastPurchaseAtMs: daysAgo(10), purchases365: 2, netSpend365Fen: 3_000 }),
      facts({ lastPurchaseAtMs: daysAgo(40), purchases365: 5, netSpend365Fen: 9_000 }),
      facts({ lastPurchaseAtMs: null, purchases365: 0, purchases90: 0, netSpend365Fen: 0 }),
      facts({ lastPurchaseAtMs: daysAgo(400), purchases365: 0, purchases90: 0, netSpend365Fen: 0 }),
    ];
    const t = medianThresholds(store, NOW)!;
    expect(t).toEqual({ recentDays: 10, frequentPurchases: 2, valuableSpendFen: 3_000 });
    // At the median is high, just past it low — on each of R, F and M.
    const at = { lastPurchaseAtMs: daysAgo(10), purchases365: 2, netSpend365Fen: 3_000 };
    expect(rfmOf(facts(at), t, NOW)).toBe('important-value');
    expect(rfmOf(facts({ ...at, lastPurchaseAtMs: daysAgo(11) }), t, NOW)).toBe('important-keep');
    expect(rfmOf(facts({ ...at, purchases365: 1 }), t, NOW)).toBe('important-develop');
    expect(rfmOf(facts({ ...at, netSpend365Fen: 2_999 }), t, NOW)).toBe('general-value');
    // With the shipped thresholds the same member would be general-develop: the store's own scale differs.
    expect(rfmOf(facts(at), thresholds, NOW)).toBe('general-develop');
  });

  it('has no medians for a store where nobody bought in the last year', () => {
    expect(medianThresholds([facts({ lastPurchaseAtMs: null, purchases365: 0 })], NOW)).toBeNull();
    expect(medianThresholds([], NOW)).toBeNull();
  });
});
