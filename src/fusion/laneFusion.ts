import type { PresentTrackWithFrames } from '../matching/trackerTypes.js';
import type { Box } from '../vision/visionTypes.js';
import {
  type Attribution,
  type CashCustomer,
  type AttributionRule,
  type FrameSize,
  type FusionCandidate,
  type FusionDecision,
  type FusionPayment,
  type FusionScan,
  type FusionStats,
  type LaneFusionInit,
  type LaneFusionOptions,
  type NoLinkReason,
  type NormalizedRect,
  type HeldScanClassification,
  type TracksProvider,
} from './fusionTypes.js';

/**
 * Names the face that paid, or nobody. Linking the wrong face to a payer would greet a stranger
 * with someone else's discount and balance, so a link needs either a lone face or one face so
 * much nearer the camera (larger) than every other that it must be the one at the scanner.
 */
export function attribute(candidates: readonly FusionCandidate[], rule: AttributionRule): Attribution {
  const counted = candidates.filter((c) => c.framesSeen >= rule.minFramesSeen);
  const inZone = counted.filter((c) => centredIn(c.box, rule.cashierZonePx));
  if (inZone.length === 0) return { kind: 'none', reason: 'no-face' };
  if (counted.length === 1) return { kind: 'payer', track: inZone[0]! };
  // Faces outside the zone still compete for dominance: the zone's edge is a rough line drawn by
  // the installer, and a large face just beyond it may well be the payer leaning in.
  const [largest, runnerUp] = [...counted].sort((a, b) => b.boxAreaPx - a.boxAreaPx);
  if (inZone.includes(largest!) && largest!.boxAreaPx >= rule.dominantAreaRatioMin * runnerUp!.boxAreaPx) {
    return { kind: 'payer', track: largest! };
  }
  return { kind: 'none', reason: 'ambiguous' };
}

/** Everything fusion learned of one track around one scan, merged over the samples taken. */
interface Sighting {
  candidate: FusionCandidate;
  firstSeenMs: number;
  lastSeenMs: number;
  /** How far from the scan the kept box was seen; the box nearest the scan moment wins. */
  boxOffsetMs: number;
}

type ScanOutcome =
  | { kind: 'payer'; trackId: string; memberId: string | undefined }
  | { kind: 'none'; reason: 'no-face' | 'ambiguous' | 'outside-window' };

interface HeldScan {
  atMs: number;
  classification: HeldScanClassification;
  /** Track sightings while the scan window is open; dropped once the outcome is known. */
  sightings: Map<string, Sighting> | undefined;
  outcome: ScanOutcome | undefined;
  paid: boolean;
}

/**
 * Decides, per lane, whose face stood at the scanner when a payment was scanned. Pure logic:
 * time comes in as arguments. Holds track ids, boxes and member ids only — never descriptors;
 * the caller fetches a linked track's descriptor from the tracker when the customer consents.
 */
export class LaneFusion {
  private readonly options: LaneFusionOptions;
  private readonly rule: AttributionRule;
  private readonly tracksAt: TracksProvider;
  /** Oldest first. */
  private readonly scans: HeldScan[] = [];
  /** Time of the newest scan dropped unpaid, to tell a late payment from one with no scan at all. */
  private newestDroppedScanAtMs: number | undefined;
  private readonly counts: FusionStats = {
    byKind: { 'link-face': 0, confirmed: 0, conflict: 0, 'no-link': 0 },
    noLinkByReason: { 'no-face': 0, ambiguous: 0, 'outside-window': 0, 'no-scan': 0, 'member-has-face': 0 },
  };

  constructor(init: LaneFusionInit) {
    this.options = validOptions({ ...init.options });
    if (typeof init.tracksAt !== 'function') {
      throw new Error('tracksAt must be a function returning the lane tracker’s present tracks');
    }
    this.tracksAt = init.tracksAt;
    this.rule = {
      dominantAreaRatioMin: this.options.dominantAreaRatioMin,
      minFramesSeen: this.options.minFramesSeen,
      cashierZonePx: zoneInPixels(this.options.cashierZone, init.frameSize),
    };
  }

  /**
   * Records a scan and what faces stand at the scanner now; later faces are sampled until its
   * window closes. A rejected scan is ignored: it paid nothing, and recording it would make the
   * payment after it pair with it instead of with the real payment scan before it.
   */
  onScan(scan: FusionScan): void {
    assertTime(scan.atMs, 'scan.atMs');
    const { kind, channel, memberId } = scan.classification;
    if (typeof kind !== 'string' || kind === '') {
      throw new Error(`scan classification kind must be a non-empty string, got ${String(kind)}`);
    }
    if (kind === 'rejected') return;
    // Copy field by field, so nothing else the caller's object carries is held here.
    const classification: HeldScanClassification = channel === undefined ? { kind } : { kind, channel };
    if (kind === 'member-qr' && typeof memberId === 'string') classification.memberId = memberId;
    const held: HeldScan = { atMs: scan.atMs, classification, sightings: new Map(), outcome: undefined, paid: false };
    let at = this.scans.length;
    while (at > 0 && this.scans[at - 1]!.atMs > scan.atMs) at--;
    this.scans.splice(at, 0, held);
    this.resolveDue(scan.atMs);
  }

  /**
   * Samples the lane's tracks for the held scans; call it after each tracker update, so that a
   * face which comes and goes between two resolveDue calls is not missed.
   */
  observe(nowMs: number): void {
    assertTime(nowMs, 'nowMs');
    this.sample(nowMs);
  }

  /** Settles scans whose window has closed, and drops scans too old for a payment to pair with. */
  resolveDue(nowMs: number): void {
    assertTime(nowMs, 'nowMs');
    this.sample(nowMs);
    for (const scan of this.scans) {
      if (scan.outcome === undefined && nowMs - scan.atMs >= this.options.scanWindowMs) this.resolve(scan);
    }
    while (this.scans.length > 0 && nowMs - this.scans[0]!.atMs > this.options.paymentWindowMs) {
      const dropped = this.scans.shift()!;
      if (!dropped.paid) this.newestDroppedScanAtMs = Math.max(this.newestDroppedScanAtMs ?? -Infinity, dropped.atMs);
    }
  }

  /** Pairs a payment with the lane's latest scan before it and says what to do with the face there. */
  onPayment(payment: FusionPayment): FusionDecision {
    assertTime(payment.atMs, 'payment.atMs');
    if (typeof payment.memberId !== 'string' || payment.memberId === '') {
      throw new Error('payment.memberId must be a non-empty string');
    }
    if (payment.memberWasCreated && payment.memberHasFace) {
      throw new Error('payment says the member was just created yet already has a face; a new member cannot have one');
    }
    this.resolveDue(payment.atMs);
    const decision = this.decide(payment);
    this.counts.byKind[decision.kind]++;
    if (decision.kind === 'no-link') this.counts.noLinkByReason[decision.reason]++;
    return decision;
  }

  /**
   * Who pays cash now, by the rules a payment's face link follows: the member QR scanned for
   * this sale (the lane's latest scan within the payment window, not yet used by a payment), else
   * the one face at the counter — or the one far nearer than every other — when it has been
   * named as a member. Anyone else, several faces, or a face not named: a non-member sale.
   */
  identifyCashCustomer(atMs: number): CashCustomer {
    assertTime(atMs, 'atMs');
    this.resolveDue(atMs);
    let scan: HeldScan | undefined;
    for (const held of this.scans) if (held.atMs <= atMs && !held.paid) scan = held;
    if (scan?.classification.kind === 'member-qr' && scan.classification.memberId !== undefined) {
      scan.paid = true;
      return { kind: 'member', memberId: scan.classification.memberId, via: 'member-qr' };
    }
    const windowMs = this.options.scanWindowMs;
    const present = this.tracksAt(atMs, windowMs).map(candidateOf);
    const attribution = attribute(present, this.rule);
    if (attribution.kind === 'none') return attribution;
    const memberId = attribution.track.memberId;
    if (memberId === undefined) return { kind: 'none', reason: 'unknown-face' };
    return { kind: 'member', memberId, via: 'face', trackId: attribution.track.trackId };
  }

  stats(): FusionStats {
    return { byKind: { ...this.counts.byKind }, noLinkByReason: { ...this.counts.noLinkByReason } };
  }

  /** Scans held for pairing, oldest first: time and classification only. */
  heldScans(): { atMs: number; classification: HeldScanClassification }[] {
    return this.scans.map((s) => ({ atMs: s.atMs, classification: { ...s.classification } }));
  }

  heldScanCount(): number {
    return this.scans.length;
  }

  /** Track sightings held for scans whose window is still open. */
  heldSightingCount(): number {
    let count = 0;
    for (const scan of this.scans) count += scan.sightings?.size ?? 0;
    return count;
  }

  private decide(payment: FusionPayment): FusionDecision {
    let scan: HeldScan | undefined;
    for (const held of this.scans) if (held.atMs <= payment.atMs) scan = held;
    if (scan === undefined) {
      const late = this.newestDroppedScanAtMs !== undefined && this.newestDroppedScanAtMs <= payment.atMs;
      return { kind: 'no-link', reason: late ? 'outside-window' : 'no-scan' };
    }
    // One scanned code pays one order; a second payment has no scan of its own.
    if (scan.paid) return { kind: 'no-link', reason: 'no-scan' };
    scan.paid = true;
    // A payment inside the scan window settles at once: the payer is there now, and waiting
    // longer would only add passers-by as candidates.
    const outcome = scan.outcome ?? this.resolve(scan);
    if (outcome.kind === 'none') return { kind: 'no-link', reason: outcome.reason };
    if (outcome.memberId === payment.memberId) return { kind: 'confirmed', trackId: outcome.trackId, memberId: payment.memberId };
    if (outcome.memberId !== undefined) {
      return { kind: 'conflict', trackId: outcome.trackId, faceMemberId: outcome.memberId, payerMemberId: payment.memberId };
    }
    if (payment.memberHasFace) return { kind: 'no-link', reason: 'member-has-face' };
    return { kind: 'link-face', trackId: outcome.trackId, memberId: payment.memberId };
  }

  private resolve(scan: HeldScan): ScanOutcome {
    const sightings = [...(scan.sightings?.values() ?? [])];
    const windowMs = this.options.scanWindowMs;
    const inWindow = sightings.filter((s) => s.firstSeenMs <= scan.atMs + windowMs && s.lastSeenMs >= scan.atMs - windowMs);
    let outcome: ScanOutcome;
    if (inWindow.length === 0) {
      // Faces just outside the window point at a window too short for this lane, not at an empty lane.
      outcome = { kind: 'none', reason: sightings.length > 0 ? 'outside-window' : 'no-face' };
    } else {
      const attribution = attribute(inWindow.map((s) => s.candidate), this.rule);
      outcome =
        attribution.kind === 'payer'
          ? { kind: 'payer', trackId: attribution.track.trackId, memberId: attribution.track.memberId }
          : attribution;
    }
    scan.outcome = outcome;
    scan.sightings = undefined;
    return outcome;
  }

  /**
   * One look at the tracker for every held scan: open windows gather sightings, and a settled
   * scan awaiting its payment learns if its face has since been named — the tracker names a
   * face only after several frames, and linking a face already named as someone else to this
   * payer would merge two people.
   */
  private sample(nowMs: number): void {
    const oldest = this.scans[0];
    if (oldest === undefined) return;
    const windowMs = this.options.scanWindowMs;
    // One extra window before the oldest scan's, so near misses are seen as such.
    const lookbackMs = Math.max(0, nowMs - (oldest.atMs - 2 * windowMs));
    const tracks = this.tracksAt(nowMs, lookbackMs);
    for (const scan of this.scans) {
      if (scan.sightings !== undefined) {
        for (const track of tracks) {
          if (track.lastSeenMs < scan.atMs - 2 * windowMs || track.firstSeenMs > scan.atMs + 2 * windowMs) continue;
          scan.sightings.set(track.trackId, merged(scan.sightings.get(track.trackId), track, scan.atMs));
        }
      } else if (scan.outcome?.kind === 'payer' && !scan.paid) {
        const payerTrackId = scan.outcome.trackId;
        const named = tracks.find((t) => t.trackId === payerTrackId)?.memberId;
        if (named !== undefined) scan.outcome.memberId = named;
      }
    }
  }
}

function merged(previous: Sighting | undefined, track: PresentTrackWithFrames, scanAtMs: number): Sighting {
  const offsetMs = Math.abs(track.lastSeenMs - scanAtMs);
  if (previous === undefined) {
    const { firstSeenMs, lastSeenMs } = track;
    return { candidate: candidateOf(track), firstSeenMs, lastSeenMs, boxOffsetMs: offsetMs };
  }
  const nearer = offsetMs < previous.boxOffsetMs;
  const candidate: FusionCandidate = {
    trackId: track.trackId,
    box: nearer ? { ...track.box } : previous.candidate.box,
    boxAreaPx: nearer ? track.boxAreaPx : previous.candidate.boxAreaPx,
    framesSeen: Math.max(track.framesSeen, previous.candidate.framesSeen),
  };
  // A track never changes its member once named (the tracker starts a new track instead).
  const memberId = track.memberId ?? previous.candidate.memberId;
  if (memberId !== undefined) candidate.memberId = memberId;
  return {
    candidate,
    firstSeenMs: Math.min(track.firstSeenMs, previous.firstSeenMs),
    lastSeenMs: Math.max(track.lastSeenMs, previous.lastSeenMs),
    boxOffsetMs: nearer ? offsetMs : previous.boxOffsetMs,
  };
}

function candidateOf(track: PresentTrackWithFrames): FusionCandidate {
  const candidate: FusionCandidate = {
    trackId: track.trackId,
    box: { ...track.box },
    boxAreaPx: track.boxAreaPx,
    framesSeen: track.framesSeen,
  };
  if (track.memberId !== undefined) candidate.memberId = track.memberId;
  return candidate;
}

/** The centre decides: a face at the zone's edge is partly in and partly out. */
function centredIn(box: Box, zone: Box | undefined): boolean {
  if (zone === undefined) return true;
  const cx = box.x + box.width / 2;
  const cy = box.y + box.height / 2;
  return cx >= zone.x && cx <= zone.x + zone.width && cy >= zone.y && cy <= zone.y + zone.height;
}

function zoneInPixels(zone: NormalizedRect, frameSize: FrameSize | undefined): Box | undefined {
  const wholeFrame = zone.x === 0 && zone.y === 0 && zone.width === 1 && zone.height === 1;
  if (frameSize === undefined) {
    if (wholeFrame) return undefined;
    throw new Error('a cashier zone smaller than the whole frame needs frameSize, the camera frame size in pixels');
  }
  for (const name of ['widthPx', 'heightPx'] as const) {
    const value = frameSize[name];
    if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
      throw new Error(`frameSize.${name} must be a number > 0, got ${String(value)}`);
    }
  }
  return {
    x: zone.x * frameSize.widthPx,
    y: zone.y * frameSize.heightPx,
    width: zone.width * frameSize.widthPx,
    height: zone.height * frameSize.heightPx,
  };
}

function assertTime(ms: number, name: string): void {
  if (typeof ms !== 'number' || !Number.isFinite(ms)) {
    throw new Error(`${name} must be a finite time in milliseconds, got ${String(ms)}`);
  }
}

function validOptions(options: LaneFusionOptions): LaneFusionOptions {
  const rules: [Exclude<keyof LaneFusionOptions, 'cashierZone'>, (v: number) => boolean, string][] = [
    ['scanWindowMs', (v) => v >= 0, '≥ 0'],
    ['paymentWindowMs', (v) => v >= 0, '≥ 0'],
    // At 1 two faces of equal size would both be "dominant"; the pick would depend on list order.
    ['dominantAreaRatioMin', (v) => v > 1, '> 1'],
    ['minFramesSeen', (v) => Number.isInteger(v) && v >= 1, 'an integer ≥ 1'],
  ];
  for (const [name, ok, expected] of rules) {
    const value = options[name];
    if (typeof value !== 'number' || !Number.isFinite(value) || !ok(value)) {
      throw new Error(`fusion option ${name} must be ${expected}, got ${String(value)}`);
    }
  }
  const zone = options.cashierZone;
  const parts = [zone?.x, zone?.y, zone?.width, zone?.height];
  if (
    parts.some((v) => typeof v !== 'number' || !Number.isFinite(v)) ||
    zone.x < 0 ||
    zone.y < 0 ||
    zone.width <= 0 ||
    zone.height <= 0 ||
    zone.x + zone.width > 1 ||
    zone.y + zone.height > 1
  ) {
    throw new Error(
      'fusion option cashierZone must be {x, y, width, height} as fractions of the frame, lying inside 0–1, ' +
        `got ${JSON.stringify(zone)}`,
    );
  }
  return { ...options, cashierZone: { ...zone } };
}
