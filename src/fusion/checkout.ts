import { randomUUID } from 'node:crypto';
import type { QualityGate } from '../config/settingsSchema.js';
import { UserError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { MemberStore } from '../ledger/index.js';
import type { Gallery } from '../matching/gallery.js';
import { decideMatch, type MatchPolicy } from '../matching/matcher.js';
import type { LaneTracker } from '../matching/tracker.js';
import type { PaymentLinked, ScanClassified, TierView, TillEventName, TillEventPayload } from '../push/tillEvents.js';
import type { LaneFusion } from './laneFusion.js';
import type { PaymentProvider } from './paymentProvider.js';
import { classifyScan, type PaymentChannel, type ScanClassification } from './scanClassifier.js';

export type ConsentPolicy = 'confirm' | 'signage' | 'off';

export interface CheckoutOptions {
  consentPolicy: ConsentPolicy;
  consentRequestTtlMs: number;
  memberQrSecret: Buffer;
  matchPolicy: MatchPolicy;
  enrollGate: QualityGate;
}

export interface CheckoutLane {
  fusion: LaneFusion;
  tracker: LaneTracker;
}

type Emit = <E extends TillEventName>(lane: string, event: E, payload: Omit<TillEventPayload<E>, 'eventId' | 'lane' | 'at'>) => void;

export interface CheckoutDeps {
  store: MemberStore;
  gallery: Gallery;
  provider: PaymentProvider;
  lanes: (lane: string) => CheckoutLane | undefined;
  emit: Emit;
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
}

export interface MemberView {
  memberId: string;
  name: string;
  tier: TierView;
  points: number;
  balance: number;
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

  constructor(private readonly deps: CheckoutDeps) {
    this.clock = deps.clock ?? Date.now;
  }

  memberView(memberId: string): MemberView | undefined {
    const member = this.deps.store.members.get(memberId);
    if (!member) return undefined;
    const summary = this.deps.store.membership.memberSummary(memberId);
    return { memberId, name: member.name, tier: summary.tier, points: summary.points, balance: summary.balanceYuan };
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
    if (view) Object.assign(event, { memberId: view.memberId, name: view.name, tier: view.tier, points: view.points, balance: view.balance });
    this.deps.emit(lane, 'scan:classified', event);
    return event;
  }

  /** Records a payment (group-committed with others arriving at once) and then tells the till. */
  async payment(input: PaymentInput) {
    const { store } = this.deps;
    const laneState = this.requireLane(input.lane);
    const result = await store.writeInGroup(() =>
      store.membership.recordPayment({
        orderId: input.orderId,
        lane: input.lane,
        channel: input.channel,
        appId: input.appId,
        payerId: input.payerId,
        amountYuan: input.amount,
        paidAtMs: input.paidAtMs,
      }),
    );
    if (result.duplicate) return { ...result, face: 'duplicate' as const };

    const view = this.memberView(result.memberId)!;
    if (result.created) this.deps.emit(input.lane, 'member:enrolled', { memberId: view.memberId, name: view.name, tier: view.tier, via: 'payment' });
    if (result.tierChange) {
      this.deps.emit(input.lane, 'tier:changed', { memberId: view.memberId, name: view.name, from: result.tierChange.from, to: result.tierChange.to });
    }

    const memberHasFace = store.faces.listForMember(result.memberId).length > 0;
    const decision = laneState.fusion.onPayment({
      orderId: input.orderId,
      atMs: this.clock(),
      memberId: result.memberId,
      memberWasCreated: result.created,
      memberHasFace,
    });
    let face: PaymentLinked['face'] = 'no-link';
    if (decision.kind === 'confirmed') face = 'confirmed';
    else if (decision.kind === 'conflict') {
      face = 'conflict';
      store.audit.record({
        actor: input.actor,
        action: 'review.flag',
        subject: result.memberId,
        details: { orderId: input.orderId, lane: input.lane, faceMemberId: decision.faceMemberId, payerMemberId: decision.payerMemberId },
      });
    } else if (decision.kind === 'link-face') {
      face = this.captureFace(input.lane, laneState, decision.trackId, result.memberId, view);
    }
    this.deps.emit(input.lane, 'payment:linked', {
      orderId: input.orderId,
      memberId: view.memberId,
      name: view.name,
      tier: view.tier,
      amount: Number(input.amount),
      pointsEarned: result.pointsEarned,
      points: view.points,
      balance: view.balance,
      face,
    });
    return { ...result, face };
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
        this.deps.store.audit.record({ actor, action: 'consent.decline', subject: request.memberId, details: { lane } });
        return { enrolled: false };
      }
      const faceId = this.enrollCaptured(request, { method: 'verbal-at-till', lane, staff }, actor);
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

  /** Faces waiting for an answer, for tests: each one is an embedding of a non-member held in memory. */
  pendingConsentCount(): number {
    return this.pending.size;
  }

  issueMemberQrFor(memberId: string, ttlMs: number, issue: (memberId: string, o: { secret: Buffer; ttlMs: number; nowMs: number }) => string) {
    if (!this.deps.store.members.get(memberId)) throw new UserError(`No member ${memberId}.`, 'member-not-found');
    const nowMs = this.clock();
    return { code: issue(memberId, { secret: this.deps.options.memberQrSecret, ttlMs, nowMs }), expiresAt: new Date(nowMs + ttlMs).toISOString() };
  }

  private captureFace(lane: string, laneState: CheckoutLane, trackId: string, memberId: string, view: MemberView): PaymentLinked['face'] {
    const { options } = this.deps;
    if (options.consentPolicy === 'off') return 'no-link';
    const capture = laneState.tracker.enrollCaptureOf(trackId);
    // An auto-captured face must have passed the enrollment gate on at least 2 frames.
    if (!capture || capture.frames < 2) {
      capture?.descriptor.fill(0);
      return 'no-link';
    }
    const request: PendingConsent = { lane, memberId, descriptor: capture.descriptor, expiresAtMs: this.clock() + options.consentRequestTtlMs };
    if (options.consentPolicy === 'signage') {
      try {
        this.enrollCaptured(request, { method: 'signage', lane, staff: null }, `lane:${lane}`);
        return 'enrolled';
      } catch (err) {
        this.deps.log.info({ lane, code: (err as UserError).code }, 'face not enrolled under signage consent');
        return 'no-link';
      } finally {
        request.descriptor.fill(0);
      }
    }
    const requestId = randomUUID();
    this.pending.set(requestId, request);
    this.deps.emit(lane, 'consent:requested', { requestId, memberId, name: view.name, expiresAt: new Date(request.expiresAtMs).toISOString() });
    return 'consent-requested';
  }

  private enrollCaptured(request: PendingConsent, consent: { method: 'verbal-at-till' | 'signage'; lane: string; staff: string | null }, actor: string): string {
    const { store, gallery } = this.deps;
    const match = decideMatch(gallery.search(request.descriptor), this.deps.options.matchPolicy);
    if (match.kind === 'member' && match.memberId !== request.memberId) {
      throw new UserError('This face already belongs to another member; nothing was enrolled. Check the member on the admin page.', 'enrolled-as-other-member');
    }
    const face = store.inTransaction(() => {
      if (!store.consents.activeFaceConsent(request.memberId)) store.grantFaceConsent(request.memberId, consent, actor);
      return store.enrollFace({ memberId: request.memberId, descriptor: request.descriptor, source: 'lane-capture', quality: null, detectionScore: null }, actor);
    });
    gallery.add(face.id, request.memberId, request.descriptor);
    const view = this.memberView(request.memberId)!;
    this.deps.emit(request.lane, 'member:enrolled', { memberId: view.memberId, name: view.name, tier: view.tier, via: 'face' });
    return face.id;
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
    const { store } = this.deps;
    switch (classification.kind) {
      case 'member-qr':
        return this.memberView(classification.memberId);
      case 'phone': {
        const member = store.members.list({ query: classification.phone, limit: 1 }).find((m) => m.phone === classification.phone);
        return member ? this.memberView(member.id) : undefined;
      }
      case 'payment': {
        const payer = await this.deps.provider.payerOfAuthCode(classification.channel, code);
        const memberId = payer && store.membership.lookupPayer(classification.channel, payer.appId, payer.payerId);
        return memberId ? this.memberView(memberId) : undefined;
      }
      default:
        return undefined;
    }
  }
}
