import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { noisyCameraFrame } from '../../scripts/calibration/tillCamera.js';
import { gateVerdict, SceneGate, wholeFrameWhateverChanged, type GateInput } from '../../src/lanes/sceneGate.js';
import type { LaneFrame } from '../../src/matching/laneRecognizer.js';
import type { SceneState } from '../../src/matching/trackerTypes.js';
import { defaultSettings } from '../support/settings.js';

const OPTIONS = defaultSettings.sceneGate;
const RECHECK_MS = defaultSettings.tracker.recheckEveryMs;
const NOBODY: SceneState = { heldTracks: 0, lostFaces: 0, newestTrackFramesAnalyzed: undefined, followedBoxes: undefined };
const STILL = 0;
const at = (nowMs: number, o: Partial<GateInput> = {}): GateInput => ({
  changedShare: STILL,
  changedRegion: undefined,
  frameWidthPx: 640,
  frameHeightPx: 480,
  nowMs,
  lastAnalyzedMs: 0,
  scene: NOBODY,
  ...o,
});
const ANALYZE = { kind: 'analyze' };
const UNCHANGED = { kind: 'unchanged' };

describe('gateVerdict', () => {
  it('analyzes a changed scene, a frame it cannot compare, and every frame when the gate is off', () => {
    expect(gateVerdict(at(100, { changedShare: OPTIONS.changedShareMin }), OPTIONS, RECHECK_MS)).toEqual(ANALYZE);
    expect(gateVerdict(at(100, { changedShare: undefined }), OPTIONS, RECHECK_MS)).toEqual(ANALYZE);
    expect(gateVerdict(at(100), { ...OPTIONS, enabled: false }, RECHECK_MS)).toEqual(ANALYZE);
    expect(gateVerdict(at(100, { changedShare: OPTIONS.changedShareMin / 2 }), OPTIONS, RECHECK_MS)).toEqual(UNCHANGED);
  });

  it('analyzes a still scene at once while the tracker has lost a face it may still show', () => {
    const lost: SceneState = { heldTracks: 0, lostFaces: 1, newestTrackFramesAnalyzed: undefined, followedBoxes: undefined };
    expect(gateVerdict(at(10, { scene: lost }), OPTIONS, RECHECK_MS)).toEqual(ANALYZE);
  });

  it('analyzes a still empty scene once per emptySceneRecheckMs', () => {
    expect(gateVerdict(at(OPTIONS.emptySceneRecheckMs - 1), OPTIONS, RECHECK_MS)).toEqual(UNCHANGED);
    expect(gateVerdict(at(OPTIONS.emptySceneRecheckMs), OPTIONS, RECHECK_MS)).toEqual(ANALYZE);
  });

  it('analyzes a new face on each of its first newFaceFullRateFrames frames, then a still one once per recheckEveryMs', () => {
    const young: SceneState = { heldTracks: 2, lostFaces: 0, newestTrackFramesAnalyzed: OPTIONS.newFaceFullRateFrames - 1, followedBoxes: undefined };
    const settled: SceneState = { heldTracks: 2, lostFaces: 0, newestTrackFramesAnalyzed: OPTIONS.newFaceFullRateFrames, followedBoxes: undefined };
    expect(gateVerdict(at(10, { scene: young }), OPTIONS, RECHECK_MS)).toEqual(ANALYZE);
    expect(gateVerdict(at(RECHECK_MS - 1, { scene: settled }), OPTIONS, RECHECK_MS)).toEqual(UNCHANGED);
    expect(gateVerdict(at(RECHECK_MS, { scene: settled }), OPTIONS, RECHECK_MS)).toEqual(ANALYZE);
  });
});

describe('frames the scene alone sends whole, without a look at the picture first', () => {
  const face = { x: 200, y: 100, width: 200, height: 200 };
  it('are those with a lost face, or a new face in its full-rate frames that cannot be searched near', () => {
    const lost: SceneState = { heldTracks: 1, lostFaces: 1, newestTrackFramesAnalyzed: 40, followedBoxes: undefined };
    const newUndecided: SceneState = { heldTracks: 1, lostFaces: 0, newestTrackFramesAnalyzed: 1, followedBoxes: undefined };
    const newNamed: SceneState = { heldTracks: 1, lostFaces: 0, newestTrackFramesAnalyzed: 3, followedBoxes: [face] };
    const settled: SceneState = { heldTracks: 1, lostFaces: 0, newestTrackFramesAnalyzed: OPTIONS.newFaceFullRateFrames, followedBoxes: undefined };
    expect(wholeFrameWhateverChanged(lost, OPTIONS)).toBe(true);
    expect(wholeFrameWhateverChanged(newUndecided, OPTIONS)).toBe(true);
    // A named new face may be searched near, if what changed lies there: the picture decides.
    expect(wholeFrameWhateverChanged(newNamed, OPTIONS)).toBe(false);
    expect(wholeFrameWhateverChanged(newNamed, { ...OPTIONS, searchMarginRatio: 0 })).toBe(true);
    expect(wholeFrameWhateverChanged(settled, OPTIONS)).toBe(false);
    expect(wholeFrameWhateverChanged(NOBODY, OPTIONS)).toBe(false);
    // Each of them is a whole-frame analysis in gateVerdict too, changed or still.
    for (const scene of [lost, newUndecided]) {
      for (const changedShare of [STILL, 1]) expect(gateVerdict(at(10, { scene, changedShare, changedRegion: face }), OPTIONS, RECHECK_MS)).toEqual(ANALYZE);
    }
  });
});

describe('where the detector searches', () => {
  const face = { x: 200, y: 100, width: 200, height: 200 };
  const followed: SceneState = { heldTracks: 1, lostFaces: 0, newestTrackFramesAnalyzed: 40, followedBoxes: [face] };
  const NEAR = { ...OPTIONS, searchMarginRatio: 0.35 };
  const m = NEAR.searchMarginRatio;
  const near = { x: face.x - m * face.width, y: face.y - m * face.height, width: face.width * (1 + 2 * m), height: face.height * (1 + 2 * m) };

  it('only around the faces already followed when all that changed lies there', () => {
    const moved = at(100, { scene: followed, changedShare: 0.05, changedRegion: { x: 210, y: 110, width: 150, height: 150 } });
    expect(gateVerdict(moved, NEAR, RECHECK_MS)).toEqual({ kind: 'analyze', searchRegion: near });
    // The re-check of a still scene is no reason to look elsewhere either.
    expect(gateVerdict(at(RECHECK_MS, { scene: followed }), NEAR, RECHECK_MS)).toEqual({ kind: 'analyze', searchRegion: near });
  });

  it('the whole frame when something changed elsewhere, a face needs describing, or the margin is 0', () => {
    const elsewhere = at(100, { scene: followed, changedShare: 0.05, changedRegion: { x: 10, y: 10, width: 60, height: 60 } });
    expect(gateVerdict(elsewhere, NEAR, RECHECK_MS)).toEqual(ANALYZE);
    const due = at(100, { scene: { ...followed, followedBoxes: undefined }, changedShare: 0.05, changedRegion: { x: 210, y: 110, width: 150, height: 150 } });
    expect(gateVerdict(due, NEAR, RECHECK_MS)).toEqual(ANALYZE);
    const moved = at(100, { scene: followed, changedShare: 0.05, changedRegion: { x: 210, y: 110, width: 150, height: 150 } });
    expect(gateVerdict(moved, { ...NEAR, searchMarginRatio: 0 }, RECHECK_MS)).toEqual(ANALYZE);
  });

  it('clipped to the frame', () => {
    const atEdge: SceneState = { ...followed, followedBoxes: [{ x: 500, y: 380, width: 140, height: 100 }] };
    const verdict = gateVerdict(at(100, { scene: atEdge, changedShare: 0.05, changedRegion: { x: 520, y: 400, width: 100, height: 60 } }), NEAR, RECHECK_MS);
    expect(verdict).toEqual({ kind: 'analyze', searchRegion: { x: 500 - 140 * m, y: 380 - 100 * m, width: 140 * (1 + m), height: 100 * (1 + m) } });
  });
});

describe('SceneGate on camera frames', () => {
  const amy = readFileSync('test/fixtures/faces/amy/amy2.png');
  const centre = { left: 220, top: 140, facePx: 200 };
  let seq = 0;
  const frame = async (crop: Uint8Array | undefined, place = centre, atMs = seq * 200): Promise<LaneFrame> => ({
    seq: seq++,
    atMs,
    bytes: await noisyCameraFrame(crop, place, 1000 + seq),
  });

  function gate(scene: () => SceneState = () => NOBODY) {
    return new SceneGate({ options: OPTIONS, maxImagePixels: defaultSettings.vision.maxImagePixels, recheckEveryMs: RECHECK_MS, sceneState: scene });
  }

  it('a still noisy counter is analyzed once per emptySceneRecheckMs, not at the camera rate', async () => {
    const g = gate();
    const verdicts: string[] = [];
    // 6 s at 5 fps of the empty counter, each frame with noise of its own.
    for (let k = 0; k < 30; k++) {
      const f = await frame(undefined, centre, k * 200);
      const verdict = await g.judge(f);
      verdicts.push(verdict.kind);
      if (verdict.kind === 'analyze') await g.analyzed(f);
    }
    const analyzedAt = verdicts.flatMap((v, k) => (v === 'analyze' ? [k * 200] : []));
    expect(analyzedAt).toEqual([0, 5000]);
  });

  it('a face walking in is analyzed from its first frame, and so is each step it moves', async () => {
    const g = gate();
    const empty = await frame(undefined);
    expect(await g.judge(empty)).toEqual(ANALYZE);
    await g.analyzed(empty);
    expect(await g.judge(await frame(undefined))).toEqual(UNCHANGED);
    // Far away and small at the edge of the frame, then two steps closer.
    for (const place of [{ left: 20, top: 220, facePx: 60 }, { left: 80, top: 190, facePx: 100 }, { left: 150, top: 160, facePx: 150 }]) {
      const step = await frame(amy, place);
      expect(await g.judge(step)).toEqual(ANALYZE);
      await g.analyzed(step);
    }
  });

  it('a new face\'s frames go whole without a look first; the last of them is the reference once the face has settled', async () => {
    let scene: SceneState = { heldTracks: 1, lostFaces: 0, newestTrackFramesAnalyzed: 1, followedBoxes: undefined };
    const g = gate(() => scene);
    const far = await frame(amy, { left: 60, top: 200, facePx: 120 }, 0);
    expect(await g.judge(far)).toEqual(ANALYZE);
    await g.analyzed(far);
    const close = await frame(amy, centre, 200);
    expect(await g.judge(close)).toEqual(ANALYZE);
    await g.analyzed(close);
    scene = { ...scene, newestTrackFramesAnalyzed: OPTIONS.newFaceFullRateFrames };
    // Compared with the last analyzed frame (close), not the first one (far): still, so held.
    expect(await g.judge(await frame(amy, centre, 400))).toEqual(UNCHANGED);
    expect(await g.judge(await frame(amy, { left: 60, top: 200, facePx: 120 }, 600))).toEqual(ANALYZE);
  });

  it('a member standing still is held after their first frames, re-checked once per recheckEveryMs, and someone else in their place is analyzed', async () => {
    const g = gate(() => ({ heldTracks: 1, lostFaces: 0, newestTrackFramesAnalyzed: OPTIONS.newFaceFullRateFrames, followedBoxes: undefined }));
    const first = await frame(amy, centre, 0);
    expect(await g.judge(first)).toEqual(ANALYZE); // nothing to compare with yet
    await g.analyzed(first);
    expect(await g.judge(await frame(amy, centre, 200))).toEqual(UNCHANGED);
    expect(await g.judge(await frame(amy, { ...centre, left: centre.left + 1 }, 400))).toEqual(UNCHANGED); // a pixel of sway
    expect(await g.judge(await frame(amy, centre, RECHECK_MS))).toEqual(ANALYZE);
    const stuart = readFileSync('test/fixtures/faces/stuart/stuart1.png');
    expect(await g.judge(await frame(stuart, centre, 600))).toEqual(ANALYZE);
  });

  it('an unreadable frame is left to the face engine to refuse', async () => {
    const g = gate();
    const garbage: LaneFrame = { seq: 1, atMs: 0, bytes: Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.alloc(4000, 7)]) };
    expect(await g.judge(garbage)).toEqual(ANALYZE);
  });
});
