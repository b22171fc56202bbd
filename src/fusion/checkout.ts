import { randomUUID } from 'node:crypto';
import { UserError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { MemberStore } from '../ledger/index.js';
import type { PaymentChannel } from '../ledger/paymentChannels.js';
import type { PaymentLinked, ScanClassified } from '../push/tillEvents.js';
import type { TillNotifier } from '../push/tillNotifier.js';
import type { MemberService, MemberView } from '../services/memberService.js';
import type { CampaignService } from '../services/campaignService.js';
import type { MembershipService } from '../services/membershipService.js';
import { couponDiscountFen, couponStatus } from '../operations/coupons.js';
import { CounterHolds } from './counterHolds.js';
import type { LaneFusion } from './laneFusion.js';
import type { PaymentProvider } from './paymentProvider.js';
import { classifyScan, type ScanClassification } from './scanClassifier.js';

export type ConsentPolicy = 'confirm' | 'signage' | 'off';

export interface CheckoutOptions {
  consentPolicy: ConsentPolicy;
  consentRequestTtlMs: number;
  memberQrSecret: Buffer;
  /** Frames of a track that must have passed the enrollment gate before its face may be captured. */
  minFramesSeen: number;
  /** A coupon applied at the till, or a member QR scanned, counts for a payment this long after. */
  holdWindowMs: number;
}

/** What the checkout needs of a lane: the fusion of scans and faces, and the tracker's captures. */
export interface CheckoutLane {
  fusion: Pick<LaneFusion, 'onScan' | 'onPayment' | 'identifyCashCustomer'>;
  tracker: { enrollCaptureOf(trackId: string): { descriptor: Float32Array; frames: number } | undefined };
}

/** The few lookups the checkout makes itself; everything that changes data goes through a service. */
export type CheckoutLookups = {
  members: Pick<MemberStore['members'], 'list'>;
  faces: Pick<MemberStore['faces'], 'listForMember'>;
  membership: Pick<MemberStore['membership'], 'lookupPayer'>;
  coupons: Pick<MemberStore['coupons'], 'get'>;
};

export interface CheckoutDeps {
  store: CheckoutLookups;
  members: Pick<MemberService, 'view' | 'enrollCapturedFace' | 'recordFaceConsentDeclined' | 'addConfirmedVisitFace'>;
  membership: Pick<MembershipService, 'recordPayment' | 'recordCashSale' | 'flagForReview' | 'countFaceLinkedPayment'>;
  /** Prompts for a member scanned at the lane, and what a payment earns from campaigns. */
  campaigns: Pick<CampaignService, 'atCounter' | 'afterPayment'>;
  provider: PaymentProvider;
  lanes: (lane: string) => CheckoutLane | undefined;
  till: TillNotifier;
  options: CheckoutOptions;
  log: Logger;
  clock?: () => number;
}

export interface PaymentInput {
  orderId: string;
  lane: string;
  channel: PaymentChannel;
  appId: string;
  payerId: string;
  /** Yuan, as a number or a decimal string; the ledger checks it. */
  amount: number | string;
  paidAtMs: number;
  actor: string;
  /** A coupon of the payer's; `amount` is then the order before it. */
  couponId?: string;
}

/** A cash sale at a lane: no payer id; the lane tells whether a member is paying. */
export interface CashSaleInput {
  orderId: string;
  lane: string;
  /** Yuan, as a number or a decimal string; the ledger checks it. */
  amount: number | string;
  paidAtMs: number;
  actor: string;
}

/** A face captured at the till, waiting for the customer's answer. Memory only. */
interface PendingConsent {
  lane: string;
  memberId: string;
  descriptor: Float32Array;
  expiresAtMs: number;
}

/**
 * The checkout at one store: scans are classified and handed to the lane's fusion, payments go
 * into the ledger (a first-time payer becomes a member), and the face that stood at the scanner
 * is linked to the payer only when attribution is unambiguous and the customer consents.
 * Faces of people who do not consent never leave memory and are wiped when their request ends.
 */
export class Checkout {
  private readonly pending = new Map<string, PendingConsent>();
  private readonly clock: () => number;
  private readonly holds: CounterHolds;

  constructor(private readonly deps: CheckoutDeps) {
    this.clock = deps.clock ?? Date.now;
    this.holds = new CounterHolds(deps.options.holdWindowMs);
  }

  /** Classifies a scan and tells the till; the raw code is used here and forgotten. */
  async scan(lane: string, code: string, atMs: number): Promise<Omit<ScanClassified, 'eventId' | 'lane' | 'at'>> {
    const laneState = this.requireLane(lane);
    const classification = classifyScan(code, { memberQrSecret: this.deps.options.memberQrSecret, nowMs: atMs });
    laneState.fusion.onScan({ atMs, classification });
    const view = await this.memberOfScan(classification, code);
    const event: Omit<ScanClassified, 'eventId' | 'lane' | 'at'> = { kind: classification.kind };
    if (classification.kind === 'payment') event.channel = classification.channel;
    if (classification.kind === 'rejected') event.message = classification.message;
    if (classification.kind === 'member-qr' && view) this.holds.noteMemberQr(lane, view.memberId, atMs);
    if (view) {
      const prompts = this.deps.campaigns.atCounter(view.memberId, lane, classification.kind === 'rejected' ? 'member-qr' : classification.kind);
      Object.assign(event, { memberId: view.memberId, name: view.name, tier: view.tier, points: view.points, balance: view.balance, prompts });
    }
    this.deps.till.toLane(lane, 'scan:classified', event);
    return event;
  }

  /** Records a payment (group-committed with others arriving at once), links the face at the scanner, tells the till. */
  async payment(input: PaymentInput) {
    const laneState = this.requireLane(input.lane);
    const couponId = input.couponId ?? this.heldCouponFor(input);
    const { result, view, coupon } = await this.deps.membership.recordPayment({
      orderId: input.orderId,
      lane: input.lane,
      channel: input.channel,
      appId: input.appId,
      payerId: input.payerId,
      amountYuan: input.amount,
      paidAtMs: input.paidAtMs,
      ...(couponId === undefined ? {} : { couponId }),
    });
    if (coupon) this.holds.releaseCoupon(input.lane, coupon.couponId);
    if (result.duplicate) return { ...result, coupon, face: 'duplicate' as const };
    const referrerId = result.created ? this.holds.takeReferrer(input.lane, this.clock()) : undefined;
    const prompts = this.deps.campaigns.afterPayment({
      memberId: result.memberId,
      orderId: input.orderId,
      lane: input.lane,
      created: result.created,
      paidFen: Math.round((coupon ? coupon.paidYuan : Number(input.amount)) * 100),
      pointsEarned: result.pointsEarned,
      ...(referrerId === undefined ? {} : { referrerId }),
    });

    const decision = laneState.fusion.onPayment({
      orderId: input.orderId,
      atMs: this.clock(),
      memberId: result.memberId,
      memberWasCreated: result.created,
      memberHasFace: this.deps.store.faces.listForMember(result.memberId).length > 0,
    });
    let face: PaymentLinked['face'] = 'no-link';
    if (decision.kind === 'confirmed') {
      face = 'confirmed';
      this.keepConfirmedVisitFace(input.lane, laneState, decision.trackId, result.memberId);
    }
    else if (decision.kind === 'conflict') {
      face = 'conflict';
      this.deps.membership.flagForReview({
        actor: input.actor,
        orderId: input.orderId,
        lane: input.lane,
        faceMemberId: decision.faceMemberId,
        payerMemberId: decision.payerMemberId,
      });
    } else if (decision.kind === 'link-face') {
      face = this.captureFace(input.lane, laneState, decision.trackId, view);
    }
    if (face === 'confirmed' || face === 'enrolled') this.deps.membership.countFaceLinkedPayment(input.lane, input.paidAtMs);
    this.deps.till.toLane(input.lane, 'payment:linked', {
      orderId: input.orderId,
      memberId: view.memberId,
      name: view.name,
      tier: view.tier,
      amount: coupon ? coupon.paidYuan : Number(input.amount),
      pointsEarned: result.pointsEarned,
      points: view.points,
      balance: view.balance,
      face,
      ...(coupon ? { coupon: { couponId: coupon.couponId, title: coupon.title, discountYuan: coupon.discountYuan } } : {}),
      prompts,
    });
    return { ...result, coupon, face };
  }

  /**
   * Records a cash sale: credited to the member the lane names unambiguously (a member QR just
   * scanned, or the one face at the counter named as a member), else a non-member sale. Only a
   * face already enrolled with the member's consent can name them; nobody new is enrolled here.
   */
  async cashSale(input: CashSaleInput) {
    const laneState = this.requireLane(input.lane);
    const customer = laneState.fusion.identifyCashCustomer(this.clock());
    const memberId = customer.kind === 'member' && this.deps.members.view(customer.memberId) ? customer.memberId : undefined;
    const { result, view } = await this.deps.membership.recordCashSale({
      orderId: input.orderId,
      lane: input.lane,
      memberId,
      amountYuan: input.amount,
      paidAtMs: input.paidAtMs,
    });
    const identifiedBy = result.duplicate || memberId === undefined || customer.kind !== 'member' ? null : customer.via;
    if (identifiedBy === 'face') this.deps.membership.countFaceLinkedPayment(input.lane, input.paidAtMs);
    if (!result.duplicate && view) {
      const prompts = this.deps.campaigns.afterPayment({
        memberId: view.memberId,
        orderId: input.orderId,
        lane: input.lane,
        created: false,
        paidFen: Math.round(Number(input.amount) * 100),
        pointsEarned: result.pointsEarned,
      });
      this.deps.till.toLane(input.lane, 'payment:linked', {
        orderId: input.orderId,
        memberId: view.memberId,
        name: view.name,
        tier: view.tier,
        amount: Number(input.amount),
        pointsEarned: result.pointsEarned,
        points: view.points,
        balance: view.balance,
        face: identifiedBy === 'face' ? 'confirmed' : 'no-link',
        prompts,
      });
    }
    return { ...result, identifiedBy };
  }

  /** The cashier records the customer's answer to a consent request. */
  answerConsent(lane: string, requestId: string, answer: 'granted' | 'declined', staff: string, actor: string) {
    const request = this.pending.get(requestId);
    if (!request || request.lane !== lane || request.expiresAtMs < this.clock()) {
      this.drop(requestId);
      throw new UserError('This consent request is unknown or expired; the captured face was discarded. Enroll from the admin page instead.', 'consent-request-not-found');
    }
    try {
      if (answer === 'declined') {
        this.deps.members.recordFaceConsentDeclined({ memberId: request.memberId, lane, actor });
        return { enrolled: false };
      }
      const faceId = this.deps.members.enrollCapturedFace({
        memberId: request.memberId,
        descriptor: request.descriptor,
        consent: { method: 'verbal-at-till', lane, staff },
        actor,
      });
      this.deps.membership.countFaceLinkedPayment(lane, this.clock());
      return { enrolled: true, faceId };
    } finally {
      this.drop(requestId);
    }
  }

  /** Wipes consent requests nobody answered in time; call from a timer. */
  expireConsentRequests(): number {
    const now = this.clock();
    let dropped = 0;
    for (const [id, request] of this.pending) {
      if (request.expiresAtMs < now) {
        this.drop(id);
        dropped++;
      }
    }
    return dropped;
  }

  /**
   * The cashier tapped a coupon on the till: it applies to the member's next payment at this
   * lane within the hold window, unless the POS names another. Refused when the coupon cannot
   * be used now.
   */
  holdCoupon(lane: string, couponId: string): { lane: string; couponId: string; memberId: string; heldUntil: string } {
    this.requireLane(lane);
    const coupon = this.deps.store.coupons.get(couponId);
    if (!coupon) throw new UserError(`No coupon ${couponId}.`, 'COUPON_NOT_FOUND');
    const now = this.clock();
    const status = couponStatus(coupon, now);
    if (status === 'redeemed') throw new UserError(`Coupon ${couponId} was already used.`, 'COUPON_USED');
    if (status === 'expired') throw new UserError(`Coupon ${couponId} has expired.`, 'COUPON_EXPIRED');
    if (status === 'not-yet-valid') throw new UserError(`Coupon ${couponId} is not valid yet.`, 'COUPON_NOT_YET_VALID');
    this.holds.holdCoupon(lane, couponId, coupon.memberId, now);
    return { lane, couponId, memberId: coupon.memberId, heldUntil: new Date(now + this.deps.options.holdWindowMs).toISOString() };
  }

  /** Drops held coupons and member QR scans older than the hold window; call from a timer. */
  expireHolds(): void {
    this.holds.expire(this.clock());
  }

  /** Faces waiting for an answer, for tests: each one is an embedding of a non-member held in memory. */
  pendingConsentCount(): number {
    return this.pending.size;
  }

  issueMemberQrFor(memberId: string, ttlMs: number, issue: (memberId: string, o: { secret: Buffer; ttlMs: number; nowMs: number }) => string) {
    if (!this.deps.members.view(memberId)) throw new UserError(`No member ${memberId}.`, 'member-not-found');
    const nowMs = this.clock();
    return { code: issue(memberId, { secret: this.deps.options.memberQrSecret, ttlMs, nowMs }), expiresAt: new Date(nowMs + ttlMs).toISOString() };
  }

  private captureFace(lane: string, laneState: CheckoutLane, trackId: string, view: MemberView): PaymentLinked['face'] {
    const { options } = this.deps;
    if (options.consentPolicy === 'off') return 'no-link';
    const capture = laneState.tracker.enrollCaptureOf(trackId);
    // One enrollment-grade frame may be a lucky detection of something that is not a face.
    if (!capture || capture.frames < options.minFramesSeen) {
      capture?.descriptor.fill(0);
      return 'no-link';
    }
    if (options.consentPolicy === 'signage') {
      try {
        this.deps.members.enrollCapturedFace({ memberId: view.memberId, descriptor: capture.descriptor, consent: { method: 'signage', lane, staff: null }, actor: `lane:${lane}` });
        return 'enrolled';
      } catch (err) {
        if (!(err instanceof UserError)) throw err;
        this.deps.log.info({ lane, code: err.code }, 'face not enrolled under signage consent');
        return 'no-link';
      } finally {
        capture.descriptor.fill(0);
      }
    }
    const requestId = randomUUID();
    const expiresAtMs = this.clock() + options.consentRequestTtlMs;
    this.pending.set(requestId, { lane, memberId: view.memberId, descriptor: capture.descriptor, expiresAtMs });
    this.deps.till.toLane(lane, 'consent:requested', { requestId, memberId: view.memberId, name: view.name, expiresAt: new Date(expiresAtMs).toISOString() });
    return 'consent-requested';
  }

  /** The payment confirms who the face at the scanner is: a good capture of it may become one more enrolled face. */
  private keepConfirmedVisitFace(lane: string, laneState: CheckoutLane, trackId: string, memberId: string): void {
    if (this.deps.options.consentPolicy === 'off') return;
    const capture = laneState.tracker.enrollCaptureOf(trackId);
    if (!capture) return;
    try {
      if (capture.frames >= this.deps.options.minFramesSeen) this.deps.members.addConfirmedVisitFace({ memberId, descriptor: capture.descriptor, lane });
    } finally {
      capture.descriptor.fill(0);
    }
  }

  /** The coupon held on the lane for this payer, when it discounts this order (a held coupon never makes a payment fail). */
  private heldCouponFor(input: PaymentInput): string | undefined {
    const payer = this.deps.store.membership.lookupPayer(input.channel, input.appId, input.payerId);
    const couponId = this.holds.heldCoupon(input.lane, payer, this.clock());
    const coupon = couponId === undefined ? undefined : this.deps.store.coupons.get(couponId);
    if (!coupon || couponStatus(coupon, this.clock()) !== 'available') return undefined;
    const orderFen = Math.round(Number(input.amount) * 100);
    return Number.isFinite(orderFen) && couponDiscountFen(coupon, orderFen) > 0 ? coupon.couponId : undefined;
  }

  private drop(requestId: string): void {
    const request = this.pending.get(requestId);
    request?.descriptor.fill(0);
    this.pending.delete(requestId);
  }

  private requireLane(lane: string): CheckoutLane {
    const state = this.deps.lanes(lane);
    if (!state) throw new UserError(`No lane "${lane}".`, 'lane-not-found');
    return state;
  }

  private async memberOfScan(classification: ScanClassification, code: string): Promise<MemberView | undefined> {
    const { store, members } = this.deps;
    switch (classification.kind) {
      case 'member-qr':
        return members.view(classification.memberId);
      case 'phone': {
        const member = store.members.list({ query: classification.phone, limit: 1 }).find((m) => m.phone === classification.phone);
        return member ? members.view(member.id) : undefined;
      }
      case 'payment': {
        const payer = await this.deps.provider.payerOfAuthCode(classification.channel, code);
        const memberId = payer && store.membership.lookupPayer(classification.channel, payer.appId, payer.payerId);
        return memberId ? members.view(memberId) : undefined;
      }
      default:
        return undefined;
    }
  }
}
