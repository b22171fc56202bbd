/**
 * A member's lifecycle and RFM segment from their purchase facts, on a clock the caller gives.
 * Pure: no storage, no time of its own, so every boundary can be tested to the day.
 *
 * Days are whole days elapsed (a purchase 30 days and 23 hours ago is 30 days ago). The names
 * below are a public contract (GET /api/members/:id `segment`, the list filters, the CSV).
 */

export const LIFECYCLES = ['new', 'active', 'loyal', 'dormant', 'lost'] as const;
export type Lifecycle = (typeof LIFECYCLES)[number];

/** 重要价值, 重要保持, 重要发展, 重要挽留, 一般价值, 一般保持, 一般发展, 一般挽留. */
export const RFM_SEGMENTS = [
  'important-value',
  'important-keep',
  'important-develop',
  'important-retain',
  'general-value',
  'general-keep',
  'general-develop',
  'general-retain',
] as const;
export type RfmSegment = (typeof RFM_SEGMENTS)[number];

export const DAY_MS = 86_400_000;
/** F and M look at this many days; the lifecycle's loyal rule at LOYAL_WINDOW_DAYS. */
export const RFM_WINDOW_DAYS = 365;
export const LOYAL_WINDOW_DAYS = 90;

/** What the ledger knows of one member's purchases (an order not wholly refunded is a purchase). */
export interface PurchaseFacts {
  joinedAtMs: number;
  /** Null when the member never bought anything. */
  lastPurchaseAtMs: number | null;
  /** Purchases in the last RFM_WINDOW_DAYS. */
  purchases365: number;
  /** Purchases in the last LOYAL_WINDOW_DAYS. */
  purchases90: number;
  /** Payments and stored value spent minus refunds, in the last RFM_WINDOW_DAYS, in fen. */
  netSpend365Fen: number;
}

/** Where R, F and M split into high and low: R high when days ≤ recentDays, F and M high at or above. */
export interface RfmThresholds {
  recentDays: number;
  frequentPurchases: number;
  valuableSpendFen: number;
}

export interface LifecycleRules {
  recentDays: number;
  newMemberDays: number;
  loyalPurchasesIn90Days: number;
  dormantAfterDays: number;
  lostAfterDays: number;
}

export interface Segment {
  lifecycle: Lifecycle;
  rfm: RfmSegment;
}

/** Whole days from `thenMs` to `nowMs`; never negative (a payment a few minutes ahead of this clock is today's). */
export function daysBetween(thenMs: number, nowMs: number): number {
  return Math.max(0, Math.floor((nowMs - thenMs) / DAY_MS));
}

export function classify(facts: PurchaseFacts, rfm: RfmThresholds, rules: LifecycleRules, nowMs: number): Segment {
  return { lifecycle: lifecycleOf(facts, rules, nowMs), rfm: rfmOf(facts, rfm, nowMs) };
}

export function lifecycleOf(facts: PurchaseFacts, rules: LifecycleRules, nowMs: number): Lifecycle {
  const joinedDays = daysBetween(facts.joinedAtMs, nowMs);
  if (joinedDays <= rules.newMemberDays && facts.purchases365 <= 1) return 'new';
  // Without a purchase, the time since joining is what has gone quiet.
  const quietDays = daysBetween(facts.lastPurchaseAtMs ?? facts.joinedAtMs, nowMs);
  if (quietDays > rules.lostAfterDays) return 'lost';
  if (quietDays > rules.dormantAfterDays) return 'dormant';
  if (facts.lastPurchaseAtMs !== null && quietDays <= rules.recentDays && facts.purchases90 >= rules.loyalPurchasesIn90Days) {
    return 'loyal';
  }
  return 'active';
}

export function rfmOf(facts: PurchaseFacts, t: RfmThresholds, nowMs: number): RfmSegment {
  const recent = facts.lastPurchaseAtMs !== null && daysBetween(facts.lastPurchaseAtMs, nowMs) <= t.recentDays;
  const frequent = facts.purchases365 >= t.frequentPurchases;
  const valuable = facts.netSpend365Fen >= t.valuableSpendFen;
  const kind = recent ? (frequent ? 'value' : 'develop') : frequent ? 'keep' : 'retain';
  return `${valuable ? 'important' : 'general'}-${kind}`;
}

/**
 * The store's own split: the medians of its members who bought in the last RFM_WINDOW_DAYS
 * (days since their last purchase, purchases, net spend). Null when nobody did, so the caller
 * keeps the configured thresholds.
 */
export function medianThresholds(facts: readonly PurchaseFacts[], nowMs: number): RfmThresholds | null {
  const buyers = facts.filter((f) => f.lastPurchaseAtMs !== null && f.purchases365 > 0);
  if (buyers.length === 0) return null;
  return {
    recentDays: median(buyers.map((f) => daysBetween(f.lastPurchaseAtMs!, nowMs))),
    frequentPurchases: median(buyers.map((f) => f.purchases365)),
    valuableSpendFen: median(buyers.map((f) => f.netSpend365Fen)),
  };
}

/** The middle value; for an even count, the mean of the two middle ones. */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}
