import { iou } from '../vision/boxGeometry.js';
import type { Box } from '../vision/visionTypes.js';
import { assertValidDescriptor } from '../vision/faceDescriptor.js';
import { descriptorDistance } from './exactRanking.js';
import type { MatchDecision } from './matcher.js';
import {
  type LaneTrackerInit,
  type PresentTrack,
  type PresentTrackWithFrames,
  type SceneState,
  type TrackedFace,
  type TrackerEvent,
  type TrackerOptions,
  type TrackLeft,
} from './trackerTypes.js';

type Identity = { kind: 'undecided' } | { kind: 'unknown' } | { kind: 'member'; memberId: string; confidence: number };

interface MemberTally {
  votes: number;
  distanceSum: number;
  /** Thresholds of the votes: each frame's depends on its face size. */
  thresholdSum: number;
}

interface Track {
  id: string;
  box: Box;
  firstSeenMs: number;
  lastSeenMs: number;
  /** Frames with a detection assigned to this track, and unchanged frames that held it. */
  framesSeen: number;
  /** Analyzed frames with a detection assigned to this track. */
  framesAnalyzed: number;
  /** When the track last received a descriptor; drives the re-check of decided tracks. */
  lastDescribedMs: number | undefined;
  /**
   * The tracker's own copy of the latest descriptor, so it can be zeroed when the track
   * ends: a non-member's embedding must not outlive their presence at the till.
   */
  descriptor: Float32Array | undefined;
  /** Latest descriptor from a frame that passed the enrollment gate, for a consented face capture. */
  enrollCapture: Float32Array | undefined;
  /** Frames of this track that passed the enrollment gate. */
  enrollCaptures: number;
  memberTallies: Map<string, MemberTally>;
  unknownVotes: number;
  totalVotes: number;
  identity: Identity;
}

/**
 * Follows faces across the frames of one lane and names a face only when several frames agree,
 * because one frame's match can be wrong and a wrong member on the till screen is the worst
 * failure. Pure logic: time comes in as `nowMs`, so tests drive it with fake time.
 */
export class LaneTracker {
  readonly lane: string;
  private readonly options: TrackerOptions;
  private readonly decide: (descriptor: Float32Array, facePx: number) => MatchDecision;
  private readonly isEnrollable: (face: TrackedFace) => boolean;
  private readonly tracks = new Map<string, Track>();
  /** Last frame time each named member was seen on this lane: a stay and a quick return are one visit. */
  private readonly memberLastSeenMs = new Map<string, number>();
  private nextTrackNumber = 1;
  /** Time of the latest analyzed frame: tracks seen on it are the faces an unchanged scene still shows. */
  private lastUpdateMs = Number.NEGATIVE_INFINITY;
  /** Faces on the latest analyzed frame. */
  private lastUpdateFaces = 0;

  constructor(init: LaneTrackerInit) {
    if (typeof init.lane !== 'string' || init.lane === '') throw new Error('lane must be a non-empty string');
    this.lane = init.lane;
    this.isEnrollable = init.isEnrollable ?? (() => false);
    this.options = validOptions({ ...init.options });
    this.decide = init.decide;
  }

  /**
   * Boxes whose faces the engine need not describe this frame: decided tracks not yet due for
   * a re-check. An undecided track is left out so it keeps collecting votes.
   */
  skipDescriptorBoxes(nowMs: number): Box[] {
    assertTime(nowMs, 'nowMs');
    const boxes: Box[] = [];
    for (const track of this.tracks.values()) {
      if (nowMs - track.lastSeenMs > this.options.trackTimeoutMs) continue;
      if (this.describedRecently(track, nowMs)) boxes.push({ ...track.box });
    }
    return boxes;
  }

  /** Decided, and described within recheckEveryMs: its face need not be described now. */
  private describedRecently(track: Track, nowMs: number): boolean {
    if (track.identity.kind === 'undecided' || track.lastDescribedMs === undefined) return false;
    return nowMs - track.lastDescribedMs < this.options.recheckEveryMs;
  }

  /** Takes one frame's detections; returns what changed, ended tracks first. */
  update(faces: readonly TrackedFace[], nowMs: number): TrackerEvent[] {
    if (typeof nowMs !== 'number' || !Number.isFinite(nowMs)) {
      throw new Error(`nowMs of a frame must be a finite time in milliseconds, got ${nowMs}`);
    }
    faces.forEach((face, i) => {
      if (face.descriptor !== undefined) assertValidDescriptor(face.descriptor, `descriptor of face ${i}`);
    });

    const events: TrackerEvent[] = this.expire(nowMs);
    this.lastUpdateMs = nowMs;
    this.lastUpdateFaces = faces.length;
    const pairs: { track: Track; faceIndex: number; overlap: number }[] = [];
    const displaced = new Set<Track>();
    for (const track of this.tracks.values()) {
      faces.forEach((face, faceIndex) => {
        const overlap = iou(track.box, face.box);
        if (overlap < this.options.iouMatchMin) return;
        if (
          face.descriptor !== undefined &&
          track.descriptor !== undefined &&
          descriptorDistance(track.descriptor, face.descriptor) > this.options.sameTrackDistanceMax
        ) {
          displaced.add(track);
          return;
        }
        pairs.push({ track, faceIndex, overlap });
      });
    }
    // Stable sort: equal overlaps keep track-then-detection order, so replays are deterministic.
    pairs.sort((a, b) => b.overlap - a.overlap);
    const trackOfFace: (Track | undefined)[] = new Array(faces.length);
    const continued = new Set<Track>();
    for (const { track, faceIndex } of pairs) {
      if (continued.has(track) || trackOfFace[faceIndex] !== undefined) continue;
      trackOfFace[faceIndex] = track;
      continued.add(track);
    }
    // Someone else now stands where this track's person stood; keeping the track would let its
    // box hide the newcomer's face from the engine until the track timed out.
    for (const track of displaced) {
      if (!continued.has(track)) events.push(this.end(track));
    }

    faces.forEach((face, faceIndex) => {
      const track = trackOfFace[faceIndex];
      if (track === undefined) this.start(face, nowMs, events, undefined);
      else this.continueTrack(track, face, nowMs, events);
    });
    return events;
  }

  /**
   * A frame the scene gate found unchanged since the latest analyzed one: the faces seen on that
   * frame are still there, so their tracks are seen again (kept alive, a frame more for the
   * fusion's count) without being analyzed. A track the latest analysis did not find is left to
   * time out: the person it followed has gone, and a still scene does not bring them back.
   */
  hold(nowMs: number): TrackerEvent[] {
    const events = this.expire(nowMs);
    for (const track of this.tracks.values()) {
      if (track.lastSeenMs < this.lastUpdateMs || nowMs < track.lastSeenMs) continue;
      track.lastSeenMs = nowMs;
      track.framesSeen++;
      this.markMemberSeen(track, nowMs);
    }
    return events;
  }

  sceneState(nowMs: number): SceneState {
    assertTime(nowMs, 'nowMs');
    let heldTracks = 0;
    let missed = 0;
    let newestTrackFramesAnalyzed: number | undefined;
    let followedBoxes: Box[] | undefined = [];
    for (const track of this.tracks.values()) {
      if (nowMs - track.lastSeenMs > this.options.trackTimeoutMs) continue;
      if (track.lastSeenMs < this.lastUpdateMs) {
        missed++;
        continue;
      }
      heldTracks++;
      newestTrackFramesAnalyzed = Math.min(newestTrackFramesAnalyzed ?? Infinity, track.framesAnalyzed);
      if (followedBoxes && this.describedRecently(track, nowMs)) followedBoxes.push({ ...track.box });
      else followedBoxes = undefined;
    }
    const lostFaces = missed + Math.max(0, this.lastUpdateFaces - heldTracks);
    return { heldTracks, lostFaces, newestTrackFramesAnalyzed, followedBoxes: followedBoxes?.length && lostFaces === 0 ? followedBoxes : undefined };
  }

  /**
   * Ends tracks not seen for longer than trackTimeoutMs, for a timer to call when no frames
   * arrive. `expire(Infinity)` ends every track, e.g. when the lane stops.
   */
  expire(nowMs: number): TrackerEvent[] {
    assertTime(nowMs, 'nowMs');
    const events: TrackerEvent[] = [];
    for (const track of this.tracks.values()) {
      if (nowMs - track.lastSeenMs > this.options.trackTimeoutMs) events.push(this.end(track));
    }
    for (const [memberId, lastSeenMs] of this.memberLastSeenMs) {
      if (nowMs - lastSeenMs >= this.options.popupCooldownMs) this.memberLastSeenMs.delete(memberId);
    }
    return events;
  }

  /**
   * A new scene (a recording that starts over): members seen so far no longer count as
   * visiting, so the next sighting of each one is a new visit with its popup.
   */
  forgetVisits(): void {
    this.memberLastSeenMs.clear();
  }

  /** Members named by a track seen within the last `windowMs`, with the confidence they were named with: who stands at the lane now. */
  presentMembers(nowMs: number, windowMs: number): { trackId: string; memberId: string; confidence: number }[] {
    return this.tracksSeenWithin(nowMs, windowMs).flatMap(({ id, identity }) =>
      identity.kind === 'member' ? [{ trackId: id, memberId: identity.memberId, confidence: identity.confidence }] : [],
    );
  }

  /**
   * A member was deleted: tracks named as them become undecided and vote again, so the person
   * is a stranger from their next frame on, and their visit is forgotten.
   */
  forgetMember(memberId: string): void {
    this.memberLastSeenMs.delete(memberId);
    for (const track of this.tracks.values()) {
      if (track.identity.kind === 'member' && track.identity.memberId === memberId) this.resetVotes(track);
      track.memberTallies.delete(memberId);
    }
  }

  /** Tracks seen within the last `windowMs`, for the fusion stage; carries no descriptors. */
  presentTracks(nowMs: number, windowMs: number): PresentTrack[] {
    return this.tracksSeenWithin(nowMs, windowMs).map(viewOf);
  }

  /** Like presentTracks, plus each track's frame count, which the fusion stage's attribution rule needs. */
  presentTracksWithFrames(nowMs: number, windowMs: number): PresentTrackWithFrames[] {
    return this.tracksSeenWithin(nowMs, windowMs).map((track) => ({ ...viewOf(track), framesSeen: track.framesSeen }));
  }

  /**
   * A copy of the latest enrollment-grade descriptor of a live track and how many of its frames
   * were enrollment-grade; a face is captured for enrollment only from such frames. Undefined
   * once the track has ended, because its buffers are wiped then; a copy, because the tracker
   * overwrites its own buffer on the next frame.
   */
  enrollCaptureOf(trackId: string): { descriptor: Float32Array; frames: number } | undefined {
    const track = this.tracks.get(trackId);
    if (track?.enrollCapture === undefined) return undefined;
    return { descriptor: new Float32Array(track.enrollCapture), frames: track.enrollCaptures };
  }

  descriptorOf(trackId: string): Float32Array | undefined {
    const descriptor = this.tracks.get(trackId)?.descriptor;
    return descriptor === undefined ? undefined : new Float32Array(descriptor);
  }

  private tracksSeenWithin(nowMs: number, windowMs: number): Track[] {
    assertTime(nowMs, 'nowMs');
    if (!(windowMs >= 0)) throw new Error(`windowMs must be a number ≥ 0, got ${windowMs}`);
    return [...this.tracks.values()].filter((track) => nowMs - track.lastSeenMs <= windowMs);
  }

  /** Descriptors held in memory right now (one per track that has been described). */
  heldDescriptorCount(): number {
    let count = 0;
    for (const track of this.tracks.values()) if (track.descriptor !== undefined) count++;
    return count;
  }

  private start(face: TrackedFace, nowMs: number, events: TrackerEvent[], decision: MatchDecision | undefined): void {
    const track: Track = {
      id: `${this.lane}:${this.nextTrackNumber++}`,
      box: { ...face.box },
      firstSeenMs: nowMs,
      lastSeenMs: nowMs,
      framesSeen: 1,
      framesAnalyzed: 1,
      lastDescribedMs: undefined,
      descriptor: undefined,
      enrollCapture: undefined,
      enrollCaptures: 0,
      memberTallies: new Map(),
      unknownVotes: 0,
      totalVotes: 0,
      identity: { kind: 'undecided' },
    };
    this.tracks.set(track.id, track);
    this.keepEnrollCapture(track, face);
    if (face.descriptor !== undefined) {
      this.vote(track, face.descriptor, decision ?? this.decide(face.descriptor, face.box.width), nowMs, events);
    }
  }

  private continueTrack(track: Track, face: TrackedFace, nowMs: number, events: TrackerEvent[]): void {
    track.box = { ...face.box };
    track.lastSeenMs = nowMs;
    track.framesSeen++;
    track.framesAnalyzed++;
    if (face.descriptor === undefined) {
      this.markMemberSeen(track, nowMs);
      return;
    }
    const decision = this.decide(face.descriptor, face.box.width);
    // A decided track whose face now decides otherwise is taken as another person in the same
    // spot: the old identity must not stick to them. If it was the same person on a poor frame,
    // the new track re-decides within a few frames and the cooldown keeps the popup from repeating.
    if (track.identity.kind !== 'undecided' && !confirms(track.identity, decision)) {
      events.push(this.end(track));
      this.start(face, nowMs, events, decision);
      return;
    }
    this.keepEnrollCapture(track, face);
    this.vote(track, face.descriptor, decision, nowMs, events);
  }

  private keepEnrollCapture(track: Track, face: TrackedFace): void {
    if (face.descriptor === undefined || !this.isEnrollable(face)) return;
    if (track.enrollCapture === undefined) track.enrollCapture = new Float32Array(face.descriptor);
    else track.enrollCapture.set(face.descriptor);
    track.enrollCaptures++;
  }

  private vote(track: Track, descriptor: Float32Array, decision: MatchDecision, nowMs: number, events: TrackerEvent[]): void {
    if (track.descriptor === undefined) track.descriptor = new Float32Array(descriptor);
    else track.descriptor.set(descriptor);
    track.lastDescribedMs = nowMs;
    // A face too small to name is no evidence either way: the person is tracked until they come closer.
    if (track.identity.kind !== 'undecided' || isTooSmall(decision)) {
      this.markMemberSeen(track, nowMs);
      return;
    }

    track.totalVotes++;
    if (decision.kind === 'member') {
      const tally = track.memberTallies.get(decision.memberId) ?? { votes: 0, distanceSum: 0, thresholdSum: 0 };
      tally.votes++;
      tally.distanceSum += decision.distance;
      tally.thresholdSum += decision.threshold;
      track.memberTallies.set(decision.memberId, tally);
    } else {
      track.unknownVotes++;
    }

    const named = this.namedMember(track);
    if (named !== undefined) {
      const agreement = named.tally.votes / track.totalVotes;
      const distance = named.tally.distanceSum / named.tally.votes;
      const confidence = confidenceOf(agreement, distance, named.tally.thresholdSum / named.tally.votes);
      track.identity = { kind: 'member', memberId: named.memberId, confidence };
      const lastSeenMs = this.memberLastSeenMs.get(named.memberId);
      if (lastSeenMs === undefined || nowMs - lastSeenMs >= this.options.popupCooldownMs) {
        events.push({ type: 'recognized', trackId: track.id, memberId: named.memberId, confidence, distance });
      }
      this.markMemberSeen(track, nowMs);
    } else if (track.unknownVotes >= this.options.unknownVotesToDecide) {
      track.identity = { kind: 'unknown' };
      events.push({ type: 'unknown', trackId: track.id });
    }
  }

  /**
   * The member that meets the agreement rule. Two members tied on votes cannot both pass it:
   * agreement only falls as other votes arrive, so the earlier of the two would already have failed.
   */
  private namedMember(track: Track): { memberId: string; tally: MemberTally } | undefined {
    let best: { memberId: string; tally: MemberTally } | undefined;
    for (const [memberId, tally] of track.memberTallies) {
      if (best === undefined || tally.votes > best.tally.votes) best = { memberId, tally };
    }
    if (best === undefined || best.tally.votes < this.options.votesToDecide) return undefined;
    if (best.tally.votes / track.totalVotes < this.options.voteAgreementMin) return undefined;
    return best;
  }

  private resetVotes(track: Track): void {
    track.identity = { kind: 'undecided' };
    // Votes are collected afresh, at the full rate a new face gets (sceneGate.newFaceFullRateFrames).
    track.framesAnalyzed = 0;
    track.memberTallies.clear();
    track.unknownVotes = 0;
    track.totalVotes = 0;
    track.lastDescribedMs = undefined;
  }

  private markMemberSeen(track: Track, nowMs: number): void {
    if (track.identity.kind === 'member') this.memberLastSeenMs.set(track.identity.memberId, nowMs);
  }

  private end(track: Track): TrackLeft {
    // The garbage collector frees memory without clearing it.
    track.descriptor?.fill(0);
    track.enrollCapture?.fill(0);
    this.tracks.delete(track.id);
    const left: TrackLeft = { type: 'left', trackId: track.id };
    if (track.identity.kind === 'member') left.memberId = track.identity.memberId;
    return left;
  }
}

function viewOf(track: Track): PresentTrack {
  const view: PresentTrack = {
    trackId: track.id,
    box: { ...track.box },
    boxAreaPx: track.box.width * track.box.height,
    firstSeenMs: track.firstSeenMs,
    lastSeenMs: track.lastSeenMs,
  };
  if (track.identity.kind === 'member') view.memberId = track.identity.memberId;
  return view;
}

function confirms(identity: Identity, decision: MatchDecision): boolean {
  if (isTooSmall(decision)) return true;
  if (identity.kind === 'member') return decision.kind === 'member' && decision.memberId === identity.memberId;
  return decision.kind === identity.kind;
}

/**
 * Agreement times closeness, where closeness falls linearly from 1 at distance 0 to 0.5 at the
 * match threshold: an accepted match never reads as near-zero confidence, and a split vote
 * pulls the figure down in proportion.
 */
function isTooSmall(decision: MatchDecision): boolean {
  return decision.kind === 'unknown' && decision.reason === 'too-small';
}

function confidenceOf(agreement: number, meanDistance: number, threshold: number): number {
  const closeness = threshold > 0 ? 1 - meanDistance / (2 * threshold) : 1;
  return Math.min(1, Math.max(0, agreement * closeness));
}

function assertTime(ms: number, name: string): void {
  if (typeof ms !== 'number' || Number.isNaN(ms)) throw new Error(`${name} must be a time in milliseconds, got ${ms}`);
}

function validOptions(options: TrackerOptions): TrackerOptions {
  const rules: [keyof TrackerOptions, (v: number) => boolean, string][] = [
    ['iouMatchMin', (v) => v > 0 && v <= 1, 'in (0, 1]'],
    ['sameTrackDistanceMax', (v) => v >= 0, '≥ 0'],
    ['recheckEveryMs', (v) => v >= 0, '≥ 0'],
    ['votesToDecide', (v) => Number.isInteger(v) && v >= 1, 'an integer ≥ 1'],
    ['voteAgreementMin', (v) => v > 0 && v <= 1, 'in (0, 1]'],
    ['unknownVotesToDecide', (v) => Number.isInteger(v) && v >= 1, 'an integer ≥ 1'],
    ['trackTimeoutMs', (v) => v >= 0, '≥ 0'],
    ['popupCooldownMs', (v) => v >= 0, '≥ 0'],
  ];
  for (const [name, ok, expected] of rules) {
    const value = options[name];
    if (typeof value !== 'number' || !Number.isFinite(value) || !ok(value)) {
      throw new Error(`tracker option ${name} must be ${expected}, got ${String(value)}`);
    }
  }
  return options;
}
