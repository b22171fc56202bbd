import { createHash } from 'node:crypto';
import type { CampaignSettings, CouponTermsSetting } from '../config/settingsSchema.js';
import { UserError } from '../core/errors.js';
import type { CouponBatchResult, MemberStore, SegmentFilter } from '../ledger/index.js';
import { couponFromTerms, couponStatus, type CouponRecord, type CouponStatus } from '../operations/coupons.js';
import type { SegmentService } from './segmentService.js';

/** A coupon as the API and the till show it. */
export interface CouponView {
  couponId: string;
  title: string;
  kind: 'amount' | 'rate';
  amountOffYuan?: number;
  rate?: number;
  minSpendYuan: number;
  validFrom: string;
  validUntil: string;
  issuedAt: string;
  source: 'batch' | 'rule';
  status: CouponStatus;
  redeemed?: { orderId: string; discountYuan: number; at: string };
}

export interface CouponBatchRequest {
  batchId: string;
  segment: SegmentFilter;
  coupon: CouponTermsSetting;
  actor: string;
}

/**
 * Coupons for the owner and the till: admin batches to a segment, a member's list, and the
 * expiry of coupons past their validity. Redemption belongs to the payment (MembershipService).
 */
export class CouponService {
  readonly #clock: () => number;

  constructor(
    private readonly deps: {
      store: Pick<MemberStore, 'coupons' | 'members' | 'campaigns'>;
      segments: Pick<SegmentService, 'fillMissing'>;
      settings: Pick<CampaignSettings, 'batchMaxMembers'>;
      clock?: () => number;
    },
  ) {
    this.#clock = deps.clock ?? Date.now;
  }

  /**
   * Issues the coupon to every member of the segment, once per batch id. Members who opted
   * out of marketing get none; they count as skipped.
   */
  issueBatch(request: CouponBatchRequest): CouponBatchResult & { optedOut: number } {
    const { store, settings } = this.deps;
    const { segment, coupon: terms } = request;
    if (segment.lifecycle === undefined && segment.rfm === undefined && segment.tag === undefined) {
      throw new UserError('Name the segment: give segment.lifecycle, segment.rfm or segment.tag (or several).', 'invalid-input');
    }
    // Members who joined since the last full pass have no stored segment yet.
    this.deps.segments.fillMissing();
    const members = store.members.list({ ...segment, limit: settings.batchMaxMembers + 1 });
    if (members.length > settings.batchMaxMembers) {
      throw new UserError(`The segment has more than ${settings.batchMaxMembers} members (campaigns.batchMaxMembers); narrow it with a tag or an RFM segment.`, 'batch-too-large');
    }
    const reachable = members.filter((m) => !store.campaigns.preferences(m.id)?.marketingOptOut).map((m) => m.id);
    const requestDigest = createHash('sha256').update(JSON.stringify({ segment, terms })).digest('hex');
    const result = store.coupons.issueBatch({
      batchId: request.batchId,
      requestDigest,
      filter: segment,
      terms,
      memberIds: reachable,
      coupon: couponFromTerms(terms, this.#clock()),
      actor: request.actor,
    });
    return { ...result, optedOut: members.length - reachable.length };
  }

  /** The member's coupons, newest first; undefined for no member. */
  couponsOf(memberId: string): CouponView[] | undefined {
    const { store } = this.deps;
    if (!store.members.get(memberId)) return undefined;
    const now = this.#clock();
    return store.coupons.forMember(memberId).map((c) => couponView(c, now));
  }

  /** Records coupons past their validity as expired; run by a stage. */
  expireDue(): number {
    return this.deps.store.coupons.expireDue(this.#clock());
  }
}

function couponView(c: CouponRecord, nowMs: number): CouponView {
  const view: CouponView = {
    couponId: c.couponId,
    title: c.title,
    kind: c.amountOffFen === null ? 'rate' : 'amount',
    minSpendYuan: c.minSpendFen / 100,
    validFrom: new Date(c.validFromMs).toISOString(),
    validUntil: new Date(c.validUntilMs).toISOString(),
    issuedAt: new Date(c.issuedAtMs).toISOString(),
    source: c.source,
    status: couponStatus(c, nowMs),
  };
  if (c.amountOffFen !== null) view.amountOffYuan = c.amountOffFen / 100;
  if (c.rate !== null) view.rate = c.rate;
  if (c.redeemed) view.redeemed = { orderId: c.redeemed.orderId, discountYuan: c.redeemed.discountFen / 100, at: new Date(c.redeemed.atMs).toISOString() };
  return view;
}
