import { createHash } from 'node:crypto';
import type { MembershipSettings } from '../config/settingsSchema.js';
import type { AuditLog } from './auditLog.js';
import type { SqliteDatabase } from './database.js';
import { LedgerError } from './ledgerErrors.js';
import type { MemberRepository } from './memberRepository.js';
import {
  MembershipRepository,
  type LedgerEntry,
  type LotState,
  type MemberBalances,
  type PaymentRow,
  type RechargeRow,
  type RefundRow,
} from './membershipRepository.js';
import { fenToYuan, yuanToFen, type Fen } from './money.js';
import type { NonMemberSaleRow, RollupRepository } from './rollupRepository.js';
import { checkChannel, PayerIdentity } from './payerIdentity.js';
import {
  compilePointsRules,
  expiryCutoffMs,
  planDraw,
  pointsForFen,
  pointsToReverse,
  type OpenLot,
  type PointsRules,
} from './pointsRules.js';
import {
  checkDeductConfirmation,
  compileBonusRules,
  rechargeBonusFen,
  type CompiledBonusRule,
  type DeductConfirmation,
} from './storedValue.js';
import {
  atPeriodEnd,
  compileTierRules,
  onActivity,
  qualifiedRank,
  tierAt,
  tierByName,
  windowStartMs,
  type TierRules,
  type TierState,
} from './tierRules.js';
import type { EpochMs, TierView } from './types.js';

/** The `membership` settings, complete: their defaults live in the settings schema only. */
export interface MembershipLedgerOptions extends MembershipSettings {
  /** HMAC key for payer identities, at least 32 bytes (see derivePayerKeySecret). */
  payerKeySecret: Buffer;
}

export interface MembershipLedgerDeps {
  db: SqliteDatabase;
  members: MemberRepository;
  audit: AuditLog;
  clock: () => EpochMs;
  /**
   * The dashboard's daily sums, kept in each write's transaction. The store always passes
   * them; only the analytics benchmark leaves them out, to measure what they add to a payment.
   */
  rollups?: RollupRepository;
}

/** A member moved to another tier; the caller pushes `tier:changed` with it. */
export interface TierChange {
  memberId: string;
  from: TierView;
  to: TierView;
  reason: 'spend' | 'recharge' | 'period-end';
}

export interface RecordPaymentInput {
  orderId: string;
  lane: string;
  channel: string;
  /** WeChat appid / Alipay app id / merchant id the payer id belongs to. */
  appId: string;
  /** openid, buyer_user_id, …: turned into a payer key at once, never stored or logged. */
  payerId: string;
  /** Amount actually paid, in yuan with at most 2 decimals. */
  amountYuan: number | string;
  paidAtMs: EpochMs;
}

/** A cash sale (`channel: "cash"`, no payer id): credited to `memberId` when the lane named the customer, else a non-member sale. */
export interface RecordCashSaleInput {
  orderId: string;
  lane: string;
  memberId: string | undefined;
  amountYuan: number | string;
  paidAtMs: EpochMs;
}

/** A cash sale's answer: a member's like any payment's, or a non-member sale's with no member, points or tier. */
export type CashSaleResult =
  | PaymentResult
  | { memberId: null; created: false; discountRateApplied: 1; pointsEarned: 0; tierBefore: null; tierAfter: null; duplicate: boolean; tierChange: null };

export interface PaymentResult {
  memberId: string;
  /** True when this payment created the member (支付即会员). */
  created: boolean;
  /** Discount rate of the member's tier when they paid (before any upgrade this payment caused). */
  discountRateApplied: number;
  pointsEarned: number;
  tierBefore: string;
  tierAfter: string;
  /** True when the order was already recorded; everything else is the original answer. */
  duplicate: boolean;
  /** Null on a duplicate: the first call already reported it. */
  tierChange: TierChange | null;
}

export interface RecordRefundInput {
  orderId: string;
  refundId: string;
  amountYuan: number | string;
  actor?: string;
}

export interface RefundResult {
  /** Null for the refund of a non-member sale. */
  memberId: string | null;
  orderId: string;
  refundedYuan: number;
  /** Everything refunded on the order so far, this refund included. */
  totalRefundedYuan: number;
  pointsReversed: number;
  /** Points that should have been taken back but were already spent; the store may settle them. */
  pointsShortfall: number;
  /** The member's tier, which a refund never lowers before the period ends. */
  tier: string;
  /** The tier the member's spend would reach now; it applies at the period end. */
  qualifiedTier: string;
  duplicate: boolean;
}

export interface RechargeInput {
  memberId: string;
  amountYuan: number | string;
  rechargeId: string;
  actor?: string;
}

export interface RechargeResult {
  memberId: string;
  rechargedYuan: number;
  bonusYuan: number;
  balanceYuan: number;
  tierBefore: string;
  tierAfter: string;
  duplicate: boolean;
  tierChange: TierChange | null;
}

export interface DeductInput {
  memberId: string;
  amountYuan: number | string;
  orderId: string;
  confirmation: DeductConfirmation;
}

export interface DeductResult {
  memberId: string;
  orderId: string;
  deductedYuan: number;
  balanceYuan: number;
  duplicate: boolean;
}

export interface RedeemResult {
  memberId: string;
  orderId: string;
  pointsRedeemed: number;
  /** Usable points after the redemption. */
  pointsLeft: number;
  duplicate: boolean;
}

export interface PointsExpiry {
  pointsExpired: number;
  members: Array<{ memberId: string; points: number }>;
}

/** What the till popup shows. */
export interface MemberSummary {
  tier: TierView;
  /** Points usable now (expired lots excluded even before `expirePoints` has swept them). */
  points: number;
  balanceYuan: number;
  spendInWindowYuan: number;
}

export interface BalanceCheck {
  /** The balances as the entries add them up; the cache now holds these. */
  balances: MemberBalances;
  /** False when the cached balances or points lots disagreed with the entries (and were repaired). */
  cacheWasCorrect: boolean;
}

/** What a member brings from the shop's previous system (memberlens import members). */
export interface OpeningBalancesInput {
  memberId: string;
  points: number;
  storedYuan: number | string;
  /** A configured tier name, or null for the tier the member's spend reaches. */
  tier: string | null;
  actor: string;
}

export interface OpeningBalancesResult {
  memberId: string;
  points: number;
  storedYuan: number;
  tier: string;
}

/** A purchase made before memberlens ran at the till (memberlens import purchases). */
export interface PastPurchaseInput {
  memberId: string;
  /** Unique per purchase; the import gives every one the prefix "import:". */
  orderId: string;
  amountYuan: number | string;
  paidAtMs: EpochMs;
}

const MAX_ID_LENGTH = 128;

interface ResolvedTier extends TierState {
  /** False when the member has no tier row yet, or its tier name is no longer configured. */
  stored: boolean;
}

/**
 * Payments, refunds, points and stored value for members. Every operation is one IMMEDIATE
 * transaction: its idempotency check, entries, caches, tier and audit line commit together or
 * not at all, so a retried or concurrent request can neither lose nor double-count money.
 */
export class MembershipLedger {
  readonly #repo: MembershipRepository;
  readonly #members: MemberRepository;
  readonly #audit: AuditLog;
  readonly #clock: () => EpochMs;
  readonly #payers: PayerIdentity;
  readonly #tiers: TierRules;
  readonly #points: PointsRules;
  readonly #bonusRules: CompiledBonusRule[];
  readonly #maxFen: Fen;
  readonly #futureToleranceMs: number;
  readonly #rollups: RollupRepository | undefined;

  constructor(deps: MembershipLedgerDeps, options: MembershipLedgerOptions) {
    this.#payers = new PayerIdentity(options.payerKeySecret);
    this.#maxFen = yuanToFen(options.maxAmountYuan, {
      label: 'maxAmountYuan setting',
      maxFen: Number.MAX_SAFE_INTEGER,
    });
    this.#tiers = compileTierRules(options);
    this.#points = compilePointsRules(options);
    this.#bonusRules = compileBonusRules(options.rechargeBonusRules, this.#maxFen);
    this.#futureToleranceMs = options.paidAtFutureToleranceMs;
    if (!Number.isSafeInteger(this.#futureToleranceMs) || this.#futureToleranceMs < 0) {
      throw new LedgerError('INVALID_INPUT', 'Membership settings: paidAtFutureToleranceMs must be a whole number ≥ 0.');
    }
    this.#repo = new MembershipRepository(deps.db);
    this.#members = deps.members;
    this.#audit = deps.audit;
    this.#clock = deps.clock;
    this.#rollups = deps.rollups;
  }

  /** The member a payer maps to, for the pre-payment lookup; undefined for a first-time payer. */
  lookupPayer(channel: string, appId: string, payerId: string): string | undefined {
    return this.#repo.payerMember(this.#payers.keyFor(channel, appId, payerId));
  }

  /**
   * Records a payment once per order id. A first-time payer becomes a member in the base tier.
   * The same order sent again with the same content returns the first answer; with other
   * content it is refused (ORDER_CONFLICT) so a reused order id cannot hide a second charge.
   */
  recordPayment(input: RecordPaymentInput): PaymentResult {
    const orderId = checkId(input.orderId, 'order id');
    const channel = checkChannel(input.channel);
    const payerKey = this.#payers.keyFor(channel, input.appId, input.payerId);
    return this.#recordMemberPayment(
      {
        orderId,
        lane: checkId(input.lane, 'lane'),
        channel,
        payerDigest: createHash('sha256').update(`${orderId}\n${payerKey}`).digest('hex'),
        amountFen: yuanToFen(input.amountYuan, { label: 'payment amount', maxFen: this.#maxFen }),
        paidAtMs: this.#checkPaidAt(input.paidAtMs),
      },
      (now, lane) => {
        const known = this.#repo.payerMember(payerKey);
        return known === undefined
          ? { memberId: this.#createMemberForPayer(payerKey, channel, lane, now), created: true }
          : { memberId: known, created: false };
      },
    );
  }

  /**
   * Records a cash sale once per order id: a payment of the member the lane named (points,
   * tier and spend as for any payment), or a sale without a member. A repeated order with the
   * same lane, amount and time is a duplicate whoever was named the second time: the first
   * answer stands.
   */
  recordCashSale(input: RecordCashSaleInput): CashSaleResult {
    const orderId = checkId(input.orderId, 'order id');
    const lane = checkId(input.lane, 'lane');
    const amountFen = yuanToFen(input.amountYuan, { label: 'payment amount', maxFen: this.#maxFen });
    const paidAtMs = this.#checkPaidAt(input.paidAtMs);
    const memberId = input.memberId;
    // Who paid cash is not part of the order's identity: a retry may name someone else.
    const payerDigest = createHash('sha256').update(`${orderId}\ncash`).digest('hex');
    const order = { orderId, lane, channel: CASH, payerDigest, amountFen, paidAtMs };
    return this.#repo.write(() => {
      const sale = this.#rollupsRequired().nonMemberSale(orderId);
      if (sale) {
        if (sale.lane !== lane || sale.amount_fen !== amountFen || sale.paid_at_ms !== paidAtMs) throw orderConflict(orderId);
        return nonMemberSaleResult(true);
      }
      if (memberId !== undefined || this.#repo.payment(orderId)) {
        return this.#recordMemberPayment(order, () => {
          if (memberId === undefined) throw orderConflict(orderId);
          this.#requireMember(memberId);
          return { memberId, created: false };
        });
      }
      const now = this.#clock();
      this.#rollupsRequired().addNonMemberSale({ order_id: orderId, lane, channel: CASH, amount_fen: amountFen, paid_at_ms: paidAtMs, recorded_at_ms: now });
      this.#rollups?.nonMemberSaleCounted(amountFen, paidAtMs);
      return nonMemberSaleResult(false);
    });
  }

  /** The payment's checks, entries, tier and audit line; `payer` names (or creates) the member when the order is new. */
  #recordMemberPayment(
    order: { orderId: string; lane: string; channel: string; payerDigest: string; amountFen: Fen; paidAtMs: EpochMs },
    payer: (now: EpochMs, lane: string) => { memberId: string; created: boolean },
  ): PaymentResult {
    const { orderId, lane, channel, payerDigest, amountFen, paidAtMs } = order;
    return this.#repo.write(() => {
      const now = this.#clock();
      const existing = this.#repo.payment(orderId);
      if (existing) {
        const same =
          existing.lane === lane &&
          existing.channel === channel &&
          existing.payer_digest === payerDigest &&
          existing.amount_fen === amountFen &&
          existing.paid_at_ms === paidAtMs;
        if (!same) throw orderConflict(orderId);
        return paymentResult(existing, true, null);
      }
      if (this.#rollups?.nonMemberSale(orderId)) throw orderConflict(orderId);

      const { memberId, created } = payer(now, lane);
      const before = this.#tierState(memberId, now);
      const tierBefore = tierAt(this.#tiers, before.rank);
      const pointsEarned = pointsForFen(this.#points, amountFen);
      this.#addEntry({ memberId, kind: 'spend', spendFen: amountFen, orderId, atMs: paidAtMs }, now);
      if (pointsEarned > 0) {
        this.#addEntry({ memberId, kind: 'points-earn', points: pointsEarned, orderId, atMs: paidAtMs }, now);
      }
      // A 支付即会员 member joins on the day of the payment that made them one.
      if (created) this.#rollups?.memberJoined('payment', paidAtMs);
      this.#rollups?.memberSale(memberId, amountFen, paidAtMs, this.#repo.deduction(orderId) === undefined);
      const tierChange = this.#applyActivity(memberId, before, now, 'spend');
      const row: PaymentRow = {
        order_id: orderId,
        member_id: memberId,
        lane,
        channel,
        payer_digest: payerDigest,
        amount_fen: amountFen,
        paid_at_ms: paidAtMs,
        member_created: created ? 1 : 0,
        discount_rate_applied: tierBefore.discountRate,
        points_earned: pointsEarned,
        tier_before: tierBefore.name,
        tier_after: tierChange?.to.name ?? tierBefore.name,
        recorded_at_ms: now,
      };
      this.#repo.addPayment(row);
      this.#audit.record({
        actor: `lane:${lane}`,
        action: 'payment',
        subject: memberId,
        details: {
          amountFen,
          pointsEarned,
          memberCreated: created,
          tierBefore: row.tier_before,
          tierAfter: row.tier_after,
        },
      });
      return paymentResult(row, false, tierChange);
    });
  }

  /**
   * Refunds part or all of a recorded payment, once per refund id. Takes back the spend (as of
   * the payment's time, so the rolling window stays right) and the matching share of points.
   * Points already redeemed are taken from the member's other points, oldest first; what
   * still cannot be taken back is reported as `pointsShortfall`, never as a negative balance.
   */
  recordRefund(input: RecordRefundInput): RefundResult {
    const orderId = checkId(input.orderId, 'order id');
    const refundId = checkId(input.refundId, 'refund id');
    const amountFen = yuanToFen(input.amountYuan, { label: 'refund amount', maxFen: this.#maxFen });
    const actor = input.actor ?? 'system';
    return this.#repo.write(() => {
      const now = this.#clock();
      // A refund id sent again must name the same order and amount, a member's or a non-member's.
      const sameRefund = (earlier: { order_id: string; amount_fen: number }) => {
        if (earlier.order_id !== orderId || earlier.amount_fen !== amountFen) {
          throw new LedgerError(
            'REFUND_CONFLICT',
            `Refund ${refundId} was already recorded for another order or amount; give each refund its own id.`,
          );
        }
      };
      const existing = this.#repo.refund(refundId);
      if (existing) {
        sameRefund(existing);
        return this.#refundResult(existing, true);
      }
      const earlierNonMember = this.#rollups?.nonMemberRefund(refundId);
      if (earlierNonMember) {
        sameRefund(earlierNonMember);
        return this.#nonMemberRefundResult(orderId, amountFen, true);
      }
      const payment = this.#repo.payment(orderId);
      if (!payment) {
        const sale = this.#rollups?.nonMemberSale(orderId);
        if (sale) return this.#refundNonMemberSale(sale, refundId, amountFen, now);
        throw new LedgerError('ORDER_NOT_FOUND', `No payment with order id ${orderId} is recorded; record the payment first.`);
      }
      const memberId = payment.member_id;
      this.#requireMember(memberId);
      const refundedBefore = this.#repo.refundedFen(orderId);
      if (refundedBefore + amountFen > payment.amount_fen) {
        throw new LedgerError(
          'REFUND_EXCEEDS_PAYMENT',
          `Refund of ${fenToYuan(amountFen)} yuan on order ${orderId} exceeds what is left of the payment ` +
            `(${fenToYuan(payment.amount_fen - refundedBefore)} of ${fenToYuan(payment.amount_fen)} yuan).`,
        );
      }
      this.#addEntry(
        { memberId, kind: 'refund', spendFen: -amountFen, orderId, refId: refundId, atMs: payment.paid_at_ms },
        now,
      );
      // An order refunded in full is no purchase any more; it was counted on its first movement's day.
      const deduction = this.#repo.deduction(orderId);
      const orderFen = payment.amount_fen + (deduction?.amount_fen ?? 0);
      const orderGone = refundedBefore < orderFen && refundedBefore + amountFen >= orderFen;
      const countedAtMs = deduction ? Math.min(payment.paid_at_ms, deduction.recorded_at_ms) : payment.paid_at_ms;
      this.#rollups?.memberRefund(memberId, amountFen, payment.paid_at_ms, orderGone ? countedAtMs : undefined);
      const target = pointsToReverse(payment.points_earned, payment.amount_fen, refundedBefore, amountFen);
      const ownLot = this.#repo.orderLot(orderId);
      const lots: OpenLot[] = [
        ...(ownLot ? [ownLot] : []),
        ...this.#repo.ownOpenLots(memberId).filter((lot) => lot.lotEntryId !== ownLot?.lotEntryId),
      ];
      const { draws, drawn } = planDraw(lots, target);
      for (const draw of draws) {
        this.#addEntry(
          { memberId, kind: 'points-reverse', points: -draw.points, lotEntryId: draw.lotEntryId, orderId, refId: refundId, atMs: now },
          now,
        );
      }
      const before = this.#tierState(memberId, now);
      this.#applyActivity(memberId, before, now, 'spend');
      const row: RefundRow = {
        refund_id: refundId,
        order_id: orderId,
        member_id: memberId,
        amount_fen: amountFen,
        points_reversed: drawn,
        points_short: target - drawn,
        tier_name: tierAt(this.#tiers, before.rank).name,
        qualified_tier: tierAt(this.#tiers, this.#qualifiedRank(memberId, now)).name,
        recorded_at_ms: now,
      };
      this.#repo.addRefund(row);
      this.#audit.record({
        actor,
        action: 'refund',
        subject: memberId,
        details: { amountFen, pointsReversed: drawn, pointsShortfall: row.points_short },
      });
      return this.#refundResult(row, false);
    });
  }

  /** Tops up stored value once per recharge id, with the best matching bonus rule. */
  recharge(input: RechargeInput): RechargeResult {
    const memberId = checkId(input.memberId, 'member id');
    const rechargeId = checkId(input.rechargeId, 'recharge id');
    const amountFen = yuanToFen(input.amountYuan, { label: 'recharge amount', maxFen: this.#maxFen });
    const actor = input.actor ?? 'system';
    return this.#repo.write(() => {
      const now = this.#clock();
      const existing = this.#repo.recharge(rechargeId);
      if (existing) {
        if (existing.member_id !== memberId || existing.amount_fen !== amountFen) {
          throw new LedgerError(
            'RECHARGE_CONFLICT',
            `Recharge ${rechargeId} was already recorded for another member or amount; give each recharge its own id.`,
          );
        }
        return this.#rechargeResult(existing, true, null);
      }
      this.#requireMember(memberId);
      const before = this.#tierState(memberId, now);
      const bonusFen = rechargeBonusFen(this.#bonusRules, amountFen);
      this.#addEntry({ memberId, kind: 'recharge', storedFen: amountFen, refId: rechargeId, atMs: now }, now);
      if (bonusFen > 0) {
        this.#addEntry({ memberId, kind: 'recharge-bonus', storedFen: bonusFen, refId: rechargeId, atMs: now }, now);
      }
      const tierChange = this.#applyActivity(memberId, before, now, 'recharge');
      const tierBefore = tierAt(this.#tiers, before.rank).name;
      const row: RechargeRow = {
        recharge_id: rechargeId,
        member_id: memberId,
        amount_fen: amountFen,
        bonus_fen: bonusFen,
        tier_before: tierBefore,
        tier_after: tierChange?.to.name ?? tierBefore,
        actor,
        recorded_at_ms: now,
      };
      this.#repo.addRecharge(row);
      this.#audit.record({
        actor,
        action: 'recharge',
        subject: memberId,
        details: { amountFen, bonusFen, tierBefore: row.tier_before, tierAfter: row.tier_after },
      });
      return this.#rechargeResult(row, false, tierChange);
    });
  }

  /**
   * Pays (part of) an order from stored value, once per order id. Refused without the member's
   * confirmation and when the balance is short. A deduction is not spend: the money counted
   * when it was recharged (towards recharge tiers), so it earns no points and no tier spend.
   */
  deduct(input: DeductInput): DeductResult {
    const confirmation = checkDeductConfirmation(input.confirmation);
    const memberId = checkId(input.memberId, 'member id');
    const orderId = checkId(input.orderId, 'order id');
    const amountFen = yuanToFen(input.amountYuan, { label: 'deduction amount', maxFen: this.#maxFen });
    return this.#repo.write(() => {
      const now = this.#clock();
      const existing = this.#repo.deduction(orderId);
      if (existing) {
        if (existing.member_id !== memberId || existing.amount_fen !== amountFen) {
          throw new LedgerError(
            'ORDER_CONFLICT',
            `Order ${orderId} already has a stored-value deduction of another amount or member.`,
          );
        }
        return this.#deductResult(existing.member_id, orderId, existing.amount_fen, true);
      }
      this.#requireMember(memberId);
      const balanceFen = this.#repo.cachedBalances(memberId).storedFen;
      if (balanceFen < amountFen) {
        throw new LedgerError(
          'INSUFFICIENT_BALANCE',
          `The member's stored value is ${fenToYuan(balanceFen)} yuan, less than the ${fenToYuan(amountFen)} yuan ` +
            'to deduct; take the rest by another payment method.',
        );
      }
      this.#addEntry({ memberId, kind: 'deduct', storedFen: -amountFen, orderId, atMs: now }, now);
      // Stored value spent is a sale; the recharge that funded it was not.
      this.#rollups?.memberSale(memberId, amountFen, now, this.#repo.payment(orderId) === undefined);
      this.#repo.addDeduction({
        order_id: orderId,
        member_id: memberId,
        amount_fen: amountFen,
        confirmation_method: confirmation.method,
        staff: confirmation.staff,
        recorded_at_ms: now,
      });
      this.#audit.record({
        actor: confirmation.staff,
        action: 'deduct',
        subject: memberId,
        details: { amountFen, confirmation: confirmation.method },
      });
      return this.#deductResult(memberId, orderId, amountFen, false);
    });
  }

  /**
   * The local record of a stored-value deduction that HQ authorized for a chain store: HQ wrote
   * the entry (it reaches this store in HQ's feed, applied before this is called), so only the
   * order and its confirmation are recorded here. Once per order id, like `deduct`.
   */
  recordAuthorizedDeduction(input: DeductInput): DeductResult {
    const confirmation = checkDeductConfirmation(input.confirmation);
    const memberId = checkId(input.memberId, 'member id');
    const orderId = checkId(input.orderId, 'order id');
    const amountFen = yuanToFen(input.amountYuan, { label: 'deduction amount', maxFen: this.#maxFen });
    return this.#repo.write(() => {
      const now = this.#clock();
      const existing = this.#repo.deduction(orderId);
      if (existing) return this.#deductResult(existing.member_id, orderId, existing.amount_fen, true);
      this.#repo.addDeduction({
        order_id: orderId,
        member_id: memberId,
        amount_fen: amountFen,
        confirmation_method: confirmation.method,
        staff: confirmation.staff,
        recorded_at_ms: now,
      });
      this.#audit.record({ actor: confirmation.staff, action: 'deduct', subject: memberId, details: { amountFen, confirmation: confirmation.method, authorizedBy: 'hq' } });
      return this.#deductResult(memberId, orderId, amountFen, false);
    });
  }

  /** Checks a deduction (confirmation, member, amount) without writing: what a chain store sends HQ to authorize. */
  checkDeduction(input: DeductInput): { memberId: string; orderId: string; amountFen: Fen } {
    checkDeductConfirmation(input.confirmation);
    const memberId = checkId(input.memberId, 'member id');
    const orderId = checkId(input.orderId, 'order id');
    const amountFen = yuanToFen(input.amountYuan, { label: 'deduction amount', maxFen: this.#maxFen });
    this.#requireMember(memberId);
    return { memberId, orderId, amountFen };
  }

  /** The deduction already recorded for an order, if any (a retried request gets the first answer). */
  recordedDeduction(orderId: string): DeductResult | undefined {
    const existing = this.#repo.deduction(orderId);
    return existing && this.#deductResult(existing.member_id, orderId, existing.amount_fen, true);
  }

  /**
   * Entries from other branches arrived for the member: their tier rises if the chain-wide
   * spend now reaches a higher one (it never falls before the period ends, as everywhere).
   */
  refreshTier(memberId: string): TierChange | null {
    const now = this.#clock();
    return this.#applyActivity(memberId, this.#tierState(memberId, now), now, 'spend');
  }

  /**
   * Opening balances of a member brought from the shop's previous system, once per member:
   * an 'opening-points' lot (it expires pointsExpiryDays after the import, like points earned
   * that day) and 'opening-stored' value — ledger entries of their own kinds, so an opening
   * balance is never taken for a recharge (no recharge tier) or for points a payment earned —
   * and the tier the member held, kept for a full tier period from now.
   */
  recordOpeningBalances(input: OpeningBalancesInput): OpeningBalancesResult {
    const memberId = checkId(input.memberId, 'member id');
    if (!Number.isSafeInteger(input.points) || input.points < 0) {
      throw new LedgerError('INVALID_INPUT', 'Opening points must be a whole number of 0 or more.');
    }
    const storedFen = Number(input.storedYuan) === 0 ? 0 : yuanToFen(input.storedYuan, { label: 'opening stored value', maxFen: this.#maxFen });
    const tier = input.tier === null ? undefined : tierByName(this.#tiers, input.tier);
    if (input.tier !== null && !tier) {
      throw new LedgerError('INVALID_INPUT', `No tier "${input.tier}"; the tiers are ${this.#tiers.tiers.map((t) => t.name).join(', ')} (setting membership.tiers).`);
    }
    return this.#repo.write(() => {
      const now = this.#clock();
      this.#requireMember(memberId);
      if (this.#repo.entries(memberId).some((e) => e.kind === 'opening-points' || e.kind === 'opening-stored')) {
        throw new LedgerError('OPENING_EXISTS', `Member ${memberId} already has opening balances; correct them with a recharge, a deduction or points.`);
      }
      if (input.points > 0) this.#addEntry({ memberId, kind: 'opening-points', points: input.points, refId: 'import', atMs: now }, now);
      if (storedFen > 0) this.#addEntry({ memberId, kind: 'opening-stored', storedFen, refId: 'import', atMs: now }, now);
      const before = this.#tierState(memberId, now);
      const rank = Math.max(tier?.rank ?? 0, this.#qualifiedRank(memberId, now), before.rank);
      this.#repo.writeTier(memberId, tierAt(this.#tiers, rank).name, now + this.#tiers.periodMs, now);
      this.#audit.record({ actor: input.actor, action: 'import', subject: memberId, details: { what: 'opening-balances', points: input.points, storedFen, tier: tierAt(this.#tiers, rank).name } });
      return { memberId, points: input.points, storedYuan: fenToYuan(storedFen), tier: tierAt(this.#tiers, rank).name };
    });
  }

  /**
   * A purchase from before memberlens ran at the till, once per order id: a 'spend' entry at
   * its own time, so it counts for the member's segments (RFM) and their tier spend window as
   * it did in the shop, but no payments row (no lane, channel or payer) and no points — the
   * opening points already hold what it earned. `duplicate` when it was recorded before.
   */
  recordPastPurchase(input: PastPurchaseInput): { memberId: string; orderId: string; duplicate: boolean } {
    const memberId = checkId(input.memberId, 'member id');
    const orderId = checkId(input.orderId, 'order id');
    const amountFen = yuanToFen(input.amountYuan, { label: 'purchase amount', maxFen: this.#maxFen });
    const paidAtMs = this.#checkPaidAt(input.paidAtMs);
    return this.#repo.write(() => {
      const now = this.#clock();
      const existing = this.#repo.orderEntries(orderId);
      if (existing.length > 0) {
        const same = existing.length === 1 && existing[0]!.memberId === memberId && existing[0]!.spendFen === amountFen && existing[0]!.atMs === paidAtMs;
        if (!same) {
          throw new LedgerError('ORDER_CONFLICT', `Order ${orderId} is already in the ledger with another member, amount or time; give each purchase its own order number.`);
        }
        return { memberId, orderId, duplicate: true };
      }
      this.#requireMember(memberId);
      // Not a sale at this till: the dashboard's rollups leave it out (segments still count it).
      this.#repo.addEntry({ memberId, kind: 'spend', spendFen: amountFen, orderId, refId: 'import', atMs: paidAtMs }, now);
      return { memberId, orderId, duplicate: false };
    });
  }

  /** Spends points, oldest first, once per order id; never more than the usable points. */
  redeemPoints(memberId: string, points: number, orderId: string): RedeemResult {
    const id = checkId(memberId, 'member id');
    const order = checkId(orderId, 'order id');
    if (!Number.isSafeInteger(points) || points <= 0) {
      throw new LedgerError('INVALID_INPUT', 'Points to redeem must be a whole number above 0.');
    }
    return this.#repo.write(() => {
      const now = this.#clock();
      const existing = this.#repo.redemption(order);
      if (existing) {
        if (existing.member_id !== id || existing.points !== points) {
          throw new LedgerError('ORDER_CONFLICT', `Order ${order} already redeemed another number of points or member.`);
        }
        return { memberId: id, orderId: order, pointsRedeemed: points, pointsLeft: this.#usablePoints(id, now), duplicate: true };
      }
      this.#requireMember(id);
      const lots = this.#repo.openLots(id, expiryCutoffMs(this.#points, now));
      const { draws, drawn } = planDraw(lots, points);
      if (drawn < points) {
        throw new LedgerError(
          'INSUFFICIENT_POINTS',
          `The member has ${sumRemaining(lots)} usable points, fewer than the ${points} to redeem.`,
        );
      }
      for (const draw of draws) {
        this.#addEntry(
          { memberId: id, kind: 'points-redeem', points: -draw.points, lotEntryId: draw.lotEntryId, orderId: order, atMs: now },
          now,
        );
      }
      this.#repo.addRedemption({ order_id: order, member_id: id, points, recorded_at_ms: now });
      this.#audit.record({ actor: 'system', action: 'points.redeem', subject: id, details: { points } });
      return { memberId: id, orderId: order, pointsRedeemed: points, pointsLeft: this.#usablePoints(id, now), duplicate: false };
    });
  }

  /**
   * Expires what is left of every points lot earned `pointsExpiryDays` or more before
   * `nowMs`. The service calls it daily; running it twice expires nothing more.
   */
  expirePoints(nowMs: EpochMs = this.#clock()): PointsExpiry {
    return this.#repo.write(() => {
      const recordedAt = this.#clock();
      const perMember = new Map<string, number>();
      for (const lot of this.#repo.expiredLots(expiryCutoffMs(this.#points, nowMs))) {
        this.#addEntry(
          { memberId: lot.memberId, kind: 'points-expire', points: -lot.remaining, lotEntryId: lot.lotEntryId, atMs: nowMs },
          recordedAt,
        );
        perMember.set(lot.memberId, (perMember.get(lot.memberId) ?? 0) + lot.remaining);
      }
      const members = [...perMember].map(([memberId, points]) => ({ memberId, points }));
      return { pointsExpired: members.reduce((sum, m) => sum + m.points, 0), members };
    });
  }

  /**
   * The daily tier check: members whose period has ended move to the tier their spend and
   * recharges in the window reach now — the only place a tier goes down.
   */
  evaluateTierAtPeriodEnd(nowMs: EpochMs = this.#clock()): TierChange[] {
    return this.#repo.write(() => {
      const changes: TierChange[] = [];
      for (const row of this.#repo.tiersEndingBy(nowMs)) {
        const before = this.#tierState(row.member_id, nowMs);
        const after = atPeriodEnd(this.#tiers, before, this.#qualifiedRank(row.member_id, nowMs), nowMs);
        this.#repo.writeTier(row.member_id, tierAt(this.#tiers, after.rank).name, after.periodEndAtMs, nowMs);
        if (after.rank !== before.rank) changes.push(this.#tierChange(row.member_id, before.rank, after.rank, 'period-end'));
      }
      return changes;
    });
  }

  memberSummary(memberId: string, nowMs: EpochMs = this.#clock()): MemberSummary {
    this.#requireMember(memberId);
    const tier = tierAt(this.#tiers, this.#tierState(memberId, nowMs).rank);
    return {
      tier: { name: tier.name, discountRate: tier.discountRate },
      points: this.#usablePoints(memberId, nowMs),
      balanceYuan: fenToYuan(this.#repo.cachedBalances(memberId).storedFen),
      spendInWindowYuan: fenToYuan(this.#repo.spendSince(memberId, windowStartMs(this.#tiers, nowMs))),
    };
  }

  /** The next tier up and the spend in the tier window still needed to reach it; null at the top tier. */
  nextTier(memberId: string, nowMs: EpochMs = this.#clock()): { name: string; spendToGoFen: Fen } | null {
    const rank = this.#tierState(memberId, nowMs).rank;
    const next = this.#tiers.tiers[rank + 1];
    if (!next) return null;
    const spent = this.#repo.spendSince(memberId, windowStartMs(this.#tiers, nowMs));
    return { name: next.name, spendToGoFen: Math.max(0, next.minSpendFen - spent) };
  }

  /** Points usable now that will have expired `withinMs` from now. */
  pointsExpiringWithin(memberId: string, withinMs: number, nowMs: EpochMs = this.#clock()): number {
    return this.#usablePoints(memberId, nowMs) - this.#usablePoints(memberId, nowMs + withinMs);
  }

  /**
   * Points a campaign gives (a check-in, a birthday bonus): one earn entry, a lot that expires
   * like any other. The campaign records its firing in the same transaction, which makes it once.
   */
  awardPoints(memberId: string, points: number, refId: string): void {
    if (!Number.isSafeInteger(points) || points <= 0) throw new LedgerError('INVALID_INPUT', 'Points to award must be a whole number above 0.');
    this.#repo.write(() => {
      this.#requireMember(memberId);
      const now = this.#clock();
      this.#repo.addEntry({ memberId, kind: 'points-earn', points, refId: checkId(refId, 'award id'), atMs: now }, now);
      this.#audit.record({ actor: 'system', action: 'points.award', subject: memberId, details: { points, refId } });
    });
  }

  /** The member's balances from the cache (fast); `recomputeBalances` checks them. */
  balances(memberId: string): MemberBalances {
    return this.#repo.cachedBalances(memberId);
  }

  /** Adds the member's entries up again, compares with the cache and repairs the cache if it drifted. */
  recomputeBalances(memberId: string): BalanceCheck {
    return this.#repo.write(() => {
      this.#requireMember(memberId);
      const balances = this.#repo.balancesFromEntries(memberId);
      const lots = this.#repo.lotsFromEntries(memberId);
      const cacheWasCorrect =
        sameBalances(balances, this.#repo.cachedBalances(memberId)) && sameLots(lots, this.#repo.cachedLots(memberId));
      if (!cacheWasCorrect) {
        this.#repo.writeBalances(memberId, balances);
        for (const lot of lots) this.#repo.writeLot(memberId, lot);
      }
      return { balances, cacheWasCorrect };
    });
  }

  /** The member's ledger lines in the order they were written. */
  entries(memberId: string): LedgerEntry[] {
    return this.#repo.entries(memberId);
  }

  #addEntry(entry: Parameters<MembershipRepository['addEntry']>[0], recordedAtMs: EpochMs): number {
    const id = this.#repo.addEntry(entry, recordedAtMs);
    this.#rollups?.liability(entry);
    return id;
  }

  #rollupsRequired(): RollupRepository {
    if (!this.#rollups) throw new LedgerError('INVALID_INPUT', 'Cash sales need the store\'s rollups; open the ledger through MemberStore.');
    return this.#rollups;
  }

  #refundNonMemberSale(sale: NonMemberSaleRow, refundId: string, amountFen: Fen, now: EpochMs): RefundResult {
    const rollups = this.#rollupsRequired();
    const refundedBefore = rollups.nonMemberRefundedFen(sale.order_id);
    if (refundedBefore + amountFen > sale.amount_fen) {
      throw new LedgerError(
        'REFUND_EXCEEDS_PAYMENT',
        `Refund of ${fenToYuan(amountFen)} yuan on order ${sale.order_id} exceeds what is left of the sale ` +
          `(${fenToYuan(sale.amount_fen - refundedBefore)} of ${fenToYuan(sale.amount_fen)} yuan).`,
      );
    }
    rollups.addNonMemberRefund({ refund_id: refundId, order_id: sale.order_id, amount_fen: amountFen, recorded_at_ms: now });
    rollups.nonMemberRefundCounted(amountFen, sale.paid_at_ms, refundedBefore + amountFen === sale.amount_fen);
    return this.#nonMemberRefundResult(sale.order_id, amountFen, false);
  }

  #nonMemberRefundResult(orderId: string, amountFen: Fen, duplicate: boolean): RefundResult {
    return {
      memberId: null,
      orderId,
      refundedYuan: fenToYuan(amountFen),
      totalRefundedYuan: fenToYuan(this.#rollupsRequired().nonMemberRefundedFen(orderId)),
      pointsReversed: 0,
      pointsShortfall: 0,
      tier: '',
      qualifiedTier: '',
      duplicate,
    };
  }

  #createMemberForPayer(payerKey: string, channel: string, lane: string, now: EpochMs): string {
    const member = this.#members.create({ name: 'member' });
    // The placeholder name comes from the id, which only exists once the row does; the shop
    // can rename the member later. Last 4 characters: enough for staff to tell people apart.
    this.#repo.renameMember(member.id, `会员 ${member.id.slice(-4)}`, now);
    this.#repo.linkPayer(payerKey, member.id, channel, now);
    this.#audit.record({
      actor: `lane:${lane}`,
      action: 'member.create',
      subject: member.id,
      details: { source: 'payment', channel },
    });
    return member.id;
  }

  #tierState(memberId: string, nowMs: EpochMs): ResolvedTier {
    const row = this.#repo.tier(memberId);
    if (!row) return { rank: 0, periodEndAtMs: nowMs, stored: false };
    const tier = tierByName(this.#tiers, row.tier_name);
    // A tier renamed or removed in settings: place the member by what they qualify for now
    // rather than dropping them to the base tier for a settings edit.
    if (!tier) return { rank: this.#qualifiedRank(memberId, nowMs), periodEndAtMs: row.period_end_at_ms, stored: false };
    return { rank: tier.rank, periodEndAtMs: row.period_end_at_ms, stored: true };
  }

  #qualifiedRank(memberId: string, nowMs: EpochMs): number {
    const since = windowStartMs(this.#tiers, nowMs);
    return qualifiedRank(this.#tiers, {
      spendInWindowFen: this.#repo.spendSince(memberId, since),
      largestRechargeInWindowFen: this.#repo.largestRechargeSince(memberId, since),
    });
  }

  /** Upgrades at once when the member now qualifies higher; never downgrades. */
  #applyActivity(memberId: string, before: ResolvedTier, nowMs: EpochMs, reason: TierChange['reason']): TierChange | null {
    const after = onActivity(this.#tiers, before, this.#qualifiedRank(memberId, nowMs), nowMs);
    if (after === before && before.stored) return null;
    this.#repo.writeTier(memberId, tierAt(this.#tiers, after.rank).name, after.periodEndAtMs, nowMs);
    return after.rank === before.rank ? null : this.#tierChange(memberId, before.rank, after.rank, reason);
  }

  #tierChange(memberId: string, fromRank: number, toRank: number, reason: TierChange['reason']): TierChange {
    return { memberId, from: this.#tierView(fromRank), to: this.#tierView(toRank), reason };
  }

  #tierView(rank: number): TierView {
    const tier = tierAt(this.#tiers, rank);
    return { name: tier.name, discountRate: tier.discountRate };
  }

  #usablePoints(memberId: string, nowMs: EpochMs): number {
    return sumRemaining(this.#repo.openLots(memberId, expiryCutoffMs(this.#points, nowMs)));
  }

  #requireMember(memberId: string): void {
    if (!this.#members.get(memberId)) {
      throw new LedgerError('MEMBER_NOT_FOUND', `No member ${memberId}; it may have been deleted.`);
    }
  }

  #checkPaidAt(paidAtMs: EpochMs): EpochMs {
    if (!Number.isSafeInteger(paidAtMs) || paidAtMs < 0) {
      throw new LedgerError('INVALID_INPUT', 'paidAtMs must be a time in whole milliseconds since 1970.');
    }
    // A time far ahead would keep the spend in the tier window and the points alive for too long.
    if (paidAtMs > this.#clock() + this.#futureToleranceMs) {
      throw new LedgerError(
        'INVALID_INPUT',
        'paidAtMs lies in the future; check the clock of the POS or payment gateway and of this device.',
      );
    }
    return paidAtMs;
  }

  #refundResult(row: RefundRow, duplicate: boolean): RefundResult {
    return {
      memberId: row.member_id,
      orderId: row.order_id,
      refundedYuan: fenToYuan(row.amount_fen),
      totalRefundedYuan: fenToYuan(this.#repo.refundedFen(row.order_id)),
      pointsReversed: row.points_reversed,
      pointsShortfall: row.points_short,
      tier: row.tier_name,
      qualifiedTier: row.qualified_tier,
      duplicate,
    };
  }

  #rechargeResult(row: RechargeRow, duplicate: boolean, tierChange: TierChange | null): RechargeResult {
    return {
      memberId: row.member_id,
      rechargedYuan: fenToYuan(row.amount_fen),
      bonusYuan: fenToYuan(row.bonus_fen),
      balanceYuan: fenToYuan(this.#repo.cachedBalances(row.member_id).storedFen),
      tierBefore: row.tier_before,
      tierAfter: row.tier_after,
      duplicate,
      tierChange,
    };
  }

  #deductResult(memberId: string, orderId: string, amountFen: Fen, duplicate: boolean): DeductResult {
    return {
      memberId,
      orderId,
      deductedYuan: fenToYuan(amountFen),
      balanceYuan: fenToYuan(this.#repo.cachedBalances(memberId).storedFen),
      duplicate,
    };
  }
}

const CASH = 'cash';

function orderConflict(orderId: string): LedgerError {
  return new LedgerError(
    'ORDER_CONFLICT',
    `Order ${orderId} was already recorded with a different payer, amount, time or lane. ` +
      'Give each payment its own order id; a correction of a recorded payment is a refund.',
  );
}

function nonMemberSaleResult(duplicate: boolean): CashSaleResult {
  return { memberId: null, created: false, discountRateApplied: 1, pointsEarned: 0, tierBefore: null, tierAfter: null, duplicate, tierChange: null };
}

function paymentResult(row: PaymentRow, duplicate: boolean, tierChange: TierChange | null): PaymentResult {
  return {
    memberId: row.member_id,
    created: row.member_created === 1,
    discountRateApplied: row.discount_rate_applied,
    pointsEarned: row.points_earned,
    tierBefore: row.tier_before,
    tierAfter: row.tier_after,
    duplicate,
    tierChange,
  };
}

function checkId(value: string, label: string): string {
  // Ids from the POS are echoed in error messages, so they must be short plain text.
  if (typeof value !== 'string' || value.length === 0 || value.length > MAX_ID_LENGTH || /[\u0000-\u001f]/.test(value)) {
    throw new LedgerError('INVALID_INPUT', `The ${label} must be 1 to ${MAX_ID_LENGTH} printable characters.`);
  }
  return value;
}

function sumRemaining(lots: readonly OpenLot[]): number {
  return lots.reduce((sum, lot) => sum + lot.remaining, 0);
}

function sameBalances(a: MemberBalances, b: MemberBalances): boolean {
  return a.lifetimeSpendFen === b.lifetimeSpendFen && a.points === b.points && a.storedFen === b.storedFen;
}

function sameLots(a: readonly LotState[], b: readonly LotState[]): boolean {
  return (
    a.length === b.length &&
    a.every((lot, i) => {
      const other = b[i];
      return other !== undefined && other.lotEntryId === lot.lotEntryId && other.remaining === lot.remaining && other.earnedAtMs === lot.earnedAtMs;
    })
  );
}
