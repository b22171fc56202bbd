import type {
  AppliedCoupon,
  CashSaleResult,
  DeductInput,
  DeductResult,
  MemberStore,
  PaymentResult,
  RechargeInput,
  RecordCashSaleInput,
  RecordPaymentInput,
  RecordRefundInput,
  TierChange,
} from '../ledger/index.js';
import type { TillNotifier } from '../push/tillNotifier.js';
import type { MemberService, MemberView } from './memberService.js';
import type { SegmentService } from './segmentService.js';

/**
 * Payments, refunds, recharges and deductions: each is one group-committed ledger write, then
 * the till events it implies — a member created by a payment (支付即会员), a tier reached or
 * lost — whichever operation caused it. Tier changes without a lane (a recharge at the admin
 * desk, the period-end job) go to every lane's till.
 */
export class MembershipService {
  constructor(
    private readonly deps: {
      store: Pick<MemberStore, 'writeInGroup' | 'inTransaction' | 'membership' | 'audit' | 'coupons' | 'rollups'>;
      members: Pick<MemberService, 'view'>;
      till: TillNotifier;
      /** Recomputes the member's lifecycle and RFM segment after each ledger write. */
      segments: Pick<SegmentService, 'recompute'>;
      /** In a chain, stored value is spent only with HQ's authorization (see ChainSync). */
      spending?: { deduct(input: DeductInput): Promise<DeductResult> };
    },
  ) {}

  /**
   * Records a payment; with `couponId` the coupon is redeemed in the same commit and
   * `input.amountYuan` is the order before it (see CouponLedger.recordPaymentWithCoupon).
   */
  async recordPayment(input: RecordPaymentInput & { couponId?: string }): Promise<{ result: PaymentResult; view: MemberView; coupon: AppliedCoupon | null }> {
    const { store, till } = this.deps;
    const { couponId, ...payment } = input;
    const { result, coupon } = await this.write(
      () => (couponId === undefined ? { result: store.membership.recordPayment(payment), coupon: null } : store.coupons.recordPaymentWithCoupon(payment, couponId)),
      (r) => r.result.memberId,
    );
    const view = this.deps.members.view(result.memberId)!;
    if (!result.duplicate && result.created) {
      till.toLane(input.lane, 'member:enrolled', { memberId: view.memberId, name: view.name, tier: view.tier, via: 'payment' });
    }
    this.tellTierChange(result.tierChange, input.lane);
    return { result, view, coupon };
  }

  /** A cash sale: a payment of the member the lane named, or a sale without a member. */
  async recordCashSale(input: RecordCashSaleInput): Promise<{ result: CashSaleResult; view: MemberView | undefined }> {
    const { store } = this.deps;
    const result = await this.write(() => store.membership.recordCashSale(input));
    const view = result.memberId === null ? undefined : this.deps.members.view(result.memberId);
    this.tellTierChange(result.tierChange, input.lane);
    return { result, view };
  }

  /** The payer was the face at the scanner (confirmed, linked, or a cash customer named by face): the dashboard counts it. */
  countFaceLinkedPayment(lane: string, atMs: number): void {
    const { store } = this.deps;
    store.inTransaction(() => store.rollups.faceLinkedPayment(lane, atMs));
  }

  async recordRefund(input: RecordRefundInput) {
    const { store } = this.deps;
    return this.write(() => store.membership.recordRefund(input));
  }

  /** `lane`: the till where the member recharges, when known; else every till hears of a tier change. */
  async recharge(input: RechargeInput, lane?: string) {
    const { store } = this.deps;
    const result = await this.write(() => store.membership.recharge(input));
    this.tellTierChange(result.tierChange, lane);
    return result;
  }

  async deduct(input: DeductInput): Promise<DeductResult> {
    const { store, spending } = this.deps;
    if (spending) return spending.deduct(input);
    return this.write(() => store.membership.deduct(input));
  }

  /**
   * The face at the scanner is one member and the payer another: neither is changed, and the
   * case waits on the admin page's review list.
   */
  flagForReview(input: { actor: string; orderId: string; lane: string; faceMemberId: string; payerMemberId: string }): void {
    const { actor, ...details } = input;
    this.deps.store.audit.record({ actor, action: 'review.flag', subject: input.payerMemberId, details });
  }

  /** Flagged conflicts, newest first; `nextBefore` is the `before` of the next (older) page, null after the last. */
  reviews(page: { limit: number; before?: number }): { reviews: Record<string, unknown>[]; nextBefore: number | null } {
    const flags = this.deps.store.audit.listByAction('review.flag', { limit: page.limit + 1, beforeId: page.before });
    const shown = flags.slice(0, page.limit);
    return {
      reviews: shown.map((e) => ({ ...e.details, id: e.id, at: new Date(e.atMs).toISOString(), memberId: e.subject })),
      nextBefore: flags.length > page.limit ? shown[shown.length - 1]!.id : null,
    };
  }

  /** Points expiry and tier downgrades at period end; idempotent, run by a stage. */
  runPeriodJobs(): { pointsExpired: number; tierChanges: number } {
    const { membership } = this.deps.store;
    const expired = membership.expirePoints();
    const changes = membership.evaluateTierAtPeriodEnd();
    for (const change of changes) this.tellTierChange(change, undefined);
    return { pointsExpired: expired.pointsExpired, tierChanges: changes.length };
  }

  /** One ledger write in the next group commit, the member's segment recomputed in the same commit. */
  private write<T>(change: () => T, memberOf: (result: T) => string | null = (r) => (r as { memberId: string | null }).memberId): Promise<T> {
    return this.deps.store.writeInGroup(() => {
      const result = change();
      const memberId = memberOf(result);
      if (memberId !== null) this.deps.segments.recompute(memberId);
      return result;
    });
  }

  private tellTierChange(change: TierChange | null, lane: string | undefined): void {
    if (!change) return;
    const view = this.deps.members.view(change.memberId);
    if (!view) return;
    const body = { memberId: view.memberId, name: view.name, from: change.from, to: change.to };
    if (lane === undefined) this.deps.till.toAllLanes('tier:changed', body);
    else this.deps.till.toLane(lane, 'tier:changed', body);
  }
}
