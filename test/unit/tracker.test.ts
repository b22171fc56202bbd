import { describe, expect, it } from 'vitest';
import { DESCRIPTOR_LENGTH } from '../../src/vision/faceDescriptor.js';
import type { MatchDecision } from '../../src/matching/matcher.js';
import { LaneTracker } from '../../src/matching/tracker.js';
import type { TrackedFace, TrackerEvent, TrackerOptions } from '../../src/matching/trackerTypes.js';
import type { Box } from '../../src/vision/visionTypes.js';
import { defaultSettings } from '../support/settings.js';

// Descriptor element 0 carries a "who" code the fake matcher reads (0 = nobody enrolled);
// codes sit 0.1 apart, so faces with different codes stay within sameTrackDistanceMax of
// each other unless element 1 pushes one far away on purpose.
const WHO = ['', 'alice', 'bob', 'carol'] as const;
const STRANGER = 0;
const ALICE = 1;
const BOB = 2;
const CAROL = 3;
// Binary fractions, so the confidence arithmetic is exact.
const MATCH_THRESHOLD = 0.5;
const MATCH_DISTANCE = 0.25;

function descriptor(who: number, farOffset = 0): Float32Array {
  const d = new Float32Array(DESCRIPTOR_LENGTH);
  d[0] = who / 10;
  d[1] = farOffset;
  return d;
}

function fakeDecide(d: Float32Array): MatchDecision {
  const memberId = WHO[Math.round(d[0]! * 10)];
  if (memberId === undefined || memberId === '') return { kind: 'unknown', reason: 'too-far', distance: 0.75 };
  return { kind: 'member', memberId, faceId: `${memberId}-1`, distance: MATCH_DISTANCE, margin: 0.5, threshold: MATCH_THRESHOLD };
}

function newTracker(options: Partial<TrackerOptions> = {}): { tracker: LaneTracker; decideCalls: () => number } {
  let calls = 0;
  const tracker = new LaneTracker({
    lane: 'lane-1',
    options: { ...defaultSettings.tracker, ...options },
    decide: (d) => {
      calls++;
      return fakeDecide(d);
    },
  });
  return { tracker, decideCalls: () => calls };
}

function box(x: number, y = 100, size = 120): Box {
  return { x, y, width: size, height: size };
}

function face(b: Box, who?: number, farOffset = 0): TrackedFace {
  return who === undefined ? { box: b } : { box: b, descriptor: descriptor(who, farOffset) };
}

function ofType<T extends TrackerEvent['type']>(events: TrackerEvent[], type: T): Extract<TrackerEvent, { type: T }>[] {
  return events.filter((e): e is Extract<TrackerEvent, { type: T }> => e.type === type);
}

/** Stands in for the engine: a face overlapping a skip box by IoU ≥ 0.5 comes back without descriptor. */
function engineSkipping(faces: TrackedFace[], skip: Box[]): TrackedFace[] {
  return faces.map((f) => (skip.some((s) => overlap(s, f.box) >= 0.5) ? { box: f.box } : f));
}

function overlap(a: Box, b: Box): number {
  const w = Math.min(a.x + a.width, b.x + b.width) - Math.max(a.x, b.x);
  const h = Math.min(a.y + a.height, b.y + b.height) - Math.max(a.y, b.y);
  if (w <= 0 || h <= 0) return 0;
  return (w * h) / (a.width * a.height + b.width * b.height - w * h);
}

describe('LaneTracker', () => {
  it('recognizes one person walking in exactly once, after the second agreeing vote', () => {
    const { tracker, decideCalls } = newTracker();
    const perFrame: TrackerEvent[][] = [];
    // Frame 1 fails the live gate (no descriptor); the box drifts a few pixels per frame.
    const frames = [face(box(100), undefined), face(box(110), ALICE), face(box(120), ALICE), face(box(130), ALICE), face(box(140), ALICE)];
    frames.forEach((f, i) => {
      const nowMs = i * 100;
      perFrame.push(tracker.update(engineSkipping([f], tracker.skipDescriptorBoxes(nowMs)), nowMs));
    });

    expect(perFrame.map((events) => events.length)).toEqual([0, 0, 1, 0, 0]);
    expect(perFrame[2]).toEqual([
      { type: 'recognized', trackId: 'lane-1:1', memberId: 'alice', confidence: 0.75, distance: MATCH_DISTANCE },
    ]);
    // Once decided, the engine skipped the face: no more matching work for frames 4 and 5.
    expect(decideCalls()).toBe(2);
    expect(tracker.presentTracks(400, 1000)).toEqual([
      { trackId: 'lane-1:1', box: box(140), boxAreaPx: 120 * 120, memberId: 'alice', firstSeenMs: 0, lastSeenMs: 400 },
    ]);
  });

  it('names nobody while votes flip between members', () => {
    const { tracker } = newTracker();
    const events: TrackerEvent[] = [];
    [ALICE, BOB, CAROL, ALICE, BOB, CAROL, ALICE, BOB, CAROL].forEach((who, i) => {
      events.push(...tracker.update([face(box(100), who)], i * 100));
    });
    expect(events).toEqual([]);
    expect(tracker.presentTracks(800, 1000)).toHaveLength(1);
    expect(tracker.presentTracks(800, 1000)[0]!.memberId).toBeUndefined();
  });

  it('names nobody when member votes are diluted by unknown frames, and settles on unknown', () => {
    const { tracker } = newTracker();
    const events: TrackerEvent[] = [];
    [ALICE, BOB, STRANGER, ALICE, BOB, STRANGER, ALICE, BOB, STRANGER].forEach((who, i) => {
      events.push(...tracker.update([face(box(100), who)], i * 100));
    });
    expect(ofType(events, 'recognized')).toEqual([]);
    expect(events).toEqual([{ type: 'unknown', trackId: 'lane-1:1' }]);
  });

  it('accepts one dissenting vote among three, with confidence scaled by the agreement', () => {
    const { tracker } = newTracker();
    const events = [ALICE, BOB, ALICE].flatMap((who, i) => tracker.update([face(box(100), who)], i * 100));
    // agreement 2/3 × closeness (1 − 0.25 / (2 × 0.5)) = 0.5
    expect(events).toEqual([{ type: 'recognized', trackId: 'lane-1:1', memberId: 'alice', confidence: 0.5, distance: MATCH_DISTANCE }]);
  });

  it('reports a stranger as unknown once, on the third unknown vote', () => {
    const { tracker } = newTracker();
    const perFrame = [0, 100, 200, 300, 400].map((t) => tracker.update([face(box(100), STRANGER)], t));
    expect(perFrame.map((e) => e.length)).toEqual([0, 0, 1, 0, 0]);
    expect(perFrame[2]).toEqual([{ type: 'unknown', trackId: 'lane-1:1' }]);
  });

  it('lists a decided track for skipping until its re-check is due, then again once re-checked', () => {
    const { tracker } = newTracker();
    expect(tracker.update([face(box(100), ALICE)], 0)).toEqual([]);
    expect(tracker.skipDescriptorBoxes(50)).toEqual([]); // undecided: keep describing
    tracker.update([face(box(100), ALICE)], 100); // decided; last described at 100
    expect(tracker.skipDescriptorBoxes(150)).toEqual([box(100)]);

    tracker.update([face(box(104))], 1000); // skipped by the engine: box moves, description does not
    expect(tracker.skipDescriptorBoxes(2099)).toEqual([box(104)]);
    expect(tracker.skipDescriptorBoxes(2100)).toEqual([]);

    expect(tracker.update([face(box(104), ALICE)], 2100)).toEqual([]); // re-check confirms, no new popup
    expect(tracker.skipDescriptorBoxes(2150)).toEqual([box(104)]);
  });

  it('lists a stable unknown track for skipping too', () => {
    const { tracker } = newTracker();
    [0, 100, 200].forEach((t) => tracker.update([face(box(300), STRANGER)], t));
    expect(tracker.skipDescriptorBoxes(250)).toEqual([box(300)]);
    // Not yet due for a re-check, but unseen past trackTimeoutMs: no box to hide a newcomer behind.
    expect(tracker.skipDescriptorBoxes(1701)).toEqual([]);
  });

  it('starts a new track when a far descriptor appears in the same box (person swap)', () => {
    const { tracker } = newTracker();
    [0, 100].forEach((t) => tracker.update([face(box(100), ALICE)], t));
    const swap = tracker.update([face(box(100), BOB, 1)], 200);
    expect(swap).toEqual([{ type: 'left', trackId: 'lane-1:1', memberId: 'alice' }]);
    expect(tracker.presentTracks(200, 0).map((t) => t.trackId)).toEqual(['lane-1:2']);
    expect(tracker.heldDescriptorCount()).toBe(1);

    const next = tracker.update([face(box(100), BOB, 1)], 300);
    expect(next).toEqual([expect.objectContaining({ type: 'recognized', trackId: 'lane-1:2', memberId: 'bob' })]);
  });

  it('starts a new track for a far descriptor in the same box even before anyone is named', () => {
    const { tracker } = newTracker();
    tracker.update([face(box(100), ALICE)], 0);
    // Boxes overlap fully, but the descriptor is another person's: votes must not mix.
    expect(tracker.update([face(box(100), BOB, 1)], 100)).toEqual([{ type: 'left', trackId: 'lane-1:1' }]);
    expect(tracker.update([face(box(100), BOB, 1)], 200)).toEqual([
      expect.objectContaining({ type: 'recognized', trackId: 'lane-1:2', memberId: 'bob', confidence: 0.75 }),
    ]);
  });

  it('ends a decided track whose re-check names someone else, even with a near descriptor', () => {
    const { tracker } = newTracker();
    [0, 100].forEach((t) => tracker.update([face(box(100), ALICE)], t));
    [1000, 1900].forEach((t) => tracker.update([face(box(100))], t));
    const recheck = tracker.update([face(box(100), BOB)], 2100);
    expect(recheck).toEqual([{ type: 'left', trackId: 'lane-1:1', memberId: 'alice' }]);
    expect(tracker.skipDescriptorBoxes(2150)).toEqual([]); // the new track must be described again
    expect(tracker.update([face(box(100), BOB)], 2200)).toEqual([
      expect.objectContaining({ type: 'recognized', trackId: 'lane-1:2', memberId: 'bob' }),
    ]);
  });

  it('keeps a track alive on descriptor-less detections', () => {
    const { tracker } = newTracker();
    [0, 100].forEach((t) => tracker.update([face(box(100), ALICE)], t));
    const events = [1000, 2000, 3000, 4000].flatMap((t) => tracker.update([face(box(100))], t));
    expect(events).toEqual([]);
    expect(tracker.presentTracks(4000, 0)).toEqual([expect.objectContaining({ trackId: 'lane-1:1', memberId: 'alice' })]);
  });

  it('ends a track after trackTimeoutMs unseen, from expire or update, and drops its descriptor', () => {
    const { tracker } = newTracker();
    const held = descriptor(STRANGER, 0.25);
    tracker.update([{ box: box(100), descriptor: held }], 0);
    expect(tracker.heldDescriptorCount()).toBe(1);

    expect(tracker.expire(1500)).toEqual([]);
    expect(tracker.expire(1501)).toEqual([{ type: 'left', trackId: 'lane-1:1' }]);
    expect(tracker.heldDescriptorCount()).toBe(0);
    expect(tracker.presentTracks(1501, 10_000)).toEqual([]);
    expect(held[1]).toBe(0.25); // the tracker zeroed its own copy, not the caller's array

    [2000, 2100].forEach((t) => tracker.update([face(box(400), ALICE)], t));
    expect(tracker.update([], 3601)).toEqual([{ type: 'left', trackId: 'lane-1:2', memberId: 'alice' }]);
    expect(tracker.heldDescriptorCount()).toBe(0);
  });

  it('ends every track on expire(Infinity)', () => {
    const { tracker } = newTracker();
    tracker.update([face(box(0), ALICE), face(box(400), STRANGER)], 0);
    expect(tracker.expire(Infinity).map((e) => e.type)).toEqual(['left', 'left']);
    expect(tracker.heldDescriptorCount()).toBe(0);
  });

  it('shows one popup per member visit: none for a return within the cooldown, one after it', () => {
    const { tracker } = newTracker();
    const visit = (startMs: number): TrackerEvent[] =>
      [startMs, startMs + 100].flatMap((t) => tracker.update([face(box(100), ALICE)], t));

    expect(ofType(visit(0), 'recognized')).toHaveLength(1);
    expect(tracker.expire(10_000)).toEqual([{ type: 'left', trackId: 'lane-1:1', memberId: 'alice' }]);

    // Last seen at 100: back at 59_000 via a new track — named for fusion, but no popup.
    expect(visit(59_000)).toEqual([]);
    expect(tracker.presentTracks(59_100, 0)).toEqual([expect.objectContaining({ trackId: 'lane-1:2', memberId: 'alice' })]);
    tracker.expire(70_000);

    // Last seen at 59_100: a visit decided at 119_200 is past the 60 s cooldown.
    const later = visit(119_100);
    expect(later).toEqual([expect.objectContaining({ type: 'recognized', trackId: 'lane-1:3', memberId: 'alice' })]);
  });

  it('follows two people at once as two tracks with their own events', () => {
    const { tracker } = newTracker();
    const events = [0, 100, 200].flatMap((t) =>
      tracker.update([face(box(50 + t / 10), ALICE), face(box(500 - t / 10), BOB)], t),
    );
    expect(ofType(events, 'recognized').map((e) => [e.trackId, e.memberId])).toEqual([
      ['lane-1:1', 'alice'],
      ['lane-1:2', 'bob'],
    ]);
    expect(events).toHaveLength(2);
    expect(tracker.presentTracks(200, 0).map((t) => t.memberId)).toEqual(['alice', 'bob']);
  });

  it('keeps overlapping boxes of two people apart by descriptor', () => {
    const { tracker } = newTracker();
    // Two faces close together; each continues the track whose box overlaps it most.
    const events = [0, 100].flatMap((t) => tracker.update([face(box(100), ALICE), face(box(150), CAROL, 1)], t));
    expect(ofType(events, 'recognized').map((e) => e.memberId).sort()).toEqual(['alice', 'carol']);
    expect(tracker.presentTracks(100, 0)).toHaveLength(2);
  });

  it('lists only tracks seen within the window, without descriptors', () => {
    const { tracker } = newTracker();
    tracker.update([face(box(0, 0, 100), STRANGER)], 0);
    tracker.update([face(box(0, 0, 100)), face(box(500, 0, 50), STRANGER)], 1000);
    const present = tracker.presentTracks(1200, 500);
    expect(present).toEqual([
      { trackId: 'lane-1:1', box: box(0, 0, 100), boxAreaPx: 10_000, firstSeenMs: 0, lastSeenMs: 1000 },
      { trackId: 'lane-1:2', box: box(500, 0, 50), boxAreaPx: 2500, firstSeenMs: 1000, lastSeenMs: 1000 },
    ]);
    expect(tracker.presentTracks(1200, 100)).toEqual([]);
    expect(JSON.stringify(present)).not.toContain('descriptor');
  });

  it('refuses options that cannot work, naming the option', () => {
    expect(() => newTracker({ voteAgreementMin: 1.5 })).toThrow(/voteAgreementMin/);
    expect(() => newTracker({ votesToDecide: 0 })).toThrow(/votesToDecide/);
    expect(() => newTracker({ trackTimeoutMs: Number.NaN })).toThrow(/trackTimeoutMs/);
  });
});

describe('an unchanged scene (hold)', () => {
  it('keeps the faces of the latest analyzed frame seen and counts the frame, without deciding anything', () => {
    const { tracker, decideCalls } = newTracker();
    tracker.update([face(box(100), ALICE)], 0);
    tracker.update([face(box(100), ALICE)], 200);
    const calls = decideCalls();
    const held = Array.from({ length: 20 }, (_, k) => tracker.hold(400 + k * 200)).flat();
    expect(held).toEqual([]);
    expect(decideCalls()).toBe(calls);
    // 4.2 s after the last analyzed frame, far beyond trackTimeoutMs: still there.
    const [present] = tracker.presentTracksWithFrames(4200, 0);
    expect(present).toMatchObject({ memberId: 'alice', lastSeenMs: 4200, framesSeen: 22 });
    expect(tracker.presentMembers(4200, 0).map((m) => m.memberId)).toEqual(['alice']);
    expect(tracker.sceneState(4200)).toMatchObject({ heldTracks: 1, lostFaces: 0, newestTrackFramesAnalyzed: 2 });
  });

  it('does not bring back a face the latest analyzed frame no longer showed: it times out as usual', () => {
    const { tracker } = newTracker();
    tracker.update([face(box(100), ALICE)], 0);
    tracker.update([face(box(100), ALICE)], 200);
    tracker.update([], 400); // Alice has gone (or the detector missed her); the scene then stays still
    expect(tracker.sceneState(400)).toMatchObject({ heldTracks: 0, lostFaces: 1, newestTrackFramesAnalyzed: undefined });
    expect(tracker.sceneState(200 + defaultSettings.tracker.trackTimeoutMs + 1)).toMatchObject({ heldTracks: 0, lostFaces: 0 });
    expect(tracker.hold(1000)).toEqual([]);
    const left = tracker.hold(200 + defaultSettings.tracker.trackTimeoutMs + 1);
    expect(left).toEqual([{ type: 'left', trackId: 'lane-1:1', memberId: 'alice' }]);
  });

  it('offers the boxes to follow only while every held face is decided and none is due for a re-check', () => {
    const { tracker } = newTracker();
    tracker.update([face(box(100), ALICE)], 0);
    expect(tracker.sceneState(0).followedBoxes).toBeUndefined(); // one vote: undecided
    tracker.update([face(box(100), ALICE)], 200);
    expect(tracker.sceneState(200).followedBoxes).toEqual([box(100)]);
    expect(tracker.sceneState(200 + defaultSettings.tracker.recheckEveryMs).followedBoxes).toBeUndefined(); // re-check due
    tracker.update([face(box(100)), face(box(400), BOB)], 400); // Bob steps in, undecided
    expect(tracker.sceneState(400).followedBoxes).toBeUndefined();
  });

  it('reports the fewest analyzed frames among the faces it holds, so a new face is analyzed at full rate', () => {
    const { tracker } = newTracker();
    tracker.update([face(box(100), ALICE)], 0);
    tracker.update([face(box(100), ALICE)], 200);
    tracker.hold(400);
    tracker.update([face(box(100), ALICE), face(box(400), BOB)], 600);
    expect(tracker.sceneState(600)).toMatchObject({ heldTracks: 2, lostFaces: 0, newestTrackFramesAnalyzed: 1 });
  });

  it('counts a face of the latest analyzed frame whose track timed out while analysis lagged as lost, so a still frame is looked at again', () => {
    const { tracker } = newTracker();
    tracker.update([face(box(100), ALICE)], 0);
    const late = defaultSettings.tracker.trackTimeoutMs + 1;
    expect(tracker.hold(late)).toEqual([{ type: 'left', trackId: 'lane-1:1' }]);
    expect(tracker.sceneState(late)).toMatchObject({ heldTracks: 0, lostFaces: 1, followedBoxes: undefined });
  });
});

describe('enrollment captures', () => {
  it('keeps the latest enrollment-grade descriptor of a track, counts such frames, and wipes it when the track ends', () => {
    const tracker = new LaneTracker({
      lane: 'lane-1',
      options: { ...defaultSettings.tracker, trackTimeoutMs: 1000 },
      decide: fakeDecide,
      // The stand-in gate: element 2 set means the frame passed the enrollment gate.
      isEnrollable: (f) => (f.descriptor?.[2] ?? 0) > 0,
    });
    const good = (n: number) => {
      const d = descriptor(STRANGER);
      d[2] = n;
      return { box: box(100), descriptor: d };
    };
    tracker.update([face(box(100), STRANGER)], 0);
    const [trackId] = tracker.presentTracks(0, 1000).map((t) => t.trackId);
    expect(tracker.enrollCaptureOf(trackId!)).toBeUndefined();
    tracker.update([good(0.1)], 100);
    tracker.update([face(box(100), STRANGER)], 200);
    tracker.update([good(0.2)], 300);
    const capture = tracker.enrollCaptureOf(trackId!)!;
    expect(capture.frames).toBe(2);
    expect(capture.descriptor[2]).toBeCloseTo(0.2);
    capture.descriptor.fill(9); // a copy: the tracker's own is untouched
    expect(tracker.enrollCaptureOf(trackId!)!.descriptor[2]).toBeCloseTo(0.2);
    tracker.expire(5000);
    expect(tracker.enrollCaptureOf(trackId!)).toBeUndefined();
    expect(tracker.heldDescriptorCount()).toBe(0);
  });

  it('casts no vote for a face too small to name: someone walking up is named only once close enough', () => {
    const SMALLEST_NAMED_PX = 100;
    const tracker = new LaneTracker({
      lane: 'lane-1',
      options: defaultSettings.tracker,
      decide: (d, facePx) => (facePx < SMALLEST_NAMED_PX ? { kind: 'unknown', reason: 'too-small', distance: 0.25 } : fakeDecide(d)),
    });
    const events: TrackerEvent[] = [];
    // A stranger and Alice far away for 20 frames each: neither unknown nor named.
    for (let i = 0; i < 20; i++) events.push(...tracker.update([face(box(40, 100, 60), STRANGER), face(box(400, 100, 60), ALICE)], i * 100));
    expect(events).toEqual([]);
    // Both walk up (same place, growing face): each is decided on the frames large enough to name.
    for (let i = 20; i < 26; i++) {
      const size = 60 + (i - 19) * 10;
      events.push(...tracker.update([face(box(40, 100, size), STRANGER), face(box(400, 100, size), ALICE)], i * 100));
    }
    expect(ofType(events, 'recognized').map((e) => e.memberId)).toEqual(['alice']);
    expect(ofType(events, 'unknown')).toHaveLength(1);
  });
});
