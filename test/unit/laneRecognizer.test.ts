import { afterEach, describe, expect, it, vi } from 'vitest';
import { ImageError } from '../../src/core/errors.js';
import { FifoSemaphore } from '../../src/core/fifoSemaphore.js';
import { createLogger } from '../../src/core/logger.js';
import { LaneRecognizer, type FrameScreen, type FrameVerdict, type LaneFrame, type LaneRecognizerDeps } from '../../src/matching/laneRecognizer.js';
import type { TrackedFace, TrackerEvent } from '../../src/matching/trackerTypes.js';
import type { Frame } from '../../src/sources/cameraSource.js';
import { LatestFrameSlot } from '../../src/sources/latestFrameSlot.js';
import type { Analysis, AnalyzeOptions, FaceObservation, Purpose } from '../../src/vision/faceEngine.js';
import type { FaceAnalyzer } from '../../src/vision/faceAnalyzer.js';
import type { Box } from '../../src/vision/visionTypes.js';

const LANE = 'L1';
const TIMINGS = { decode: 1, detect: 2, landmarks: 3, descriptor: 4 };
const KNOWN_BOX: Box = { x: 10, y: 10, width: 80, height: 80 };
const CLOCK_MS = 1_000_000;

const frame = (seq: number): Frame => ({ lane: LANE, seq, atMs: 500_000 + seq * 100, bytes: new Uint8Array([seq]) });

function observation(x: number): FaceObservation {
  return {
    box: { x, y: 0, width: 100, height: 100 },
    score: 0.9,
    landmarks: [],
    quality: { sizePx: 100, detectionScore: 0.9, yawDeg: 0, rollDeg: 0, sharpness: 200, brightness: 120, gate: 'live', passed: true, reasons: [] },
  };
}

interface AnalyzerCall {
  bytes: Uint8Array;
  purpose: Purpose;
  options: AnalyzeOptions | undefined;
  resolve: (analysis: Analysis) => void;
  reject: (err: unknown) => void;
}

/** Holds every analysis until the test settles it, so the test decides what is in flight. */
class HeldAnalyzer implements FaceAnalyzer {
  readonly calls: AnalyzerCall[] = [];
  analyzeBytes(bytes: Uint8Array, purpose: Purpose, options?: AnalyzeOptions): Promise<Analysis> {
    return new Promise((resolve, reject) => this.calls.push({ bytes, purpose, options, resolve, reject }));
  }
  async call(index: number): Promise<AnalyzerCall> {
    await until(() => this.calls.length > index, `analyzer call #${index + 1}`);
    return this.calls[index]!;
  }
}

/** The tracker as the recognizer uses it; answers with the events queued for it. */
class FakeTracker {
  readonly skipAsked: number[] = [];
  readonly updates: { faces: readonly TrackedFace[]; nowMs: number }[] = [];
  readonly expired: number[] = [];
  readonly held: number[] = [];
  holdEvents: TrackerEvent[][] = [];
  updateEvents: TrackerEvent[][] = [];
  expireEvents = new Map<number, TrackerEvent[]>();

  skipDescriptorBoxes(nowMs: number): Box[] {
    this.skipAsked.push(nowMs);
    return [KNOWN_BOX];
  }
  update(faces: readonly TrackedFace[], nowMs: number): TrackerEvent[] {
    this.updates.push({ faces, nowMs });
    return this.updateEvents.shift() ?? [];
  }
  hold(nowMs: number): TrackerEvent[] {
    this.held.push(nowMs);
    return this.holdEvents.shift() ?? [];
  }
  expire(nowMs: number): TrackerEvent[] {
    this.expired.push(nowMs);
    return this.expireEvents.get(nowMs) ?? [];
  }
}

/** Lets pending promise callbacks run until `condition` holds; fails instead of hanging. */
async function until(condition: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (condition()) return;
    await new Promise((resolve) => setImmediate(resolve));
  }
  throw new Error(`timed out waiting for ${what}`);
}

const settle = async () => {
  for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve));
};

/** A screen that answers each frame with the verdict queued for its seq, 'analyze' when none is. */
class ScriptedScreen implements FrameScreen {
  readonly verdicts = new Map<number, FrameVerdict>();
  readonly judged: number[] = [];
  readonly references: number[] = [];
  async judge(frame: LaneFrame): Promise<FrameVerdict> {
    this.judged.push(frame.seq);
    return this.verdicts.get(frame.seq) ?? { kind: 'analyze' };
  }
  async analyzed(frame: LaneFrame): Promise<void> {
    this.references.push(frame.seq);
  }
}

function harness(o: { permits?: number; expireEveryMs?: number; screen?: FrameScreen } = {}) {
  const analyzer = new HeldAnalyzer();
  const tracker = new FakeTracker();
  const slot = new LatestFrameSlot();
  const inference = new FifoSemaphore(o.permits ?? 1);
  const log = createLogger('silent');
  const logError = vi.spyOn(log, 'error');
  const onEvents = vi.fn<LaneRecognizerDeps['onEvents']>();
  const onTracked = vi.fn<NonNullable<LaneRecognizerDeps['onTracked']>>();
  const onFrameFailed = vi.fn<NonNullable<LaneRecognizerDeps['onFrameFailed']>>();
  const onFrameAnalyzed = vi.fn<NonNullable<LaneRecognizerDeps['onFrameAnalyzed']>>();
  const onFrameSuperseded = vi.fn<NonNullable<LaneRecognizerDeps['onFrameSuperseded']>>();
  const onFrameUnchanged = vi.fn<NonNullable<LaneRecognizerDeps['onFrameUnchanged']>>();
  const recognizer = new LaneRecognizer({
    lane: LANE,
    analyzer,
    tracker,
    ...(o.screen ? { screen: o.screen } : {}),
    onFrameUnchanged,
    nextFrame: () => slot.next(),
    newerFrame: () => slot.take(),
    acquireInference: () => inference.acquire(),
    onFrameSuperseded,
    onEvents,
    onFrameAnalyzed,
    onFrameFailed,
    onTracked,
    expireEveryMs: o.expireEveryMs ?? 60_000,
    clock: () => CLOCK_MS,
    log,
  });
  return { analyzer, tracker, slot, inference, logError, onEvents, onTracked, onFrameFailed, onFrameAnalyzed, onFrameSuperseded, onFrameUnchanged, recognizer };
}

/** True when a permit is free right now; gives it back at once. */
async function permitFree(inference: FifoSemaphore): Promise<boolean> {
  let release: (() => void) | undefined;
  void inference.acquire().then((r) => {
    release = r;
  });
  await settle();
  if (!release) return false;
  release();
  return true;
}

afterEach(() => {
  vi.useRealTimers();
});

// A loop that never ends should fail here, not at the suite-wide timeout meant for real inference.
describe('LaneRecognizer', { timeout: 2000 }, () => {
  it('analyzes the newest frame once it holds a permit, and hands the tracker’s events on', async () => {
    const h = harness();
    const otherLane = await h.inference.acquire(); // another lane is using the only worker
    h.recognizer.start();
    h.slot.offer(frame(1));
    await settle();
    expect(h.analyzer.calls).toEqual([]);

    h.slot.offer(frame(2));
    const newest = frame(3);
    h.slot.offer(newest);
    const faces = [observation(0), observation(300)];
    const recognized: TrackerEvent = { type: 'recognized', trackId: 't1', memberId: 'm_1', confidence: 0.9, distance: 0.3 };
    h.tracker.updateEvents.push([recognized]);
    otherLane();

    const call = await h.analyzer.call(0);
    expect(h.onFrameSuperseded).toHaveBeenCalledTimes(1);
    expect(h.onFrameSuperseded).toHaveBeenCalledWith(LANE);
    expect(call.bytes).toEqual(newest.bytes);
    expect(call.purpose).toBe('live');
    expect(call.options).toEqual({ describe: 'passing', skipDescriptorBoxes: [KNOWN_BOX] });
    expect(h.tracker.skipAsked).toEqual([newest.atMs]);

    call.resolve({ faces, timingsMs: TIMINGS });
    await until(() => h.onEvents.mock.calls.length > 0, 'events');
    expect(h.tracker.updates).toEqual([{ faces, nowMs: newest.atMs }]);
    expect(h.onFrameAnalyzed).toHaveBeenCalledWith(LANE, TIMINGS, expect.any(Number), 2);
    expect(h.onTracked).toHaveBeenCalledWith(LANE, newest.atMs);
    expect(h.onEvents).toHaveBeenCalledWith(LANE, [recognized], newest);
    expect(h.onFrameFailed).not.toHaveBeenCalled();
    expect(await permitFree(h.inference)).toBe(true);

    h.slot.close();
    await h.recognizer.stop();
    expect(h.analyzer.calls).toHaveLength(1);
  });

  it('calls onTracked after every update, and onEvents only when something changed', async () => {
    const h = harness();
    h.recognizer.start();
    h.slot.offer(frame(1));
    (await h.analyzer.call(0)).resolve({ faces: [], timingsMs: TIMINGS });
    await until(() => h.onTracked.mock.calls.length === 1, 'first update');

    const unknown: TrackerEvent = { type: 'unknown', trackId: 't2' };
    h.tracker.updateEvents.push([unknown]);
    h.slot.offer(frame(2));
    (await h.analyzer.call(1)).resolve({ faces: [observation(0)], timingsMs: TIMINGS });
    await until(() => h.onTracked.mock.calls.length === 2, 'second update');

    expect(h.onTracked.mock.calls).toEqual([
      [LANE, frame(1).atMs],
      [LANE, frame(2).atMs],
    ]);
    expect(h.onEvents.mock.calls).toEqual([[LANE, [unknown], frame(2)]]);
    expect(h.onFrameSuperseded).not.toHaveBeenCalled();

    h.slot.close();
    await h.recognizer.stop();
  });

  it('keeps one frame in flight even when more permits are free', async () => {
    const h = harness({ permits: 2 });
    h.recognizer.start();
    h.slot.offer(frame(1));
    const first = await h.analyzer.call(0);
    h.slot.offer(frame(2));
    await settle();
    expect(h.analyzer.calls).toHaveLength(1);

    first.resolve({ faces: [], timingsMs: TIMINGS });
    const second = await h.analyzer.call(1);
    expect(second.bytes).toEqual(frame(2).bytes);
    second.resolve({ faces: [], timingsMs: TIMINGS });

    h.slot.close();
    await h.recognizer.stop();
  });

  it('a failing frame costs that frame only: the loop goes on and the permit comes back', async () => {
    const h = harness();
    h.recognizer.start();

    h.slot.offer(frame(1));
    (await h.analyzer.call(0)).reject(new ImageError('The camera sent something that is not an image.', 'invalid-image'));
    await until(() => h.onFrameFailed.mock.calls.length === 1, 'first failure');
    expect(h.onFrameFailed).toHaveBeenLastCalledWith(LANE, 'invalid-image');
    // The operator's kind of problem is counted, not logged as a bug.
    expect(h.logError).not.toHaveBeenCalled();

    h.slot.offer(frame(2));
    const bug = new TypeError('cannot read properties of undefined');
    (await h.analyzer.call(1)).reject(bug);
    await until(() => h.onFrameFailed.mock.calls.length === 2, 'second failure');
    expect(h.onFrameFailed).toHaveBeenLastCalledWith(LANE, 'internal');
    expect(h.logError).toHaveBeenCalledTimes(1);
    expect(h.logError).toHaveBeenCalledWith({ err: bug, lane: LANE }, 'frame analysis failed');
    expect(h.tracker.updates).toEqual([]);

    h.slot.offer(frame(3));
    (await h.analyzer.call(2)).resolve({ faces: [observation(0)], timingsMs: TIMINGS });
    await until(() => h.tracker.updates.length === 1, 'update after failures');
    expect(h.tracker.updates[0]!.nowMs).toBe(frame(3).atMs);
    expect(h.onTracked).toHaveBeenCalledTimes(1);
    expect(await permitFree(h.inference)).toBe(true);

    h.slot.close();
    await h.recognizer.stop();
  });

  it('stop() waits for the frame in flight, takes no new frame, then ends every track', async () => {
    const h = harness();
    const ended: TrackerEvent = { type: 'left', trackId: 't1', memberId: 'm_1' };
    h.tracker.expireEvents.set(Infinity, [ended]);
    h.recognizer.start();
    h.slot.offer(frame(1));
    const inFlight = await h.analyzer.call(0);

    let stopped = false;
    const stopping = h.recognizer.stop().then(() => {
      stopped = true;
    });
    h.slot.offer(frame(2));
    await settle();
    expect(stopped).toBe(false);
    expect(h.tracker.expired).toEqual([]);

    inFlight.resolve({ faces: [observation(0)], timingsMs: TIMINGS });
    await stopping;
    expect(h.tracker.updates.map((u) => u.nowMs)).toEqual([frame(1).atMs]);
    expect(h.tracker.expired).toEqual([Infinity]);
    expect(h.onEvents).toHaveBeenLastCalledWith(LANE, [ended], undefined);
    expect(h.analyzer.calls).toHaveLength(1);
    expect(h.slot.pending).toBe(1); // frame 2 was never taken
    expect(await permitFree(h.inference)).toBe(true);
  });

  it('stop() while a frame waits for a permit analyzes nothing and gives the permit back', async () => {
    const h = harness();
    const otherLane = await h.inference.acquire();
    h.recognizer.start();
    h.slot.offer(frame(1));
    await settle();
    expect(h.inference.queued).toBe(1);

    const stopping = h.recognizer.stop();
    otherLane();
    await settle();
    expect(h.analyzer.calls).toEqual([]);
    await stopping;
    expect(h.tracker.expired).toEqual([Infinity]);
    expect(await permitFree(h.inference)).toBe(true);
  });

  it('stop() while waiting for a frame ends once the source closes', async () => {
    const h = harness();
    h.recognizer.start();
    await settle();
    const stopping = h.recognizer.stop();
    h.slot.close();
    await stopping;
    expect(h.analyzer.calls).toEqual([]);
    expect(h.tracker.expired).toEqual([Infinity]);
    expect(h.onEvents).not.toHaveBeenCalled();
  });

  it('expires tracks on a timer when frames stop coming, until stopped', async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    const h = harness({ expireEveryMs: 750 });
    const left: TrackerEvent = { type: 'left', trackId: 't4' };
    h.tracker.expireEvents.set(CLOCK_MS, [left]);
    h.recognizer.start();

    vi.advanceTimersByTime(749);
    expect(h.tracker.expired).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(h.tracker.expired).toEqual([CLOCK_MS]);
    expect(h.onEvents).toHaveBeenCalledWith(LANE, [left], undefined);
    vi.advanceTimersByTime(1500);
    expect(h.tracker.expired).toEqual([CLOCK_MS, CLOCK_MS, CLOCK_MS]);

    h.slot.close();
    await h.recognizer.stop();
    vi.advanceTimersByTime(3000);
    expect(h.tracker.expired).toEqual([CLOCK_MS, CLOCK_MS, CLOCK_MS, Infinity]);
  });

  it('a frame the screen finds unchanged holds the tracks without a worker; the next changed one is analyzed and becomes the reference', async () => {
    const screen = new ScriptedScreen();
    screen.verdicts.set(2, { kind: 'unchanged' });
    const h = harness({ screen });
    const held: TrackerEvent = { type: 'left', trackId: 't9' };
    h.tracker.holdEvents.push([held]);
    h.recognizer.start();
    h.slot.offer(frame(1));
    (await h.analyzer.call(0)).resolve({ faces: [observation(0)], timingsMs: TIMINGS });
    await until(() => screen.references.length === 1, 'frame 1 taken as the reference');

    const otherLane = await h.inference.acquire(); // no worker free: an unchanged frame must not need one
    h.slot.offer(frame(2));
    await until(() => h.tracker.held.length === 1, 'frame 2 held');
    expect(h.tracker.held).toEqual([frame(2).atMs]);
    expect(h.onFrameUnchanged).toHaveBeenCalledWith(LANE);
    expect(h.onTracked).toHaveBeenLastCalledWith(LANE, frame(2).atMs);
    expect(h.onEvents).toHaveBeenLastCalledWith(LANE, [held], frame(2));
    expect(h.analyzer.calls).toHaveLength(1);

    h.slot.offer(frame(3));
    await settle();
    expect(h.analyzer.calls).toHaveLength(1); // changed: waits for the worker
    otherLane();
    (await h.analyzer.call(1)).resolve({ faces: [], timingsMs: TIMINGS });
    await until(() => screen.references.length === 2, 'frame 3 taken as the reference');
    expect(screen.judged).toEqual([1, 2, 3]);
    expect(screen.references).toEqual([1, 3]);
    expect(h.tracker.updates.map((u) => u.nowMs)).toEqual([frame(1).atMs, frame(3).atMs]);

    h.slot.close();
    await h.recognizer.stop();
  });

  it('a screen that fails lets the frame be analyzed', async () => {
    const screen: FrameScreen = { judge: () => Promise.reject(new Error('thumbnail broke')), analyzed: () => Promise.resolve() };
    const h = harness({ screen });
    h.recognizer.start();
    h.slot.offer(frame(1));
    (await h.analyzer.call(0)).resolve({ faces: [], timingsMs: TIMINGS });
    await until(() => h.tracker.updates.length === 1, 'frame 1 analyzed');
    expect(h.logError).toHaveBeenCalledTimes(1);
    expect(h.tracker.held).toEqual([]);
    h.slot.close();
    await h.recognizer.stop();
  });

  it('analyzes within the search region the screen gives; a newer frame that replaced the judged one is judged in its turn', async () => {
    const screen = new ScriptedScreen();
    const region: Box = { x: 100, y: 50, width: 300, height: 300 };
    const regionOfFrame3: Box = { x: 120, y: 60, width: 310, height: 300 };
    screen.verdicts.set(1, { kind: 'analyze', searchRegion: region });
    screen.verdicts.set(2, { kind: 'analyze', searchRegion: region });
    screen.verdicts.set(3, { kind: 'analyze', searchRegion: regionOfFrame3 });
    const h = harness({ screen });
    h.recognizer.start();
    h.slot.offer(frame(1));
    const first = await h.analyzer.call(0);
    expect(first.options).toEqual({ describe: 'passing', skipDescriptorBoxes: [KNOWN_BOX], searchRegion: region });
    first.resolve({ faces: [], timingsMs: TIMINGS });
    await until(() => screen.references.length === 1, 'frame 1 analyzed');
    const otherLane = await h.inference.acquire(); // frame 2 has to wait for the worker…
    h.slot.offer(frame(2));
    await until(() => screen.judged.length === 2, 'frame 2 judged');
    h.slot.offer(frame(3)); // …and frame 3 arrives meanwhile
    otherLane();
    const second = await h.analyzer.call(1);
    expect(second.bytes).toEqual(frame(3).bytes);
    expect(screen.judged).toEqual([1, 2, 3]);
    expect(second.options).toEqual({ describe: 'passing', skipDescriptorBoxes: [KNOWN_BOX], searchRegion: regionOfFrame3 });
    second.resolve({ faces: [], timingsMs: TIMINGS });
    await until(() => screen.references.length === 2, 'frame 3 analyzed');
    expect(screen.references).toEqual([1, 3]);
    h.slot.close();
    await h.recognizer.stop();
  });

  it('a newer frame judged unchanged is held instead of analyzed, and gives the worker back', async () => {
    const screen = new ScriptedScreen();
    screen.verdicts.set(3, { kind: 'unchanged' });
    const h = harness({ screen });
    h.recognizer.start();
    h.slot.offer(frame(1));
    (await h.analyzer.call(0)).resolve({ faces: [], timingsMs: TIMINGS });
    await until(() => screen.references.length === 1, 'frame 1 analyzed');
    const otherLane = await h.inference.acquire();
    h.slot.offer(frame(2));
    await until(() => screen.judged.length === 2, 'frame 2 judged');
    h.slot.offer(frame(3));
    otherLane();
    await until(() => h.tracker.held.length === 1, 'frame 3 held');
    expect(h.tracker.held).toEqual([frame(3).atMs]);
    expect(h.analyzer.calls).toHaveLength(1);
    // The permit came back: frame 4 is analyzed with the only one there is.
    h.slot.offer(frame(4));
    const next = await h.analyzer.call(1);
    expect(next.bytes).toEqual(frame(4).bytes);
    next.resolve({ faces: [], timingsMs: TIMINGS });
    h.slot.close();
    await h.recognizer.stop();
  });
});
