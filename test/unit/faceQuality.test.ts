import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { type QualityGate, settingsSchema } from '../../src/config/settingsSchema.js';
import { type QualityMetrics, facePixelStats, headPose, qualityReasons } from '../../src/vision/faceQuality.js';
import type { DecodedImageLike, Point } from '../../src/vision/visionTypes.js';

const vision = settingsSchema.parse({}).vision;

describe('qualityReasons: each rule of a gate, at and just past its boundary', () => {
  /** Metrics sitting exactly on every limit of the gate: all limits are inclusive, so this passes. */
  const onTheLimits = (gate: QualityGate): QualityMetrics => ({
    sizePx: gate.minFaceSizePx,
    detectionScore: gate.minDetectionScore,
    yawDeg: gate.maxYawDeg,
    rollDeg: -gate.maxRollDeg,
    sharpness: gate.minSharpness,
    brightness: gate.minBrightness,
  });

  for (const [name, gate] of [['enroll', vision.enrollGate], ['live', vision.liveGate]] as const) {
    describe(`${name} gate`, () => {
      it('passes a face exactly on every limit', () => {
        expect(qualityReasons(onTheLimits(gate), gate)).toEqual([]);
        expect(qualityReasons({ ...onTheLimits(gate), brightness: gate.maxBrightness, yawDeg: -gate.maxYawDeg, rollDeg: gate.maxRollDeg }, gate)).toEqual([]);
      });

      const eps = 0.01;
      const cases: Array<[string, Partial<QualityMetrics>, string]> = [
        ['face smaller than minFaceSizePx', { sizePx: gate.minFaceSizePx - eps }, 'face-too-small'],
        ['score under minDetectionScore', { detectionScore: gate.minDetectionScore - eps }, 'low-detection-score'],
        ['yaw past maxYawDeg to the right', { yawDeg: gate.maxYawDeg + eps }, 'head-turned'],
        ['yaw past maxYawDeg to the left', { yawDeg: -gate.maxYawDeg - eps }, 'head-turned'],
        ['roll past maxRollDeg clockwise', { rollDeg: gate.maxRollDeg + eps }, 'head-tilted'],
        ['roll past maxRollDeg anticlockwise', { rollDeg: -gate.maxRollDeg - eps }, 'head-tilted'],
        ['sharpness under minSharpness', { sharpness: gate.minSharpness - eps }, 'blurry'],
        ['brightness under minBrightness', { brightness: gate.minBrightness - eps }, 'too-dark'],
        ['brightness over maxBrightness', { brightness: gate.maxBrightness + eps }, 'too-bright'],
      ];
      for (const [what, change, reason] of cases) {
        it(`${what} → exactly ["${reason}"]`, () => {
          expect(qualityReasons({ ...onTheLimits(gate), ...change }, gate)).toEqual([reason]);
        });
      }

      it('names every broken rule at once, in a stable order', () => {
        const bad: QualityMetrics = { sizePx: 10, detectionScore: 0.1, yawDeg: 80, rollDeg: -80, sharpness: 0, brightness: 5 };
        expect(qualityReasons(bad, gate)).toEqual(['face-too-small', 'low-detection-score', 'head-turned', 'head-tilted', 'blurry', 'too-dark']);
      });
    });
  }

  it('the live gate is looser than the enroll gate: a face can be matched live but not enrolled', () => {
    const m: QualityMetrics = { sizePx: 60, detectionScore: 0.55, yawDeg: 35, rollDeg: 25, sharpness: 20, brightness: 30 };
    expect(qualityReasons(m, vision.liveGate)).toEqual([]);
    expect(qualityReasons(m, vision.enrollGate)).toEqual(['face-too-small', 'low-detection-score', 'head-turned', 'head-tilted', 'blurry', 'too-dark']);
  });
});

/**
 * A frontal 68-point iBUG layout, symmetric about x = 0, eyes level at y = -20, in a face about
 * 100 units wide. headPose reads the jaw ends (0, 16), the nose tip (30) and the eyes (36–47);
 * the rest is filled in so the layout is a whole face.
 */
function frontalLayout(): Point[] {
  const p: Point[] = [];
  for (let i = 0; i <= 16; i++) {
    // Jaw: a half-ellipse from the left ear (0) under the chin (8) to the right ear (16).
    const t = Math.PI - (i / 16) * Math.PI;
    p.push({ x: 50 * Math.cos(t), y: -20 + 70 * Math.sin(t) * (i === 0 || i === 16 ? 0 : 1) });
  }
  for (let i = 0; i < 5; i++) p.push({ x: -40 + i * 7, y: -35 }); // left brow 17–21
  for (let i = 0; i < 5; i++) p.push({ x: 12 + i * 7, y: -35 }); // right brow 22–26
  for (let i = 0; i < 4; i++) p.push({ x: 0, y: -22 + i * 8 }); // nose bridge 27–30 (30 = tip)
  for (let i = 0; i < 5; i++) p.push({ x: -8 + i * 4, y: 14 }); // nostrils 31–35
  const eye = (cx: number) => [
    { x: cx - 10, y: -20 }, { x: cx - 4, y: -24 }, { x: cx + 4, y: -24 },
    { x: cx + 10, y: -20 }, { x: cx + 4, y: -16 }, { x: cx - 4, y: -16 },
  ];
  p.push(...eye(-25), ...eye(25)); // 36–41, 42–47
  for (let i = 0; i < 12; i++) p.push({ x: 20 * Math.cos((i / 12) * 2 * Math.PI), y: 32 + 8 * Math.sin((i / 12) * 2 * Math.PI) }); // outer lip 48–59
  for (let i = 0; i < 8; i++) p.push({ x: 12 * Math.cos((i / 8) * 2 * Math.PI), y: 32 + 3 * Math.sin((i / 8) * 2 * Math.PI) }); // inner lip 60–67
  expect(p).toHaveLength(68);
  return p;
}

/** Rotates about (cx, cy) by `deg` in image coordinates (y down): positive is clockwise on screen. */
function rotate(points: Point[], deg: number, cx = 0, cy = 0): Point[] {
  const r = (deg * Math.PI) / 180;
  return points.map(({ x, y }) => ({
    x: cx + (x - cx) * Math.cos(r) - (y - cy) * Math.sin(r),
    y: cy + (x - cx) * Math.sin(r) + (y - cy) * Math.cos(r),
  }));
}

const translate = (points: Point[], dx: number, dy: number) => points.map(({ x, y }) => ({ x: x + dx, y: y + dy }));

/** Moves the nose tip sideways by sin(deg) of the jaw half-width: what turning the head by deg does. */
function turnNose(points: Point[], deg: number): Point[] {
  const out = points.map((p) => ({ ...p }));
  out[30] = { x: out[30]!.x + 50 * Math.sin((deg * Math.PI) / 180), y: out[30]!.y };
  return out;
}

describe('headPose on synthetic 68-point layouts', () => {
  it('a frontal face has yaw 0 and roll 0, wherever it is in the image', () => {
    expect(headPose(frontalLayout())).toEqual({ yawDeg: 0, rollDeg: 0 });
    expect(headPose(translate(frontalLayout(), 640, 360))).toEqual({ yawDeg: 0, rollDeg: 0 });
  });

  it('rotating the layout by 15° gives roll 15 and leaves yaw at 0', () => {
    const pose = headPose(rotate(translate(frontalLayout(), 300, 200), 15, 300, 200));
    expect(pose.rollDeg).toBeCloseTo(15, 1);
    expect(Math.abs(pose.yawDeg)).toBeLessThanOrEqual(0.1);
    const other = headPose(rotate(frontalLayout(), -15));
    expect(other.rollDeg).toBeCloseTo(-15, 1);
  });

  it('the nose moved right gives positive yaw, moved left negative, by about the turn', () => {
    const right = headPose(turnNose(frontalLayout(), 20));
    const left = headPose(turnNose(frontalLayout(), -20));
    expect(right.yawDeg).toBeCloseTo(20, 0);
    expect(left.yawDeg).toBeCloseTo(-20, 0);
    expect(right.rollDeg).toBe(0);
  });

  it('yaw is measured after roll is undone: a turned and tilted head reads as both', () => {
    const pose = headPose(rotate(turnNose(frontalLayout(), 25), 18));
    expect(pose.yawDeg).toBeCloseTo(25, 0);
    expect(pose.rollDeg).toBeCloseTo(18, 1);
  });

  it('a nose beyond the jaw is clamped to ±90° rather than NaN', () => {
    const out = frontalLayout();
    out[30] = { x: 500, y: 0 };
    expect(headPose(out).yawDeg).toBe(90);
  });
});

describe('facePixelStats on real pixels', () => {
  /** A checkerboard of `cell`-pixel squares, 8-bit RGB. */
  function checkerboard(side: number, cell: number): DecodedImageLike {
    const data = new Uint8Array(side * side * 3);
    for (let y = 0; y < side; y++) {
      for (let x = 0; x < side; x++) {
        const v = (Math.floor(x / cell) + Math.floor(y / cell)) % 2 === 0 ? 230 : 25;
        data.fill(v, (y * side + x) * 3, (y * side + x) * 3 + 3);
      }
    }
    return { data, width: side, height: side };
  }

  async function blurred(image: DecodedImageLike, sigma: number): Promise<DecodedImageLike> {
    const buf = await sharp(image.data, { raw: { width: image.width, height: image.height, channels: 3 } }).blur(sigma).raw().toBuffer();
    return { data: new Uint8Array(buf), width: image.width, height: image.height };
  }

  const whole = (img: DecodedImageLike) => ({ x: 0, y: 0, width: img.width, height: img.height });

  it('a sharp checkerboard scores far higher sharpness than its blurred copy; brightness is its mean grey', async () => {
    const board = checkerboard(224, 16);
    const soft = await blurred(board, 10);
    const sharpStats = await facePixelStats(board, whole(board));
    const softStats = await facePixelStats(soft, whole(soft));
    expect(sharpStats.sharpness).toBeGreaterThan(vision.enrollGate.minSharpness);
    expect(softStats.sharpness).toBeLessThan(vision.liveGate.minSharpness);
    expect(sharpStats.sharpness).toBeGreaterThan(10 * softStats.sharpness);
    expect(sharpStats.brightness).toBeCloseTo((230 + 25) / 2, -1);
    expect(softStats.brightness).toBeCloseTo((230 + 25) / 2, -1);
  });

  it('measures only the box: a sharp patch inside a flat image is sharp, the flat part is not', async () => {
    const side = 300;
    const board = checkerboard(side, 10);
    // Flatten everything but the 100×100 square at (150, 150).
    for (let y = 0; y < side; y++) {
      for (let x = 0; x < side; x++) {
        if (x < 150 || x >= 250 || y < 150 || y >= 250) board.data.fill(128, (y * side + x) * 3, (y * side + x) * 3 + 3);
      }
    }
    const patch = await facePixelStats(board, { x: 150, y: 150, width: 100, height: 100 });
    const flat = await facePixelStats(board, { x: 10, y: 10, width: 100, height: 100 });
    expect(patch.sharpness).toBeGreaterThan(vision.enrollGate.minSharpness);
    expect(flat.sharpness).toBe(0);
    expect(flat.brightness).toBe(128);
  });

  it('a black patch is too dark for both gates, a white one too bright', async () => {
    const black: DecodedImageLike = { data: new Uint8Array(64 * 64 * 3), width: 64, height: 64 };
    const white: DecodedImageLike = { data: new Uint8Array(64 * 64 * 3).fill(255), width: 64, height: 64 };
    const dark = await facePixelStats(black, whole(black));
    const bright = await facePixelStats(white, whole(white));
    expect(dark.brightness).toBe(0);
    expect(bright.brightness).toBe(255);
    const metrics = (stats: { sharpness: number; brightness: number }): QualityMetrics => ({
      sizePx: 200, detectionScore: 0.99, yawDeg: 0, rollDeg: 0, sharpness: 100, brightness: stats.brightness,
    });
    for (const gate of [vision.enrollGate, vision.liveGate]) {
      expect(qualityReasons(metrics(dark), gate)).toEqual(['too-dark']);
      expect(qualityReasons(metrics(bright), gate)).toEqual(['too-bright']);
    }
  });

  it('a box reaching past the image edge is clipped, not an error', async () => {
    const board = checkerboard(120, 8);
    const stats = await facePixelStats(board, { x: 100, y: -30, width: 80, height: 90 });
    expect(Number.isFinite(stats.sharpness)).toBe(true);
    expect(stats.sharpness).toBeGreaterThan(0);
    const beyond = await facePixelStats(board, { x: 500, y: 500, width: 40, height: 40 });
    expect(Number.isFinite(beyond.brightness)).toBe(true);
  });
});
