/**
 * What a coupon takes off an order and whether it can be used now, on a clock the caller
 * gives. Pure: the ledger stores coupons and their events, this module holds the rules.
 */

export const DAY_MS = 86_400_000;

/** How a coupon is described in settings, a batch request or a campaign rule: yuan and days. */
export interface CouponTerms {
  /** Shown on the till and in the member's coupon list, e.g. "回归券". */
  title: string;
  /** Fixed amount off; exactly one of amountOffYuan and rate is set. */
  amountOffYuan?: number;
  /** Price multiplier, e.g. 0.9 for 10 % off. */
  rate?: number;
  /** The order (before the coupon) must reach this; 0 = any order. */
  minSpendYuan: number;
  /** Valid for this many days from issue. */
  validDays: number;
}

/** A coupon as the ledger stores it: fen and times. */
export interface CouponRecord {
  couponId: string;
  memberId: string;
  source: 'batch' | 'rule';
  sourceRef: string;
  title: string;
  amountOffFen: number | null;
  rate: number | null;
  minSpendFen: number;
  validFromMs: number;
  validUntilMs: number;
  issuedAtMs: number;
  /** Set once the coupon was redeemed. */
  redeemed: { orderId: string; orderFen: number; discountFen: number; atMs: number } | null;
  /** Set once the expiry job recorded it; a coupon past validUntilMs is expired before that too. */
  expiredAtMs: number | null;
}

export type CouponStatus = 'available' | 'redeemed' | 'expired' | 'not-yet-valid';

/** The fen fields of a coupon issued now from `terms`. */
export function couponFromTerms(terms: CouponTerms, nowMs: number) {
  return {
    title: terms.title,
    amountOffFen: terms.amountOffYuan === undefined ? null : Math.round(terms.amountOffYuan * 100),
    rate: terms.rate ?? null,
    minSpendFen: Math.round(terms.minSpendYuan * 100),
    validFromMs: nowMs,
    validUntilMs: nowMs + terms.validDays * DAY_MS,
  };
}

export function couponStatus(coupon: CouponRecord, nowMs: number): CouponStatus {
  if (coupon.redeemed) return 'redeemed';
  if (coupon.expiredAtMs !== null || nowMs >= coupon.validUntilMs) return 'expired';
  if (nowMs < coupon.validFromMs) return 'not-yet-valid';
  return 'available';
}

/**
 * What the coupon takes off an order of `orderFen` (before the coupon): the amount off, or
 * the order times (1 − rate) rounded down to the fen. At least one fen is always left to pay,
 * because a payment of nothing is no payment. 0 when the order is below the minimum spend.
 */
export function couponDiscountFen(coupon: Pick<CouponRecord, 'amountOffFen' | 'rate' | 'minSpendFen'>, orderFen: number): number {
  if (orderFen < coupon.minSpendFen || orderFen < 2) return 0;
  const off = coupon.amountOffFen ?? Math.floor(orderFen * (1 - (coupon.rate ?? 1)) + 1e-9);
  return Math.max(0, Math.min(off, orderFen - 1));
}

/** The coupon as it reads aloud: "¥10", "9折". */
export function couponValueText(coupon: Pick<CouponRecord, 'amountOffFen' | 'rate'>): { zh: string; en: string } {
  if (coupon.amountOffFen !== null) {
    const yuan = yuanText(coupon.amountOffFen);
    return { zh: `¥${yuan}`, en: `¥${yuan} off` };
  }
  const rate = coupon.rate ?? 1;
  const zhe = Math.round(rate * 100) % 10 === 0 ? String(Math.round(rate * 10)) : (Math.round(rate * 100) / 10).toFixed(1);
  return { zh: `${zhe}折`, en: `${Math.round((1 - rate) * 100)}% off` };
}

/** Fen as yuan without needless decimals: 1000 → "10", 1050 → "10.50". */
export function yuanText(fen: number): string {
  return fen % 100 === 0 ? String(fen / 100) : (fen / 100).toFixed(2);
}
