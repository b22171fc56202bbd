import { describe, expect, it, vi } from 'vitest';
import { UserError } from '../../src/core/errors.js';
import { createLogger } from '../../src/core/logger.js';
import { Checkout, type CheckoutLane, type CheckoutLookups, type CheckoutOptions, type ConsentPolicy } from '../../src/fusion/checkout.js';
import type { CashCustomer, FusionDecision, FusionPayment, FusionScan } from '../../src/fusion/fusionTypes.js';
import { issueMemberQr, verifyMemberQr } from '../../src/fusion/memberQrCode.js';
import type { PaymentProvider } from '../../src/fusion/paymentProvider.js';
import type { FaceRecord, Member, PaymentResult } from '../../src/ledger/index.js';
import type { TillEventName } from '../../src/push/tillEvents.js';
import type { TillEventBody, TillNotifier } from '../../src/push/tillNotifier.js';
import type { MemberService, MemberView } from '../../src/services/memberService.js';
import type { MembershipService } from '../../src/services/membershipService.js';

const LANE = 'L1';
const OTHER_LANE = 'L2';
const T0 = Date.UTC(2024, 4, 1, 10, 0, 0);
const TTL_MS = 30_000;
const MIN_FRAMES = 3;
const SECRET = Buffer.alloc(32, 7);
const SILVER = { name: 'Silver', discountRate: 0.95 };
const CHECK_IN = { kind: 'check-in' as const, message: '签到成功', messageEn: 'Checked in' };
const JOIN_GIFT = { kind: 'coupon-available' as const, message: '新会员礼：送您¥5新会员礼券，下次可用', messageEn: 'Welcome gift: a ¥5 off coupon for the next visit' };

const PAYER: MemberView = { memberId: 'm_payer', name: 'Li Na', tier: SILVER, points: 120, balance: 50 };
const FACE_OWNER: MemberView = { memberId: 'm_face', name: 'Wang Wei', tier: SILVER, points: 8, balance: 0 };
const PHONE_MEMBER: Member = { id: 'm_phone', name: 'Zhao Lei', phone: '13812345678', createdAtMs: T0, updatedAtMs: T0 };
const PHONE_VIEW: MemberView = { memberId: 'm_phone', name: 'Zhao Lei', tier: SILVER, points: 3, balance: 10 };
const VIEWS = new Map([PAYER, FACE_OWNER, PHONE_VIEW].map((v) => [v.memberId, v]));

const WECHAT_CODE = '134567890123456789';
const PAYER_REF = { appId: 'wx-app', payerId: 'openid-abc' };

/** A descriptor with recognisable, non-zero values, so zeroing it is observable. */
function capturedDescriptor(): Float32Array {
  return Float32Array.from({ length: 128 }, (_, i) => (i + 1) / 128);
}

class FakeTill implements TillNotifier {
  readonly sent: { lane: string; event: TillEventName; body: unknown }[] = [];
  toLane<E extends TillEventName>(lane: string, event: E, body: TillEventBody<E>): void {
    this.sent.push({ lane, event, body });
  }
  toAllLanes<E extends TillEventName>(event: E, body: TillEventBody<E>): void {
    this.sent.push({ lane: '*', event, body });
  }
  of<E extends TillEventName>(event: E): TillEventBody<E>[] {
    return this.sent.filter((s) => s.event === event).map((s) => s.body as TillEventBody<E>);
  }
}

class FakeLane implements CheckoutLane {
  decision: FusionDecision = { kind: 'no-link', reason: 'no-face' };
  capture: { descriptor: Float32Array; frames: number } | undefined;
  readonly scans: FusionScan[] = [];
  readonly payments: FusionPayment[] = [];
  readonly captureAsked: string[] = [];
  readonly fusion = {
    onScan: (scan: FusionScan) => {
      this.scans.push(scan);
    },
    onPayment: (payment: FusionPayment) => {
      this.payments.push(payment);
      return this.decision;
    },
    identifyCashCustomer: (_atMs: number): CashCustomer => this.cashCustomer,
  };
  cashCustomer: CashCustomer = { kind: 'none', reason: 'no-face' };
  readonly tracker = {
    enrollCaptureOf: (trackId: string) => {
      this.captureAsked.push(trackId);
      return this.capture;
    },
  };
}

interface HarnessOptions {
  consentPolicy?: ConsentPolicy;
  /** What the ledger answers for the payment. */
  created?: boolean;
  duplicate?: boolean;
  payerHasFace?: boolean;
}

function harness(o: HarnessOptions = {}) {
  let now = T0;
  const lane = new FakeLane();
  const till = new FakeTill();
  /** The descriptor values as the member service saw them at the call, before any wipe. */
  const enrolledDescriptors: number[][] = [];
  let enrollError: Error | undefined;

  const members = {
    view: vi.fn((memberId: string) => VIEWS.get(memberId)),
    enrollCapturedFace: vi.fn((input: Parameters<MemberService['enrollCapturedFace']>[0]) => {
      enrolledDescriptors.push([...input.descriptor]);
      if (enrollError) throw enrollError;
      return 'f_new';
    }),
    recordFaceConsentDeclined: vi.fn((_input: Parameters<MemberService['recordFaceConsentDeclined']>[0]) => undefined),
    addConfirmedVisitFace: vi.fn((input: Parameters<MemberService['addConfirmedVisitFace']>[0]): string | undefined => {
      enrolledDescriptors.push([...input.descriptor]);
      return 'f_visit';
    }),
  } satisfies Pick<MemberService, 'view' | 'enrollCapturedFace' | 'recordFaceConsentDeclined' | 'addConfirmedVisitFace'>;

  const result: PaymentResult = {
    memberId: PAYER.memberId,
    created: o.created ?? false,
    discountRateApplied: 1,
    pointsEarned: 12,
    tierBefore: 'Silver',
    tierAfter: 'Silver',
    duplicate: o.duplicate ?? false,
    tierChange: null,
  };
  const membership = {
    recordPayment: vi.fn(async (_input: Parameters<MembershipService["recordPayment"]>[0]) => ({ result, view: PAYER, coupon: null })),
    flagForReview: vi.fn((_input: Parameters<MembershipService['flagForReview']>[0]) => undefined),
    recordCashSale: vi.fn(async (input: Parameters<MembershipService['recordCashSale']>[0]) => ({
      result: input.memberId === undefined
        ? { memberId: null, created: false as const, discountRateApplied: 1 as const, pointsEarned: 0 as const, tierBefore: null, tierAfter: null, duplicate: false, tierChange: null }
        : { ...result, memberId: input.memberId },
      view: input.memberId === undefined ? undefined : PAYER,
    })),
    countFaceLinkedPayment: vi.fn((_lane: string, _atMs: number) => undefined),
  } satisfies Pick<MembershipService, 'recordPayment' | 'flagForReview' | 'recordCashSale' | 'countFaceLinkedPayment'>;

  const payerFace: FaceRecord = { id: 'f_old', memberId: PAYER.memberId, source: 'cli', quality: null, detectionScore: null, createdAtMs: T0 };
  const store: CheckoutLookups = {
    members: { list: (q) => [PHONE_MEMBER].filter((m) => q.query !== undefined && m.phone?.startsWith(q.query)).slice(0, q.limit) },
    faces: { listForMember: (memberId) => (o.payerHasFace && memberId === PAYER.memberId ? [payerFace] : []) },
    membership: {
      lookupPayer: (channel, appId, payerId) =>
        channel === 'wechat' && appId === PAYER_REF.appId && payerId === PAYER_REF.payerId ? PAYER.memberId : undefined,
    },
    coupons: { get: () => undefined },
  };
  const provider: PaymentProvider = {
    name: 'fake',
    payerOfAuthCode: vi.fn(async (_channel, authCode: string) => (authCode === WECHAT_CODE ? PAYER_REF : undefined)),
  };
  const options: CheckoutOptions = {
    consentPolicy: o.consentPolicy ?? 'confirm',
    consentRequestTtlMs: TTL_MS,
    memberQrSecret: SECRET,
    minFramesSeen: MIN_FRAMES,
    holdWindowMs: 120_000,
  };
  // Campaign rules have tests of their own; here the checkout only passes their prompts on.
  const campaigns = { atCounter: vi.fn((_m: string, _l: string, _via: string) => [CHECK_IN]), afterPayment: vi.fn(() => [JOIN_GIFT]) };
  const checkout = new Checkout({
    store,
    members,
    membership,
    campaigns,
    provider,
    lanes: (id) => (id === LANE || id === OTHER_LANE ? lane : undefined),
    till,
    options,
    log: createLogger('silent'),
    clock: () => now,
  });

  return {
    checkout,
    lane,
    till,
    members,
    membership,
    campaigns,
    provider,
    enrolledDescriptors,
    advance: (ms: number) => {
      now += ms;
    },
    failEnrollWith: (err: Error) => {
      enrollError = err;
    },
    /** An unknown face at the scanner pays; its track holds an enrollment-grade capture. */
    pay: (orderId = 'o1', frames = MIN_FRAMES) => {
      lane.decision = { kind: 'link-face', trackId: 't7', memberId: PAYER.memberId };
      lane.capture = { descriptor: capturedDescriptor(), frames };
      return payment(orderId);
    },
    /** A payment that meets whatever decision the fake fusion holds. */
    payment,
  };

  function payment(orderId: string) {
    return checkout.payment({
      orderId,
      lane: LANE,
      channel: 'wechat',
      appId: PAYER_REF.appId,
      payerId: PAYER_REF.payerId,
      amount: '88.50',
      paidAtMs: now,
      actor: 'pos',
    });
  }
}

const isZeroed = (d: Float32Array | undefined) => d !== undefined && d.every((v) => v === 0);

async function expectUserError(run: () => unknown, code: string): Promise<void> {
  let caught: unknown;
  try {
    await run();
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(UserError);
  expect((caught as UserError).code).toBe(code);
}

describe('Checkout payment: fusion decisions', () => {
  it('reports a face the fusion confirms, with the payer on the till', async () => {
    const h = harness({ created: true });
    h.lane.decision = { kind: 'confirmed', trackId: 'track-1', memberId: PAYER.memberId };
    const out = await h.checkout.payment({
      orderId: 'o1', lane: LANE, channel: 'wechat', appId: 'wx-app', payerId: 'openid-abc', amount: '88.50', paidAtMs: T0 - 500, actor: 'pos',
    });

    expect(out.face).toBe('confirmed');
    expect(out.pointsEarned).toBe(12);
    expect(h.membership.recordPayment).toHaveBeenCalledWith(
      expect.objectContaining({ orderId: 'o1', lane: LANE, channel: 'wechat', amountYuan: '88.50', paidAtMs: T0 - 500 }),
    );
    // Fusion judges the payment at the service's clock, told who paid and whether they are new.
    expect(h.lane.payments).toEqual([{ orderId: 'o1', atMs: T0, memberId: PAYER.memberId, memberWasCreated: true, memberHasFace: false }]);
    expect(h.till.of('payment:linked')).toEqual([
      { orderId: 'o1', memberId: PAYER.memberId, name: PAYER.name, tier: SILVER, amount: 88.5, pointsEarned: 12, points: PAYER.points, balance: PAYER.balance, face: 'confirmed', prompts: [JOIN_GIFT] },
    ]);
    // No enrollment-grade capture of the track: nothing to keep from this visit.
    expect(h.lane.captureAsked).toEqual(['track-1']);
    expect(h.members.addConfirmedVisitFace).not.toHaveBeenCalled();
    expect(h.membership.flagForReview).not.toHaveBeenCalled();
  });

  it('offers a confirmed visit\'s good capture to the member service as one more face, and wipes its copy', async () => {
    const h = harness();
    const capture = { descriptor: Float32Array.from({ length: 128 }, () => 0.25), frames: MIN_FRAMES };
    h.lane.capture = capture;
    h.lane.decision = { kind: 'confirmed', trackId: 'track-1', memberId: PAYER.memberId };
    await h.payment('o1');
    expect(h.members.addConfirmedVisitFace).toHaveBeenCalledTimes(1);
    expect(h.members.addConfirmedVisitFace.mock.calls[0]![0]).toMatchObject({ memberId: PAYER.memberId, lane: LANE });
    expect(h.enrolledDescriptors[0]!.every((v) => v === 0.25)).toBe(true);
    expect(capture.descriptor.every((v) => v === 0)).toBe(true);
  });

  it('keeps no face from a confirmed visit seen on too few good frames, or with face capture off', async () => {
    const few = harness();
    const capture = { descriptor: Float32Array.from({ length: 128 }, () => 0.25), frames: MIN_FRAMES - 1 };
    few.lane.capture = capture;
    few.lane.decision = { kind: 'confirmed', trackId: 'track-1', memberId: PAYER.memberId };
    await few.payment('o1');
    expect(few.members.addConfirmedVisitFace).not.toHaveBeenCalled();
    expect(capture.descriptor.every((v) => v === 0)).toBe(true);

    const off = harness({ consentPolicy: 'off' });
    off.lane.capture = { descriptor: Float32Array.from({ length: 128 }, () => 0.25), frames: MIN_FRAMES };
    off.lane.decision = { kind: 'confirmed', trackId: 'track-1', memberId: PAYER.memberId };
    await off.payment('o1');
    expect(off.lane.captureAsked).toEqual([]);
    expect(off.members.addConfirmedVisitFace).not.toHaveBeenCalled();
  });

  it('tells fusion the payer already has a face when the ledger lists one', async () => {
    const h = harness({ payerHasFace: true });
    h.lane.decision = { kind: 'no-link', reason: 'member-has-face' };
    const out = await h.payment('o1');
    expect(h.lane.payments[0]?.memberHasFace).toBe(true);
    expect(out.face).toBe('no-link');
    expect(h.till.of('payment:linked')[0]?.face).toBe('no-link');
  });

  it('flags a conflict for review with the face and payer members, and changes neither', async () => {
    const h = harness();
    h.lane.decision = { kind: 'conflict', trackId: 't3', faceMemberId: FACE_OWNER.memberId, payerMemberId: PAYER.memberId };
    const out = await h.checkout.payment({
      orderId: 'o9', lane: LANE, channel: 'alipay', appId: 'ali', payerId: 'p', amount: 10, paidAtMs: T0, actor: 'pos-2',
    });

    expect(out.face).toBe('conflict');
    expect(h.membership.flagForReview).toHaveBeenCalledTimes(1);
    expect(h.membership.flagForReview).toHaveBeenCalledWith({
      actor: 'pos-2', orderId: 'o9', lane: LANE, faceMemberId: FACE_OWNER.memberId, payerMemberId: PAYER.memberId,
    });
    expect(h.till.of('payment:linked').map((e) => e.face)).toEqual(['conflict']);
    expect(h.members.enrollCapturedFace).not.toHaveBeenCalled();
    expect(h.lane.captureAsked).toEqual([]);
  });

  it('answers a duplicate payment as such, without fusion or a till event', async () => {
    const h = harness({ duplicate: true });
    h.lane.decision = { kind: 'confirmed', trackId: 'track-1', memberId: PAYER.memberId };
    const out = await h.payment('o1');
    expect(out.face).toBe('duplicate');
    expect(out.duplicate).toBe(true);
    expect(h.lane.payments).toEqual([]);
    expect(h.till.of('payment:linked')).toEqual([]);
    expect(h.members.enrollCapturedFace).not.toHaveBeenCalled();
  });

  it('refuses a payment on an unknown lane before anything is recorded', async () => {
    const h = harness();
    await expectUserError(
      () => h.checkout.payment({ orderId: 'o1', lane: 'nope', channel: 'wechat', appId: 'a', payerId: 'p', amount: 1, paidAtMs: T0, actor: 'pos' }),
      'lane-not-found',
    );
    expect(h.membership.recordPayment).not.toHaveBeenCalled();
    expect(h.till.sent).toEqual([]);
  });
});

describe("Checkout consent policy 'confirm'", () => {
  it('holds the captured face and asks the till for consent', async () => {
    const h = harness({ consentPolicy: 'confirm' });
    const out = await h.pay();

    expect(out.face).toBe('consent-requested');
    expect(h.lane.captureAsked).toEqual(['t7']);
    expect(h.checkout.pendingConsentCount()).toBe(1);
    expect(h.members.enrollCapturedFace).not.toHaveBeenCalled();
    const [request] = h.till.of('consent:requested');
    expect(request).toEqual({ requestId: expect.any(String), memberId: PAYER.memberId, name: PAYER.name, expiresAt: new Date(T0 + TTL_MS).toISOString() });
    expect(h.till.sent.find((s) => s.event === 'consent:requested')?.lane).toBe(LANE);
    expect(h.till.of('payment:linked').map((e) => e.face)).toEqual(['consent-requested']);
    // Held as captured until the answer.
    expect(isZeroed(h.lane.capture?.descriptor)).toBe(false);
  });

  it("enrolls the face on 'granted' with verbal consent and the staff who asked, then wipes it", async () => {
    const h = harness({ consentPolicy: 'confirm' });
    await h.pay();
    const requestId = h.till.of('consent:requested')[0]!.requestId;
    const held = h.lane.capture!.descriptor;
    h.advance(TTL_MS - 1);

    const answer = h.checkout.answerConsent(LANE, requestId, 'granted', 'cashier-7', 'till:L1');

    expect(answer).toEqual({ enrolled: true, faceId: 'f_new' });
    expect(h.members.enrollCapturedFace).toHaveBeenCalledTimes(1);
    expect(h.members.enrollCapturedFace).toHaveBeenCalledWith({
      memberId: PAYER.memberId,
      descriptor: held,
      consent: { method: 'verbal-at-till', lane: LANE, staff: 'cashier-7' },
      actor: 'till:L1',
    });
    expect(h.enrolledDescriptors).toEqual([[...capturedDescriptor()]]);
    expect(h.members.recordFaceConsentDeclined).not.toHaveBeenCalled();
    expect(isZeroed(held)).toBe(true);
    expect(h.checkout.pendingConsentCount()).toBe(0);
  });

  it("records a 'declined' answer, enrolls nothing and zeroes the captured face", async () => {
    const h = harness({ consentPolicy: 'confirm' });
    await h.pay();
    const requestId = h.till.of('consent:requested')[0]!.requestId;
    const held = h.lane.capture!.descriptor;

    const answer = h.checkout.answerConsent(LANE, requestId, 'declined', 'cashier-7', 'till:L1');

    expect(answer).toEqual({ enrolled: false });
    expect(h.members.recordFaceConsentDeclined).toHaveBeenCalledWith({ memberId: PAYER.memberId, lane: LANE, actor: 'till:L1' });
    expect(h.members.enrollCapturedFace).not.toHaveBeenCalled();
    expect(isZeroed(held)).toBe(true);
    expect(h.checkout.pendingConsentCount()).toBe(0);
  });

  it('still wipes the face when the service refuses to enroll it', async () => {
    const h = harness({ consentPolicy: 'confirm' });
    await h.pay();
    const requestId = h.till.of('consent:requested')[0]!.requestId;
    const held = h.lane.capture!.descriptor;
    h.failEnrollWith(new UserError('This face already belongs to another member.', 'enrolled-as-other-member'));

    await expectUserError(() => h.checkout.answerConsent(LANE, requestId, 'granted', 'cashier-7', 'till:L1'), 'enrolled-as-other-member');
    expect(isZeroed(held)).toBe(true);
    expect(h.checkout.pendingConsentCount()).toBe(0);
  });

  it('refuses an answer after the request expired, and wipes the face', async () => {
    const h = harness({ consentPolicy: 'confirm' });
    await h.pay();
    const requestId = h.till.of('consent:requested')[0]!.requestId;
    const held = h.lane.capture!.descriptor;
    h.advance(TTL_MS + 1);

    await expectUserError(() => h.checkout.answerConsent(LANE, requestId, 'granted', 'cashier-7', 'till:L1'), 'consent-request-not-found');
    expect(h.members.enrollCapturedFace).not.toHaveBeenCalled();
    expect(isZeroed(held)).toBe(true);
    expect(h.checkout.pendingConsentCount()).toBe(0);
  });

  it('refuses an answer given on another lane', async () => {
    const h = harness({ consentPolicy: 'confirm' });
    await h.pay();
    const requestId = h.till.of('consent:requested')[0]!.requestId;
    const held = h.lane.capture!.descriptor;

    await expectUserError(() => h.checkout.answerConsent(OTHER_LANE, requestId, 'granted', 'cashier-9', 'till:L2'), 'consent-request-not-found');
    expect(h.members.enrollCapturedFace).not.toHaveBeenCalled();
    expect(h.members.recordFaceConsentDeclined).not.toHaveBeenCalled();
    // The refusal says the captured face was discarded, and it was.
    expect(isZeroed(held)).toBe(true);
    expect(h.checkout.pendingConsentCount()).toBe(0);
  });

  it('refuses an unknown request id and a second answer to the same request', async () => {
    const h = harness({ consentPolicy: 'confirm' });
    await h.pay();
    const requestId = h.till.of('consent:requested')[0]!.requestId;
    await expectUserError(() => h.checkout.answerConsent(LANE, 'no-such-request', 'granted', 's', 'a'), 'consent-request-not-found');
    expect(h.checkout.pendingConsentCount()).toBe(1);

    h.checkout.answerConsent(LANE, requestId, 'declined', 's', 'a');
    await expectUserError(() => h.checkout.answerConsent(LANE, requestId, 'granted', 's', 'a'), 'consent-request-not-found');
    expect(h.members.enrollCapturedFace).not.toHaveBeenCalled();
  });

  it('expireConsentRequests drops and wipes only the requests past their time', async () => {
    const h = harness({ consentPolicy: 'confirm' });
    await h.pay('o1');
    const first = h.lane.capture!.descriptor;
    h.advance(10_000);
    await h.pay('o2');
    const second = h.lane.capture!.descriptor;
    const [, secondRequest] = h.till.of('consent:requested');

    h.advance(TTL_MS - 10_000); // the first request is exactly at its expiry: still valid
    expect(h.checkout.expireConsentRequests()).toBe(0);
    h.advance(1);
    expect(h.checkout.expireConsentRequests()).toBe(1);
    expect(h.checkout.pendingConsentCount()).toBe(1);
    expect(isZeroed(first)).toBe(true);
    expect(isZeroed(second)).toBe(false);
    expect(h.checkout.answerConsent(LANE, secondRequest!.requestId, 'granted', 's', 'a')).toEqual({ enrolled: true, faceId: 'f_new' });

    expect(h.checkout.expireConsentRequests()).toBe(0);
  });
});

describe("Checkout consent policy 'signage'", () => {
  it('enrolls the captured face at once under signage consent, then wipes it', async () => {
    const h = harness({ consentPolicy: 'signage' });
    const out = await h.pay();
    const held = h.lane.capture!.descriptor;

    expect(out.face).toBe('enrolled');
    expect(h.members.enrollCapturedFace).toHaveBeenCalledWith({
      memberId: PAYER.memberId,
      descriptor: held,
      consent: { method: 'signage', lane: LANE, staff: null },
      actor: `lane:${LANE}`,
    });
    expect(h.enrolledDescriptors).toEqual([[...capturedDescriptor()]]);
    expect(isZeroed(held)).toBe(true);
    expect(h.checkout.pendingConsentCount()).toBe(0);
    expect(h.till.of('consent:requested')).toEqual([]);
    expect(h.till.of('payment:linked').map((e) => e.face)).toEqual(['enrolled']);
  });

  it("links nothing when the face already belongs to another member, and wipes it", async () => {
    const h = harness({ consentPolicy: 'signage' });
    h.failEnrollWith(new UserError('This face already belongs to another member.', 'enrolled-as-other-member'));
    const out = await h.pay();

    expect(out.face).toBe('no-link');
    expect(h.members.enrollCapturedFace).toHaveBeenCalledTimes(1);
    expect(isZeroed(h.lane.capture?.descriptor)).toBe(true);
    expect(h.till.of('payment:linked').map((e) => e.face)).toEqual(['no-link']);
  });

  it('lets a fault that is not the user’s propagate, still wiping the face', async () => {
    const h = harness({ consentPolicy: 'signage' });
    h.failEnrollWith(new Error('disk I/O error'));
    await expect(h.pay()).rejects.toThrow('disk I/O error');
    expect(isZeroed(h.lane.capture?.descriptor)).toBe(true);
  });
});

describe("Checkout consent policy 'off'", () => {
  it('captures no face at all', async () => {
    const h = harness({ consentPolicy: 'off' });
    const out = await h.pay();

    expect(out.face).toBe('no-link');
    // The tracker is never asked for a copy, so no descriptor leaves it.
    expect(h.lane.captureAsked).toEqual([]);
    expect(h.members.enrollCapturedFace).not.toHaveBeenCalled();
    expect(h.checkout.pendingConsentCount()).toBe(0);
    expect(h.till.of('consent:requested')).toEqual([]);
    expect(h.till.of('payment:linked').map((e) => e.face)).toEqual(['no-link']);
  });
});

describe('Checkout capture quality', () => {
  it.each<ConsentPolicy>(['confirm', 'signage'])(
    "under '%s', ignores and wipes a capture with fewer enrollment-grade frames than minFramesSeen",
    async (consentPolicy) => {
      const h = harness({ consentPolicy });
      const out = await h.pay('o1', MIN_FRAMES - 1);

      expect(out.face).toBe('no-link');
      expect(h.lane.captureAsked).toEqual(['t7']);
      expect(isZeroed(h.lane.capture?.descriptor)).toBe(true);
      expect(h.members.enrollCapturedFace).not.toHaveBeenCalled();
      expect(h.checkout.pendingConsentCount()).toBe(0);
      expect(h.till.of('consent:requested')).toEqual([]);
    },
  );

  it('links nothing when the track has no capture any more', async () => {
    const h = harness({ consentPolicy: 'signage' });
    h.lane.decision = { kind: 'link-face', trackId: 'gone', memberId: PAYER.memberId };
    h.lane.capture = undefined;
    const out = await h.checkout.payment({ orderId: 'o1', lane: LANE, channel: 'wechat', appId: 'a', payerId: 'p', amount: 1, paidAtMs: T0, actor: 'pos' });
    expect(out.face).toBe('no-link');
    expect(h.lane.captureAsked).toEqual(['gone']);
    expect(h.members.enrollCapturedFace).not.toHaveBeenCalled();
  });
});

describe('Checkout scan', () => {
  it('classifies a member QR, shows the member and never passes the code on', async () => {
    const h = harness();
    const code = issueMemberQr(PAYER.memberId, { secret: SECRET, ttlMs: 60_000, nowMs: T0 });
    const event = await h.checkout.scan(LANE, code, T0 + 1000);

    const expected = { kind: 'member-qr', memberId: PAYER.memberId, name: PAYER.name, tier: SILVER, points: PAYER.points, balance: PAYER.balance, prompts: [CHECK_IN] };
    expect(event).toEqual(expected);
    expect(h.till.sent).toEqual([{ lane: LANE, event: 'scan:classified', body: expected }]);
    expect(h.lane.scans).toEqual([{ atMs: T0 + 1000, classification: { kind: 'member-qr', memberId: PAYER.memberId } }]);
    expect(JSON.stringify(h.till.sent)).not.toContain(code);
  });

  it('refuses an expired member QR with a message for the cashier and no member', async () => {
    const h = harness();
    const code = issueMemberQr(PAYER.memberId, { secret: SECRET, ttlMs: 60_000, nowMs: T0 });
    const event = await h.checkout.scan(LANE, code, T0 + 120_000);

    expect(event.kind).toBe('rejected');
    expect(event.message).toMatch(/expired/);
    expect(event.memberId).toBeUndefined();
    expect(h.members.view).not.toHaveBeenCalled();
    expect(JSON.stringify(h.till.sent)).not.toContain(code);
  });

  it("finds a member by phone number and shows them without the number", async () => {
    const h = harness();
    const event = await h.checkout.scan(LANE, '+86 138-1234-5678', T0);

    expect(event).toEqual({ kind: 'phone', memberId: PHONE_VIEW.memberId, name: PHONE_VIEW.name, tier: SILVER, points: PHONE_VIEW.points, balance: PHONE_VIEW.balance, prompts: [CHECK_IN] });
    expect(h.campaigns.atCounter).toHaveBeenCalledWith(PHONE_VIEW.memberId, LANE, 'phone');
    expect(JSON.stringify(h.till.sent)).not.toContain('13812345678');
    expect(h.till.of('scan:classified')).toHaveLength(1);
  });

  it('classifies the phone number of no member without a member', async () => {
    const h = harness();
    const event = await h.checkout.scan(LANE, '13900001111', T0);
    expect(event).toEqual({ kind: 'phone' });
    expect(h.till.of('scan:classified')).toEqual([{ kind: 'phone' }]);
  });

  it('names the payer of a payment code through the provider, with the channel and without the code', async () => {
    const h = harness();
    const event = await h.checkout.scan(LANE, WECHAT_CODE, T0);

    expect(h.provider.payerOfAuthCode).toHaveBeenCalledWith('wechat', WECHAT_CODE);
    expect(event).toEqual({ kind: 'payment', channel: 'wechat', memberId: PAYER.memberId, name: PAYER.name, tier: SILVER, points: PAYER.points, balance: PAYER.balance, prompts: [CHECK_IN] });
    expect(h.lane.scans).toEqual([{ atMs: T0, classification: { kind: 'payment', channel: 'wechat' } }]);
    expect(JSON.stringify(h.till.sent)).not.toContain(WECHAT_CODE);
    expect(JSON.stringify(h.lane.scans)).not.toContain(WECHAT_CODE);
  });

  it('refuses a scan on an unknown lane', async () => {
    const h = harness();
    await expectUserError(() => h.checkout.scan('nope', '13812345678', T0), 'lane-not-found');
    expect(h.till.sent).toEqual([]);
    expect(h.lane.scans).toEqual([]);
  });
});

describe('Checkout member QR issue', () => {
  it('issues a code that verifies for the member, with its expiry, and refuses an unknown member', async () => {
    const h = harness();
    const { code, expiresAt } = h.checkout.issueMemberQrFor(PAYER.memberId, 60_000, issueMemberQr);
    expect(verifyMemberQr(code, { secret: SECRET, nowMs: T0 })).toMatchObject({ ok: true, memberId: PAYER.memberId });
    expect(expiresAt).toBe(new Date(T0 + 60_000).toISOString());
    await expectUserError(() => h.checkout.issueMemberQrFor('m_nobody', 60_000, issueMemberQr), 'member-not-found');
  });
});

describe('Checkout cash sale', () => {
  const cash = (h: ReturnType<typeof harness>, orderId = 'c1') =>
    h.checkout.cashSale({ orderId, lane: LANE, amount: '30', paidAtMs: T0 - 100, actor: 'pos' });

  it('credits the member whose face the lane names, counts a face-linked payment and tells the till', async () => {
    const h = harness();
    h.lane.cashCustomer = { kind: 'member', memberId: PAYER.memberId, via: 'face', trackId: 't3' };
    const out = await cash(h);
    expect(out).toMatchObject({ memberId: PAYER.memberId, identifiedBy: 'face', duplicate: false });
    expect(h.membership.recordCashSale).toHaveBeenCalledWith({ orderId: 'c1', lane: LANE, memberId: PAYER.memberId, amountYuan: '30', paidAtMs: T0 - 100 });
    expect(h.membership.countFaceLinkedPayment).toHaveBeenCalledWith(LANE, T0 - 100);
    expect(h.till.of('payment:linked')).toMatchObject([{ orderId: 'c1', memberId: PAYER.memberId, amount: 30, face: 'confirmed' }]);
  });

  it('credits the member of a scanned member QR without counting a face', async () => {
    const h = harness();
    h.lane.cashCustomer = { kind: 'member', memberId: PAYER.memberId, via: 'member-qr' };
    expect(await cash(h)).toMatchObject({ memberId: PAYER.memberId, identifiedBy: 'member-qr' });
    expect(h.membership.countFaceLinkedPayment).not.toHaveBeenCalled();
    expect(h.till.of('payment:linked')).toMatchObject([{ face: 'no-link' }]);
  });

  it('records a non-member sale when the lane names nobody, and tells no till', async () => {
    const h = harness();
    h.lane.cashCustomer = { kind: 'none', reason: 'ambiguous' };
    expect(await cash(h)).toMatchObject({ memberId: null, identifiedBy: null, pointsEarned: 0 });
    expect(h.membership.recordCashSale).toHaveBeenCalledWith(expect.objectContaining({ memberId: undefined }));
    expect(h.membership.countFaceLinkedPayment).not.toHaveBeenCalled();
    expect(h.till.of('payment:linked')).toEqual([]);
  });

  it('records a non-member sale when the named member was deleted meanwhile', async () => {
    const h = harness();
    h.lane.cashCustomer = { kind: 'member', memberId: 'm_gone', via: 'face', trackId: 't4' };
    expect(await cash(h)).toMatchObject({ memberId: null, identifiedBy: null });
    expect(h.membership.countFaceLinkedPayment).not.toHaveBeenCalled();
  });
});
