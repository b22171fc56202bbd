import { couponDiscountFen, couponStatus, type CouponRecord } from '../operations/coupons.js';
import type { AuditLog } from './auditLog.js';
import { CouponRepository, type CouponBatchRow, type NewCoupon } from './couponRepository.js';
import type { SqliteDatabase } from './database.js';
import { LedgerError } from './ledgerErrors.js';
import type { MembershipLedger, PaymentResult, RecordPaymentInput } from './membershipLedger.js';
import { fenToYuan, yuanToFen } from './money.js';
import type { RollupRepository } from './rollupRepository.js';
import type { EpochMs } from './types.js';

/** What a coupon did to a payment; the payment's answer carries it. */
export interface AppliedCoupon {
  couponId: string;
  title: string;
  /** The order before the coupon, in yuan. */
  orderYuan: number;
  discountYuan: number;
  /** What was paid and recorded as spend: the order less the discount. */
  paidYuan: number;
}

export interface CouponBatchInput {
  batchId: string;
  /** The request as sent, for telling a retry from a reused batch id. */
  requestDigest: string;
  filter: unknown;
  terms: unknown;
  memberIds: readonly string[];
  coupon: Omit<NewCoupon, 'memberId' | 'source' | 'sourceRef'>;
  actor: string;
}

export interface CouponBatchResult {
  batchId: string;
  issued: number;
  /** Members of the segment who already had this batch's coupon. */
  skipped: number;
  duplicate: boolean;
}

/**
 * Coupons as money: issuing, redeeming with a payment and expiring, each one transaction with
 * its audit line. A redemption and the payment it discounts commit together or not at all.
 */
export class CouponLedger {
  readonly #db: SqliteDatabase;
  readonly #repo: CouponRepository;
  readonly #membership: MembershipLedger;
  readonly #audit: AuditLog;
  readonly #clock: () => EpochMs;

  constructor(deps: { db: SqliteDatabase; membership: MembershipLedger; audit: AuditLog; clock: () => EpochMs; rollups?: RollupRepository }) {
    this.#db = deps.db;
    this.#repo = new CouponRepository(deps.db, deps.clock, deps.rollups);
    this.#membership = deps.membership;
    this.#audit = deps.audit;
    this.#clock = deps.clock;
  }

  get(couponId: string): CouponRecord | undefined {
    return this.#repo.get(couponId);
  }

  forMember(memberId: string, limit = 200): CouponRecord[] {
    return this.#repo.forMember(memberId, limit);
  }

  /** Issues one coupon, once per (source, sourceRef, member). */
  issue(coupon: NewCoupon): { coupon: CouponRecord; created: boolean } {
    return this.#write(() => this.#repo.issue(coupon));
  }

  /**
   * An admin's batch to a segment, once per batch id: the same request again gets the first
   * answer; the same id with another segment or other terms is refused (BATCH_CONFLICT).
   */
  issueBatch(input: CouponBatchInput): CouponBatchResult {
    return this.#write(() => {
      const existing = this.#repo.batch(input.batchId);
      if (existing) {
        if (existing.requestDigest !== input.requestDigest) {
          throw new LedgerError('BATCH_CONFLICT', `Coupon batch ${input.batchId} was already issued with another segment or other terms; give each batch its own id.`);
        }
        return { batchId: existing.batchId, issued: existing.issued, skipped: existing.skipped, duplicate: true };
      }
      let issued = 0;
      for (const memberId of input.memberIds) {
        if (this.#repo.issue({ ...input.coupon, memberId, source: 'batch', sourceRef: input.batchId }).created) issued++;
      }
      const row: CouponBatchRow = {
        batchId: input.batchId,
        requestDigest: input.requestDigest,
        filter: input.filter,
        terms: input.terms,
        issued,
        skipped: input.memberIds.length - issued,
        actor: input.actor,
        createdAtMs: this.#clock(),
      };
      this.#repo.addBatch(row);
      this.#audit.record({ actor: input.actor, action: 'coupon.batch', details: { batchId: input.batchId, issued, filter: input.filter } });
      return { batchId: row.batchId, issued: row.issued, skipped: row.skipped, duplicate: false };
    });
  }

  /**
   * Records a payment that uses a coupon: `amountYuan` is the order before the coupon, the
   * spend recorded is what is left after it. Refused when the coupon is unknown, another
   * member's (the payer's member decides), used by another order (COUPON_USED), expired
   * (COUPON_EXPIRED), or the order is below its minimum spend. The same order sent again
   * gets the first answer.
   */
  recordPaymentWithCoupon(input: RecordPaymentInput, couponId: string): { result: PaymentResult; coupon: AppliedCoupon } {
    const orderFen = yuanToFen(input.amountYuan, { label: 'payment amount', maxFen: Number.MAX_SAFE_INTEGER });
    return this.#write(() => {
      const coupon = this.#repo.get(couponId);
      if (!coupon) throw new LedgerError('COUPON_NOT_FOUND', `No coupon ${couponId}; check the id on the till.`);
      const pay = (discountFen: number) => this.#membership.recordPayment({ ...input, amountYuan: fenToYuan(orderFen - discountFen) });
      if (coupon.redeemed) {
        if (coupon.redeemed.orderId !== input.orderId) {
          throw new LedgerError('COUPON_USED', `Coupon ${couponId} was already used with another order; a coupon is used once.`);
        }
        // The same order sent again: the payment answers as the first time (or refuses other content).
        return { result: pay(coupon.redeemed.discountFen), coupon: applied(coupon, coupon.redeemed.orderFen, coupon.redeemed.discountFen) };
      }
      if (this.#membership.lookupPayer(input.channel, input.appId, input.payerId) !== coupon.memberId) {
        throw new LedgerError('COUPON_OTHER_MEMBER', `Coupon ${couponId} belongs to another member; only its own member can use it.`);
      }
      const status = couponStatus(coupon, this.#clock());
      if (status === 'expired') {
        throw new LedgerError('COUPON_EXPIRED', `Coupon ${couponId} expired on ${new Date(coupon.validUntilMs).toISOString().slice(0, 10)}.`);
      }
      if (status === 'not-yet-valid') throw new LedgerError('COUPON_NOT_YET_VALID', `Coupon ${couponId} is not valid yet.`);
      const discountFen = couponDiscountFen(coupon, orderFen);
      if (discountFen === 0) {
        throw new LedgerError('COUPON_MIN_SPEND', `Coupon ${couponId} needs an order of at least ${fenToYuan(coupon.minSpendFen)} yuan.`);
      }
      const result = pay(discountFen);
      if (result.duplicate) {
        throw new LedgerError('ORDER_CONFLICT', `Order ${input.orderId} was already recorded without this coupon; a coupon cannot be added to a recorded payment.`);
      }
      this.#repo.redeem({ couponId, memberId: coupon.memberId, orderId: input.orderId, orderFen, discountFen, atMs: this.#clock() });
      return { result, coupon: applied(coupon, orderFen, discountFen) };
    });
  }

  /** Records the expiry of coupons past their validity; returns how many. Idempotent. */
  expireDue(nowMs: EpochMs = this.#clock(), limit = 10_000): number {
    return this.#write(() => this.#repo.expireDue(nowMs, limit));
  }

  #write<T>(fn: () => T): T {
    return this.#db.transaction(fn).immediate();
  }
}

function applied(coupon: CouponRecord, orderFen: number, discountFen: number): AppliedCoupon {
  return {
    couponId: coupon.couponId,
    title: coupon.title,
    orderYuan: fenToYuan(orderFen),
    discountYuan: fenToYuan(discountFen),
    paidYuan: fenToYuan(orderFen - discountFen),
  };
}
