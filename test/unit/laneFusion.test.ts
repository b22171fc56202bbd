import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { AttributionRule, FusionCandidate, FusionPayment, LaneFusionOptions } from '../../src/fusion/fusionTypes.js';
import { attribute, LaneFusion } from '../../src/fusion/laneFusion.js';
import { DESCRIPTOR_LENGTH } from '../../src/vision/faceDescriptor.js';
import type { MatchDecision } from '../../src/matching/matcher.js';
import { LaneTracker } from '../../src/matching/tracker.js';
import type { PresentTrackWithFrames } from '../../src/matching/trackerTypes.js';
import type { Box } from '../../src/vision/visionTypes.js';
import { defaultSettings } from '../support/settings.js';

const FRAME_EVERY_MS = 100;
const TRACK_TIMEOUT_MS = 1500;
const SCAN_AT_MS = 10_000;
const PAYMENT_CODE = { kind: 'payment', channel: 'wechat' };

const { checkout } = defaultSettings;
/** Fusion as shipped: the `checkout` settings' defaults. */
const SHIPPED_OPTIONS: LaneFusionOptions = {
  scanWindowMs: checkout.scanWindowMs,
  paymentWindowMs: checkout.paymentWindowMs,
  dominantAreaRatioMin: checkout.dominantAreaRatioMin,
  minFramesSeen: checkout.minFramesSeen,
  cashierZone: checkout.cashierZone,
};
/** The attribution rule as shipped, over the whole frame. */
const SHIPPED_RULE: AttributionRule = {
  dominantAreaRatioMin: checkout.dominantAreaRatioMin,
  minFramesSeen: checkout.minFramesSeen,
  cashierZonePx: undefined,
};

/** A face standing in front of the camera from `fromMs` to `toMs`, detected on every frame. */
interface ScriptedFace {
  id: string;
  box: Box;
  fromMs: number;
  toMs: number;
  memberId?: string;
  /** The tracker names a face only after some frames. */
  namedFromMs?: number;
}

/**
 * Stands in for the lane tracker: answers what LaneTracker.presentTracksWithFrames would at
 * `nowMs` — faces not yet arrived are absent, and a face gone for longer than the track
 * timeout has had its track ended.
 */
class ScriptedLane {
  readonly faces: ScriptedFace[] = [];
  readonly calls: { nowMs: number; windowMs: number }[] = [];

  add(face: ScriptedFace): this {
    this.faces.push(face);
    return this;
  }

  readonly tracksAt = (nowMs: number, windowMs: number): PresentTrackWithFrames[] => {
    this.calls.push({ nowMs, windowMs });
    const present: PresentTrackWithFrames[] = [];
    for (const face of this.faces) {
      if (nowMs < face.fromMs) continue;
      const lastFrameMs = face.fromMs + Math.floor((nowMs - face.fromMs) / FRAME_EVERY_MS) * FRAME_EVERY_MS;
      const lastSeenMs = Math.min(face.toMs, lastFrameMs);
      if (nowMs - lastSeenMs > TRACK_TIMEOUT_MS || nowMs - lastSeenMs > windowMs) continue;
      const track: PresentTrackWithFrames = {
        trackId: face.id,
        box: { ...face.box },
        boxAreaPx: face.box.width * face.box.height,
        firstSeenMs: face.fromMs,
        lastSeenMs,
        framesSeen: (lastSeenMs - face.fromMs) / FRAME_EVERY_MS + 1,
      };
      if (face.memberId !== undefined && (face.namedFromMs === undefined || nowMs >= face.namedFromMs)) {
        track.memberId = face.memberId;
      }
      present.push(track);
    }
    return present;
  };
}

function square(x: number, y: number, side: number): Box {
  return { x, y, width: side, height: side };
}

function newFusion(lane: ScriptedLane, options: Partial<LaneFusionOptions> = {}) {
  return new LaneFusion({ options: { ...SHIPPED_OPTIONS, ...options }, tracksAt: lane.tracksAt, frameSize: { widthPx: 1000, heightPx: 1000 } });
}

/**
 * Scan at SCAN_AT_MS, observe every frame as the lane would until the scan window closes, then
 * pay 20 s after the scan.
 */
function scanAndPay(fusion: LaneFusion, payer: Partial<Pick<FusionPayment, 'memberId' | 'memberWasCreated' | 'memberHasFace'>> = {}) {
  fusion.onScan({ atMs: SCAN_AT_MS, classification: PAYMENT_CODE });
  for (let t = SCAN_AT_MS + FRAME_EVERY_MS; t < SCAN_AT_MS + 3000; t += FRAME_EVERY_MS) fusion.observe(t);
  fusion.resolveDue(SCAN_AT_MS + 3000);
  return fusion.onPayment({
    orderId: 'order-1',
    atMs: SCAN_AT_MS + 20_000,
    memberId: payer.memberId ?? 'member-new',
    memberWasCreated: payer.memberWasCreated ?? true,
    memberHasFace: payer.memberHasFace ?? false,
  });
}

function payment(atMs: number, memberId = 'm'): FusionPayment {
  return { orderId: `order-${atMs}`, atMs, memberId, memberWasCreated: true, memberHasFace: false };
}

function candidate(trackId: string, box: Box, framesSeen = 5, memberId?: string): FusionCandidate {
  const c: FusionCandidate = { trackId, box, boxAreaPx: box.width * box.height, framesSeen };
  if (memberId !== undefined) c.memberId = memberId;
  return c;
}

describe('attribute', () => {
  const zoneRule = { ...SHIPPED_RULE, cashierZonePx: { x: 0, y: 0, width: 500, height: 1000 } };

  it('names a lone face', () => {
    expect(attribute([candidate('a', square(100, 100, 150))], SHIPPED_RULE)).toEqual({ kind: 'payer', track: candidate('a', square(100, 100, 150)) });
  });

  it('names nobody among faces of comparable size', () => {
    expect(attribute([candidate('a', square(100, 100, 150)), candidate('b', square(400, 100, 140))], SHIPPED_RULE)).toEqual({
      kind: 'none',
      reason: 'ambiguous',
    });
  });

  it('names the dominant face at the ratio and not just below it', () => {
    // Areas 200 × 100 and 100 × 100: exactly 2×.
    const wide = candidate('wide', { x: 0, y: 0, width: 200, height: 100 });
    expect(attribute([wide, candidate('small', square(600, 0, 100))], SHIPPED_RULE)).toMatchObject({ kind: 'payer', track: { trackId: 'wide' } });
    const almost = candidate('almost', { x: 0, y: 0, width: 199, height: 100 });
    expect(attribute([almost, candidate('small', square(600, 0, 100))], SHIPPED_RULE)).toEqual({ kind: 'none', reason: 'ambiguous' });
  });

  it('never names a face centred outside the cashier zone, and lets it spoil a smaller face inside', () => {
    const outsideBig = candidate('out', square(600, 100, 300)); // centre x 750
    const insideSmall = candidate('in', square(100, 100, 100));
    expect(attribute([outsideBig], zoneRule)).toEqual({ kind: 'none', reason: 'no-face' });
    expect(attribute([outsideBig, insideSmall], zoneRule)).toEqual({ kind: 'none', reason: 'ambiguous' });
    expect(attribute([insideSmall, candidate('out-small', square(700, 100, 50))], zoneRule)).toMatchObject({
      kind: 'payer',
      track: { trackId: 'in' },
    });
  });

  it('does not count a face seen on fewer than minFramesSeen frames', () => {
    const once = candidate('once', square(400, 100, 150), 1);
    expect(attribute([once], SHIPPED_RULE)).toEqual({ kind: 'none', reason: 'no-face' });
    expect(attribute([candidate('steady', square(100, 100, 150), 2), once], SHIPPED_RULE)).toMatchObject({
      kind: 'payer',
      track: { trackId: 'steady' },
    });
  });
});

describe('LaneFusion', () => {
  beforeEach(() => {
    vi.useFakeTimers();
    vi.setSystemTime(0);
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('links the lone unknown face at the scanner to a new member without a face', () => {
    const lane = new ScriptedLane().add({ id: 't1', box: square(300, 300, 200), fromMs: 8000, toMs: 40_000 });
    const fusion = newFusion(lane);
    expect(scanAndPay(fusion, { memberId: 'm-7' })).toEqual({ kind: 'link-face', trackId: 't1', memberId: 'm-7' });
    expect(fusion.stats().byKind['link-face']).toBe(1);
  });

  it('links no one when two comparable faces stand at the scanner, and counts it as ambiguous', () => {
    const lane = new ScriptedLane()
      .add({ id: 't1', box: square(100, 300, 200), fromMs: 8000, toMs: 40_000 })
      .add({ id: 't2', box: square(600, 300, 180), fromMs: 9000, toMs: 40_000 });
    const fusion = newFusion(lane);
    expect(scanAndPay(fusion)).toEqual({ kind: 'no-link', reason: 'ambiguous' });
    expect(fusion.stats()).toEqual({
      byKind: { 'link-face': 0, confirmed: 0, conflict: 0, 'no-link': 1 },
      noLinkByReason: { 'no-face': 0, ambiguous: 1, 'outside-window': 0, 'no-scan': 0, 'member-has-face': 0 },
    });
  });

  it('links one face three times the area of the next when it is in the cashier zone', () => {
    const lane = new ScriptedLane()
      .add({ id: 'near', box: square(100, 300, 300), fromMs: 8000, toMs: 40_000 }) // 90 000 px²
      .add({ id: 'behind', box: square(700, 100, 173), fromMs: 8000, toMs: 40_000 }); // ~29 929 px²
    const fusion = newFusion(lane, { cashierZone: { x: 0, y: 0, width: 0.5, height: 1 } });
    expect(scanAndPay(fusion, { memberId: 'm-1' })).toEqual({ kind: 'link-face', trackId: 'near', memberId: 'm-1' });
  });

  it('links no one when the dominant face is outside the cashier zone', () => {
    const lane = new ScriptedLane()
      .add({ id: 'beside', box: square(600, 300, 300), fromMs: 8000, toMs: 40_000 }) // centre x 750: outside
      .add({ id: 'at-till', box: square(100, 300, 173), fromMs: 8000, toMs: 40_000 });
    const fusion = newFusion(lane, { cashierZone: { x: 0, y: 0, width: 0.5, height: 1 } });
    expect(scanAndPay(fusion)).toEqual({ kind: 'no-link', reason: 'ambiguous' });

    const alone = new ScriptedLane().add({ id: 'beside', box: square(600, 300, 300), fromMs: 8000, toMs: 40_000 });
    const fusionAlone = newFusion(alone, { cashierZone: { x: 0, y: 0, width: 0.5, height: 1 } });
    expect(scanAndPay(fusionAlone)).toEqual({ kind: 'no-link', reason: 'no-face' });
  });

  it('waits for faces that arrive after the scan, until the scan window closes', () => {
    const lane = new ScriptedLane().add({ id: 'late', box: square(300, 300, 200), fromMs: 11_000, toMs: 40_000 });
    const fusion = newFusion(lane);
    fusion.onScan({ atMs: SCAN_AT_MS, classification: PAYMENT_CODE });
    fusion.resolveDue(12_000); // window still open: nothing settled yet
    fusion.resolveDue(13_000);
    expect(fusion.onPayment(payment(30_000))).toEqual({
      kind: 'link-face',
      trackId: 'late',
      memberId: 'm',
    });
  });

  it('links no one to a face seen only outside the scan window', () => {
    // Arrives 4 s after the scan, past its 3 s window, and is seen before the scan is settled.
    const lane = new ScriptedLane().add({ id: 'after', box: square(300, 300, 200), fromMs: 14_000, toMs: 40_000 });
    const fusion = newFusion(lane);
    fusion.onScan({ atMs: SCAN_AT_MS, classification: PAYMENT_CODE });
    fusion.observe(14_500);
    fusion.resolveDue(15_000);
    expect(fusion.onPayment(payment(20_000))).toEqual({
      kind: 'no-link',
      reason: 'outside-window',
    });

    // Left 1.4 s before the scan (the lane still holds the track) while the window is 1 s.
    const earlyLane = new ScriptedLane().add({ id: 'before', box: square(300, 300, 200), fromMs: 5000, toMs: 6500 });
    const narrowFusion = newFusion(earlyLane, { scanWindowMs: 1000 });
    narrowFusion.onScan({ atMs: 7900, classification: PAYMENT_CODE });
    narrowFusion.resolveDue(8900);
    expect(
      narrowFusion.onPayment(payment(12_000)),
    ).toEqual({ kind: 'no-link', reason: 'outside-window' });
    // The same face with the default 3 s window is the payer: only the window left it out.
    const wideFusion = newFusion(earlyLane);
    wideFusion.onScan({ atMs: 7900, classification: PAYMENT_CODE });
    wideFusion.resolveDue(10_900);
    expect(wideFusion.onPayment(payment(12_000))).toEqual({
      kind: 'link-face',
      trackId: 'before',
      memberId: 'm',
    });
    expect(fusion.stats().noLinkByReason['outside-window']).toBe(1);
  });

  it('links no one when the payment comes later than paymentWindowMs after the scan', () => {
    const lane = new ScriptedLane().add({ id: 't1', box: square(300, 300, 200), fromMs: 8000, toMs: 12_000 });
    const fusion = newFusion(lane);
    fusion.onScan({ atMs: SCAN_AT_MS, classification: PAYMENT_CODE });
    expect(
      fusion.onPayment(payment(SCAN_AT_MS + 120_001)),
    ).toEqual({ kind: 'no-link', reason: 'outside-window' });
  });

  it('answers no-scan to a payment with no scan before it, and to a second payment on one scan', () => {
    const lane = new ScriptedLane().add({ id: 't1', box: square(300, 300, 200), fromMs: 0, toMs: 60_000 });
    const fusion = newFusion(lane);
    const pay = (atMs: number) => fusion.onPayment({ ...payment(atMs), memberWasCreated: false });
    expect(pay(5000)).toEqual({ kind: 'no-link', reason: 'no-scan' });
    fusion.onScan({ atMs: SCAN_AT_MS, classification: PAYMENT_CODE });
    expect(pay(9000)).toEqual({ kind: 'no-link', reason: 'no-scan' }); // paid before the scan
    expect(pay(14_000)).toEqual({ kind: 'link-face', trackId: 't1', memberId: 'm' });
    expect(pay(15_000)).toEqual({ kind: 'no-link', reason: 'no-scan' });
    expect(fusion.stats().noLinkByReason['no-scan']).toBe(3);
  });

  it('flags a conflict when a face matched to one member stands there while another pays', () => {
    const lane = new ScriptedLane().add({ id: 't1', box: square(300, 300, 200), fromMs: 8000, toMs: 40_000, memberId: 'alice' });
    const fusion = newFusion(lane);
    expect(scanAndPay(fusion, { memberId: 'bob', memberWasCreated: false, memberHasFace: true })).toEqual({
      kind: 'conflict',
      trackId: 't1',
      faceMemberId: 'alice',
      payerMemberId: 'bob',
    });
    expect(fusion.stats().byKind.conflict).toBe(1);
  });

  it('flags a conflict when the face is named only after the scan window, before the payment', () => {
    const lane = new ScriptedLane().add({
      id: 't1',
      box: square(300, 300, 200),
      fromMs: 8000,
      toMs: 40_000,
      memberId: 'alice',
      namedFromMs: 15_000,
    });
    const fusion = newFusion(lane);
    expect(scanAndPay(fusion, { memberId: 'bob', memberWasCreated: true, memberHasFace: false })).toEqual({
      kind: 'conflict',
      trackId: 't1',
      faceMemberId: 'alice',
      payerMemberId: 'bob',
    });
  });

  it('confirms when the face already matched the paying member', () => {
    const lane = new ScriptedLane().add({ id: 't1', box: square(300, 300, 200), fromMs: 8000, toMs: 40_000, memberId: 'alice' });
    const fusion = newFusion(lane);
    expect(scanAndPay(fusion, { memberId: 'alice', memberWasCreated: false, memberHasFace: true })).toEqual({
      kind: 'confirmed',
      trackId: 't1',
      memberId: 'alice',
    });
  });

  it('does not link an unknown face to a member who already has a face', () => {
    const lane = new ScriptedLane().add({ id: 't1', box: square(300, 300, 200), fromMs: 8000, toMs: 40_000 });
    const fusion = newFusion(lane);
    expect(scanAndPay(fusion, { memberId: 'alice', memberWasCreated: false, memberHasFace: true })).toEqual({
      kind: 'no-link',
      reason: 'member-has-face',
    });
  });

  it('does not count a track seen on one frame only', () => {
    const lane = new ScriptedLane().add({ id: 'blip', box: square(300, 300, 200), fromMs: 10_000, toMs: 10_000 });
    const fusion = newFusion(lane);
    expect(scanAndPay(fusion)).toEqual({ kind: 'no-link', reason: 'no-face' });
    // The same face on a second frame would have been linked.
    lane.faces[0]!.toMs = 10_100;
    expect(scanAndPay(newFusion(lane))).toEqual({ kind: 'link-face', trackId: 'blip', memberId: 'member-new' });
  });

  it('drops sightings when the scan window closes and the scan when the payment window closes', () => {
    const lane = new ScriptedLane().add({ id: 't1', box: square(300, 300, 200), fromMs: 9000, toMs: 40_000 });
    const fusion = newFusion(lane);
    // The app drives fusion from a timer; fake timers stand in for the clock.
    const timer = setInterval(() => fusion.resolveDue(Date.now()), 500);
    vi.advanceTimersByTime(SCAN_AT_MS);
    fusion.onScan({ atMs: Date.now(), classification: PAYMENT_CODE });
    expect(fusion.heldScanCount()).toBe(1);
    expect(fusion.heldSightingCount()).toBe(1);

    vi.advanceTimersByTime(2500);
    expect(fusion.heldSightingCount()).toBe(1);
    vi.advanceTimersByTime(500);
    expect(fusion.heldSightingCount()).toBe(0);
    expect(fusion.heldScanCount()).toBe(1);

    vi.advanceTimersByTime(120_000 - 3000);
    expect(fusion.heldScanCount()).toBe(1);
    vi.advanceTimersByTime(500);
    expect(fusion.heldScanCount()).toBe(0);
    clearInterval(timer);
    // Nothing is sampled once nothing is held.
    const callsBefore = lane.calls.length;
    fusion.resolveDue(Date.now() + 10_000);
    expect(lane.calls.length).toBe(callsBefore);
  });

  it('keeps only the kind and channel of a scan, and ignores rejected scans', () => {
    const lane = new ScriptedLane().add({ id: 't1', box: square(300, 300, 200), fromMs: 8000, toMs: 40_000 });
    const fusion = newFusion(lane);
    // Shaped like classifier results; the phone number must not be held.
    fusion.onScan({ atMs: SCAN_AT_MS, classification: { kind: 'payment', channel: 'alipay' } });
    const phone = { kind: 'phone', phone: '13812345678' };
    fusion.onScan({ atMs: SCAN_AT_MS + 1000, classification: phone });
    expect(fusion.heldScans()).toEqual([
      { atMs: SCAN_AT_MS, classification: { kind: 'payment', channel: 'alipay' } },
      { atMs: SCAN_AT_MS + 1000, classification: { kind: 'phone' } },
    ]);
    expect(JSON.stringify(fusion)).not.toContain('13812345678');

    const rejected = { kind: 'rejected', reason: 'unknown-format', message: 'not a payment code' };
    fusion.onScan({ atMs: SCAN_AT_MS + 2000, classification: rejected });
    expect(fusion.heldScanCount()).toBe(2);
  });

  it('refuses settings that could link the wrong face', () => {
    const tracksAt = new ScriptedLane().tracksAt;
    expect(() => new LaneFusion({ tracksAt, options: { ...SHIPPED_OPTIONS, dominantAreaRatioMin: 1 } })).toThrow(/dominantAreaRatioMin/);
    expect(() => new LaneFusion({ tracksAt, options: { ...SHIPPED_OPTIONS, minFramesSeen: 0 } })).toThrow(/minFramesSeen/);
    const frameSize = { widthPx: 640, heightPx: 480 };
    const beyondFrame = { x: 0.5, y: 0, width: 0.6, height: 1 };
    expect(() => new LaneFusion({ tracksAt, options: { ...SHIPPED_OPTIONS, cashierZone: beyondFrame }, frameSize })).toThrow(/cashierZone/);
    const leftHalf = { x: 0, y: 0, width: 0.5, height: 1 };
    expect(() => new LaneFusion({ tracksAt, options: { ...SHIPPED_OPTIONS, cashierZone: leftHalf } })).toThrow(/frameSize/);
    expect(() => new LaneFusion({ tracksAt, options: { ...SHIPPED_OPTIONS, cashierZone: leftHalf }, frameSize })).not.toThrow();
    expect(() => new LaneFusion({ tracksAt, options: SHIPPED_OPTIONS })).not.toThrow();
  });
});

describe('LaneFusion over the real lane tracker', () => {
  function descriptor(seed: number): Float32Array {
    const d = new Float32Array(DESCRIPTOR_LENGTH);
    d[0] = seed;
    return d;
  }
  const unknown: MatchDecision = { kind: 'unknown', reason: 'too-far', distance: 0.9 };

  it('counts frames per track, links the steady face and hands out a copy of its descriptor', () => {
    const tracker = new LaneTracker({ lane: 'lane-1', options: defaultSettings.tracker, decide: () => unknown });
    const fusion = new LaneFusion({ options: SHIPPED_OPTIONS, tracksAt: (nowMs, windowMs) => tracker.presentTracksWithFrames(nowMs, windowMs) });
    const steady = square(200, 200, 200);
    for (let t = 9000; t <= 13_000; t += 100) {
      // A passer-by appears on one frame only, far from the steady face.
      const faces = [{ box: steady, descriptor: descriptor(0.1) }];
      if (t === 10_000) faces.push({ box: square(700, 200, 200), descriptor: descriptor(0.2) });
      tracker.update(faces, t);
      if (t === 10_000) fusion.onScan({ atMs: t, classification: PAYMENT_CODE });
      fusion.observe(t);
    }
    expect(tracker.presentTracksWithFrames(13_000, 0)).toEqual([expect.objectContaining({ trackId: 'lane-1:1', framesSeen: 41 })]);
    fusion.resolveDue(13_000);
    const decision = fusion.onPayment(payment(13_000));
    expect(decision).toEqual({ kind: 'link-face', trackId: 'lane-1:1', memberId: 'm' });

    const copy = tracker.descriptorOf('lane-1:1')!;
    expect(copy[0]).toBeCloseTo(0.1);
    copy[0] = 99;
    expect(tracker.descriptorOf('lane-1:1')![0]).toBeCloseTo(0.1);
    tracker.expire(Infinity);
    expect(tracker.descriptorOf('lane-1:1')).toBeUndefined();
    expect(copy[0]).toBe(99); // the caller's copy is the caller's to wipe
  });
});

describe('LaneFusion.identifyCashCustomer', () => {
  const PAY_AT_MS = 20_000;

  it('credits the member whose QR was scanned for this sale, once', () => {
    const fusion = newFusion(new ScriptedLane());
    fusion.onScan({ atMs: PAY_AT_MS - 3000, classification: { kind: 'member-qr', memberId: 'm_amy' } });
    expect(fusion.identifyCashCustomer(PAY_AT_MS)).toEqual({ kind: 'member', memberId: 'm_amy', via: 'member-qr' });
    // The scan paid one sale; the next cash sale has nobody.
    expect(fusion.identifyCashCustomer(PAY_AT_MS + 1000)).toEqual({ kind: 'none', reason: 'no-face' });
  });

  it('forgets a member QR scanned longer ago than the payment window', () => {
    const fusion = newFusion(new ScriptedLane());
    fusion.onScan({ atMs: 1000, classification: { kind: 'member-qr', memberId: 'm_amy' } });
    expect(fusion.identifyCashCustomer(1000 + checkout.paymentWindowMs + 1)).toEqual({ kind: 'none', reason: 'no-face' });
  });

  it('credits the one face at the counter when it is named, never an unnamed one', () => {
    const named = new ScriptedLane().add({ id: 't1', box: square(400, 400, 200), fromMs: PAY_AT_MS - 2000, toMs: PAY_AT_MS, memberId: 'm_raj' });
    expect(newFusion(named).identifyCashCustomer(PAY_AT_MS)).toEqual({ kind: 'member', memberId: 'm_raj', via: 'face', trackId: 't1' });
    const stranger = new ScriptedLane().add({ id: 't2', box: square(400, 400, 200), fromMs: PAY_AT_MS - 2000, toMs: PAY_AT_MS });
    expect(newFusion(stranger).identifyCashCustomer(PAY_AT_MS)).toEqual({ kind: 'none', reason: 'unknown-face' });
  });

  it('credits nobody when two faces of like size stand there, and the near one when it dominates', () => {
    const two = new ScriptedLane()
      .add({ id: 'a', box: square(100, 400, 200), fromMs: PAY_AT_MS - 2000, toMs: PAY_AT_MS, memberId: 'm_raj' })
      .add({ id: 'b', box: square(600, 400, 190), fromMs: PAY_AT_MS - 2000, toMs: PAY_AT_MS, memberId: 'm_amy' });
    expect(newFusion(two).identifyCashCustomer(PAY_AT_MS)).toEqual({ kind: 'none', reason: 'ambiguous' });
    const near = new ScriptedLane()
      .add({ id: 'a', box: square(300, 300, 400), fromMs: PAY_AT_MS - 2000, toMs: PAY_AT_MS, memberId: 'm_raj' })
      .add({ id: 'b', box: square(800, 100, 100), fromMs: PAY_AT_MS - 2000, toMs: PAY_AT_MS, memberId: 'm_amy' });
    expect(newFusion(near).identifyCashCustomer(PAY_AT_MS)).toMatchObject({ kind: 'member', memberId: 'm_raj', via: 'face' });
  });

  it('credits nobody for a face that left the counter before the sale', () => {
    const gone = new ScriptedLane().add({ id: 't1', box: square(400, 400, 200), fromMs: 1000, toMs: 3000, memberId: 'm_raj' });
    expect(newFusion(gone).identifyCashCustomer(PAY_AT_MS)).toEqual({ kind: 'none', reason: 'no-face' });
  });
});
