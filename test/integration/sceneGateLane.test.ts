import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { noisyCameraFrame } from '../../scripts/calibration/tillCamera.js';
import { settingsSchema } from '../../src/config/settingsSchema.js';
import { createLogger } from '../../src/core/logger.js';
import { SceneGate } from '../../src/lanes/sceneGate.js';
import { LaneRecognizer, type LaneFrame } from '../../src/matching/laneRecognizer.js';
import { decideMatch } from '../../src/matching/matcher.js';
import { LaneTracker } from '../../src/matching/tracker.js';
import type { TrackerEvent } from '../../src/matching/trackerTypes.js';
import { memberServiceOf, openRecognitionCore, type RecognitionCore } from '../../src/recognitionCore.js';

const FRAME_MS = 200; // a 5 fps camera
const CENTRE = { left: 210, top: 130, facePx: 220 };
const crop = (file: string) => readFileSync(path.resolve('test/fixtures/faces', file));

/**
 * The lane's loop on real frames and the real engine, with the frames' own times as the clock:
 * every frame is handed over only once the previous one was dealt with, so what is analyzed
 * depends on the gate alone, not on how busy this machine is.
 */
describe('a lane with the scene gate, on camera frames and the real engine', () => {
  let dir: string;
  let core: RecognitionCore;
  let amyId: string;
  const settings = settingsSchema.parse({ logLevel: 'silent' });
  const log = createLogger('silent');

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'memberlens-scene-gate-'));
    core = await openRecognitionCore({ ...settings, dataDir: dir }, log);
    const enrolled = await memberServiceOf(core, settings, log).enrollMember({
      name: 'Amy',
      consent: { method: 'written', staff: 'test' },
      images: [{ label: 'amy1.png', bytes: crop('amy/amy1.png') }],
      source: 'cli',
      actor: 'test',
    });
    amyId = enrolled.member.id;
  });

  afterAll(async () => {
    await core?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function play(frames: LaneFrame[]): Promise<{ analyzedAtMs: number[]; events: { atMs: number; event: TrackerEvent }[] }> {
    const tracker = new LaneTracker({ lane: 'L1', options: settings.tracker, decide: (d, px) => decideMatch(core.gallery.search(d), core.matchPolicy, px) });
    const analyzedAtMs: number[] = [];
    const events: { atMs: number; event: TrackerEvent }[] = [];
    const queue = [...frames];
    let done!: () => void;
    const finished = new Promise<void>((r) => (done = r));
    const recognizer = new LaneRecognizer({
      lane: 'L1',
      analyzer: core.analyzer,
      tracker,
      screen: new SceneGate({ options: settings.sceneGate, maxImagePixels: settings.vision.maxImagePixels, recheckEveryMs: settings.tracker.recheckEveryMs, sceneState: (t) => tracker.sceneState(t) }),
      nextFrame: async () => {
        const next = queue.shift();
        if (!next) done();
        return next;
      },
      newerFrame: () => undefined,
      acquireInference: async () => () => undefined,
      onEvents: (_lane, evs, frame) => events.push(...evs.map((event) => ({ atMs: frame?.atMs ?? Infinity, event }))),
      onFrameAnalyzed: () => analyzedAtMs.push(-1),
      onTracked: (_lane, atMs) => {
        if (analyzedAtMs.at(-1) === -1) analyzedAtMs[analyzedAtMs.length - 1] = atMs;
      },
      expireEveryMs: 3_600_000,
      log,
    });
    recognizer.start();
    await finished;
    await recognizer.stop();
    return { analyzedAtMs, events };
  }

  it('analyzes a still noisy counter only now and then, and names a member walking in within a second of her first frame', async () => {
    const frames: LaneFrame[] = [];
    let seq = 0;
    const at = () => seq * FRAME_MS;
    // 8 s of the empty counter, each frame with noise of its own.
    for (let k = 0; k < 40; k++) frames.push({ seq, atMs: at(), bytes: await noisyCameraFrame(undefined, CENTRE, 500 + seq++) });
    const firstFaceAtMs = at();
    // She walks in from the side in four frames, then stands at the counter for 6 s.
    const walk = [0, 1 / 3, 2 / 3, 1].map((k) => ({ left: 20 + k * (CENTRE.left - 20), top: 200 + k * (CENTRE.top - 200), facePx: Math.round(140 + k * (CENTRE.facePx - 140)) }));
    for (const place of walk) frames.push({ seq, atMs: at(), bytes: await noisyCameraFrame(crop('amy/amy2.png'), place, 500 + seq++) });
    for (let k = 0; k < 30; k++) frames.push({ seq, atMs: at(), bytes: await noisyCameraFrame(crop('amy/amy2.png'), CENTRE, 500 + seq++) });

    const { analyzedAtMs, events } = await play(frames);

    const whileEmpty = analyzedAtMs.filter((t) => t < firstFaceAtMs);
    expect(whileEmpty).toEqual([0, 5000]); // the first frame, then one re-check after emptySceneRecheckMs
    const recognized = events.find((e) => e.event.type === 'recognized');
    expect(recognized?.event).toMatchObject({ memberId: amyId });
    expect(recognized!.atMs - firstFaceAtMs).toBeLessThanOrEqual(1000);
    // Standing still after her first frames: held, re-checked every recheckEveryMs, not analyzed at 5 fps.
    const settledAtMs = firstFaceAtMs + (walk.length + settings.sceneGate.newFaceFullRateFrames) * FRAME_MS;
    const whileStanding = analyzedAtMs.filter((t) => t >= settledAtMs);
    const standingMs = frames.at(-1)!.atMs - settledAtMs;
    expect(whileStanding.length).toBeLessThanOrEqual(Math.ceil(standingMs / settings.tracker.recheckEveryMs) + 1);
    // Held, not lost: her named track ends only when the lane stops (the events of no frame).
    expect(events.filter((e) => e.event.type === 'left' && e.event.memberId === amyId).map((e) => e.atMs)).toEqual([Infinity]);
  });
});
