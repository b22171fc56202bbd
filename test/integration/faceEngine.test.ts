import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { settingsSchema } from '../../src/config/settingsSchema.js';
import { ImageError } from '../../src/core/errors.js';
import { createLogger } from '../../src/core/logger.js';
import { createRequire } from 'node:module';
import { noisyCameraFrame } from '../../scripts/calibration/tillCamera.js';
import { type Analysis, FaceEngine, type FaceObservation } from '../../src/vision/faceEngine.js';

const FACES_DIR = fileURLToPath(new URL('../fixtures/faces/', import.meta.url));
const SAMPLES_DIR = fileURLToPath(new URL('../../node_modules/@vladmandic/face-api/demo/', import.meta.url));

/** The 40 labelled crops: 8 people × 5 tight 150×150 faces. */
const CROPS = readdirSync(FACES_DIR, { withFileTypes: true })
  .filter((d) => d.isDirectory())
  .flatMap((d) => readdirSync(path.join(FACES_DIR, d.name)).filter((f) => f.endsWith('.png')).map((f) => ({ person: d.name, file: path.join(FACES_DIR, d.name, f) })))
  .sort((a, b) => a.file.localeCompare(b.file));
const SAMPLES = [1, 2, 3, 4, 5, 6].map((n) => path.join(SAMPLES_DIR, `sample${n}.jpg`));

/** For the tests that run 40–60 analyses: ~1 s each on 2 cores, more when the machine is busy. */
const SLOW_MS = 300_000;

let engine: FaceEngine;

beforeAll(async () => {
  engine = await FaceEngine.create(settingsSchema.parse({}).vision, createLogger('silent'));
});

function distance(a: Float32Array, b: Float32Array): number {
  expect(a).toHaveLength(128);
  expect(b).toHaveLength(128);
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += (a[i]! - b[i]!) ** 2;
  return Math.sqrt(sum);
}

function largest(analysis: Analysis): FaceObservation {
  expect(analysis.faces.length).toBeGreaterThanOrEqual(1);
  return analysis.faces[0]!;
}

function descriptorOf(face: FaceObservation): Float32Array {
  expect(face.descriptor).toBeInstanceOf(Float32Array);
  return face.descriptor!;
}

async function noise(width: number, height: number, seed: number): Promise<Buffer> {
  const data = Buffer.alloc(width * height * 3);
  let state = seed;
  for (let i = 0; i < data.length; i++) {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    data[i] = state >>> 24;
  }
  return sharp(data, { raw: { width, height, channels: 3 } }).jpeg().toBuffer();
}

async function gradient(width: number, height: number): Promise<Buffer> {
  const data = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) data.set([Math.round((255 * x) / width), Math.round((255 * y) / height), 128], (y * width + x) * 3);
  }
  return sharp(data, { raw: { width, height, channels: 3 } }).png().toBuffer();
}

describe('FaceEngine on real faces (WASM inference)', () => {
  it('runs on a real backend, never the 30× slower pure-JS cpu one by accident', () => {
    expect(['tensorflow', 'wasm']).toContain(engine.backend);
  });

  it('finds exactly one face with a finite 128-number descriptor in each of the 40 crops', { timeout: SLOW_MS }, async () => {
    expect(CROPS).toHaveLength(40);
    const problems: string[] = [];
    const described: Array<{ person: string; descriptor: Float32Array }> = [];
    for (const crop of CROPS) {
      const analysis = await engine.analyzeBytes(readFileSync(crop.file), 'enroll');
      const name = path.basename(crop.file);
      if (analysis.faces.length !== 1) {
        problems.push(`${name}: ${analysis.faces.length} faces`);
        continue;
      }
      const face = analysis.faces[0]!;
      const d = face.descriptor;
      if (!d || d.length !== 128 || !d.every(Number.isFinite)) {
        problems.push(`${name}: descriptor ${d ? `of ${d.length}` : 'missing'}`);
        continue;
      }
      // The box is in the crop's own pixels, not the padded detector input.
      if (face.box.x < 0 || face.box.y < 0 || face.box.x + face.box.width > 150.5 || face.box.y + face.box.height > 150.5) {
        problems.push(`${name}: box ${JSON.stringify(face.box)} outside the 150×150 crop`);
      }
      expect(face.quality.gate).toBe('enroll');
      expect(face.quality.passed).toBe(face.quality.reasons.length === 0);
      described.push({ person: crop.person, descriptor: d });
    }
    expect(problems).toEqual([]);

    // The descriptors carry identity: on average a person's crops are nearer each other than to others'.
    let same = 0;
    let sameN = 0;
    let other = 0;
    let otherN = 0;
    for (let i = 0; i < described.length; i++) {
      for (let j = i + 1; j < described.length; j++) {
        const d = distance(described[i]!.descriptor, described[j]!.descriptor);
        if (described[i]!.person === described[j]!.person) {
          same += d;
          sameN++;
        } else {
          other += d;
          otherN++;
        }
      }
    }
    expect(sameN).toBe(8 * 10);
    expect(same / sameN).toBeLessThan(other / otherN - 0.2);
  });

  it('finds at least one face in each face-api demo sample, largest first', async () => {
    for (const file of SAMPLES) {
      const bytes = readFileSync(file);
      const meta = await sharp(bytes).metadata();
      const analysis = await engine.analyzeBytes(bytes, 'enroll');
      expect(analysis.faces.length, path.basename(file)).toBeGreaterThanOrEqual(1);
      const areas = analysis.faces.map((f) => f.box.width * f.box.height);
      for (let i = 1; i < areas.length; i++) expect(areas[i]!).toBeLessThanOrEqual(areas[i - 1]!);
      for (const face of analysis.faces) {
        expect(face.box.x + face.box.width).toBeLessThanOrEqual(meta.width! + 0.5);
        expect(face.box.y + face.box.height).toBeLessThanOrEqual(meta.height! + 0.5);
        expect(face.landmarks).toHaveLength(68);
        expect(descriptorOf(face).every(Number.isFinite)).toBe(true);
      }
      expect(analysis.timingsMs.detect).toBeGreaterThan(0);
    }
  });

  it('a picture with no face gives zero faces and no error', async () => {
    for (const bytes of [await gradient(640, 480), await noise(640, 480, 7), await gradient(150, 150), await noise(150, 150, 11)]) {
      expect((await engine.analyzeBytes(bytes, 'enroll')).faces).toEqual([]);
      expect((await engine.analyzeBytes(bytes, 'live')).faces).toEqual([]);
    }
  });

  it('the same image twice gives the identical descriptor', async () => {
    const bytes = readFileSync(CROPS[0]!.file);
    const a = descriptorOf(largest(await engine.analyzeBytes(bytes, 'enroll')));
    const b = descriptorOf(largest(await engine.analyzeBytes(bytes, 'enroll')));
    expect(Array.from(b)).toEqual(Array.from(a));
  });

  it('the same face in grayscale, or slightly rescaled, stays within distance 0.3', async () => {
    const color = readFileSync(SAMPLES[0]!);
    const grey = await sharp(color).greyscale().jpeg({ quality: 95 }).toBuffer();
    const base = descriptorOf(largest(await engine.analyzeBytes(color, 'enroll')));
    expect(distance(base, descriptorOf(largest(await engine.analyzeBytes(grey, 'enroll'))))).toBeLessThan(0.3);
    const smaller = await sharp(color).resize({ width: 1600 }).jpeg({ quality: 95 }).toBuffer();
    expect(distance(base, descriptorOf(largest(await engine.analyzeBytes(smaller, 'enroll'))))).toBeLessThan(0.3);

    const crop = readFileSync(CROPS[5]!.file);
    const cropBase = descriptorOf(largest(await engine.analyzeBytes(crop, 'enroll')));
    for (const side of [130, 180]) {
      const rescaled = await sharp(crop).resize(side, side).png().toBuffer();
      expect(distance(cropBase, descriptorOf(largest(await engine.analyzeBytes(rescaled, 'enroll')))), `${side} px`).toBeLessThan(0.3);
    }
  });

  it('an upside-down copy marked with EXIF orientation 3 decodes upright and finds the same face', async () => {
    const original = readFileSync(SAMPLES[0]!);
    const upright = largest(await engine.analyzeBytes(original, 'enroll'));
    // Pixels stored upside down; orientation 3 tells the reader to turn them 180° to view.
    const flipped = await sharp(original).rotate(180).jpeg({ quality: 95 }).withMetadata({ orientation: 3 }).toBuffer();
    expect((await sharp(flipped).metadata()).orientation).toBe(3);
    const analysis = await engine.analyzeBytes(flipped, 'enroll');
    const face = largest(analysis);
    // Same place in the upright picture, same person.
    expect(Math.abs(face.box.x - upright.box.x)).toBeLessThan(0.1 * upright.box.width);
    expect(Math.abs(face.box.y - upright.box.y)).toBeLessThan(0.1 * upright.box.height);
    // Read upside down, the eye line would be off by about 180°.
    expect(Math.abs(face.quality.rollDeg - upright.quality.rollDeg)).toBeLessThan(5);
    expect(distance(descriptorOf(face), descriptorOf(upright))).toBeLessThan(0.3);
  });

  it('a truncated image is rejected by analyzeBytes and the engine carries on', async () => {
    const good = readFileSync(SAMPLES[1]!);
    const before = engine.tensorCount();
    const err: unknown = await engine.analyzeBytes(good.subarray(0, Math.floor(good.length / 2)), 'live').then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ImageError);
    expect((err as ImageError).code).toBe('corrupt-image');
    expect(engine.tensorCount()).toBe(before);
    expect((await engine.analyzeBytes(good, 'live')).faces.length).toBeGreaterThanOrEqual(1);
  });

  it('holds no more tensors after 60 analyses than after the first (no leak)', { timeout: SLOW_MS }, async () => {
    const inputs = [
      ...CROPS.filter((_, i) => i % 4 === 0).map((c) => readFileSync(c.file)),
      await noise(320, 240, 3),
    ];
    const purposes = ['enroll', 'live'] as const;
    await engine.analyzeBytes(inputs[0]!, 'enroll');
    const afterFirst = engine.tensorCount();
    let faces = 0;
    for (let i = 1; i < 60; i++) {
      const analysis = await engine.analyzeBytes(inputs[i % inputs.length]!, purposes[i % 2]!, { describe: i % 3 === 0 ? 'passing' : 'all' });
      faces += analysis.faces.length;
    }
    expect(faces).toBeGreaterThan(40);
    expect(engine.tensorCount()).toBe(afterFirst);
  });
});

describe('the networks freeing their layers early', () => {
  it('find and describe, on camera frames, exactly what face-api\'s own forward passes do', { timeout: SLOW_MS }, async () => {
    // The engine's face-api: the overrides sit on its net instances, face-api's own passes on the prototypes.
    type Net = { forwardInput?: unknown };
    const faceapi = createRequire(import.meta.url)('@vladmandic/face-api/dist/face-api.node-wasm.js') as { nets: { tinyFaceDetector: Net; faceRecognitionNet: Net } };
    const nets = [faceapi.nets.tinyFaceDetector, faceapi.nets.faceRecognitionNet];
    for (const net of nets) expect(Object.hasOwn(net, 'forwardInput')).toBe(true);
    const frames = [
      await noisyCameraFrame(readFileSync(path.join(FACES_DIR, 'amy/amy2.png')), { left: 220, top: 140, facePx: 200 }, 1),
      await noisyCameraFrame(readFileSync(path.join(FACES_DIR, 'raj/raj3.png')), { left: 40, top: 260, facePx: 110 }, 2),
      await noisyCameraFrame(undefined, { left: 0, top: 0, facePx: 0 }, 3),
      readFileSync(SAMPLES[1]!),
    ];
    const analyzeAll = async () => {
      const faces: FaceObservation[][] = [];
      for (const frame of frames) faces.push((await engine.analyzeBytes(frame, 'live', { describe: 'all' })).faces);
      // A search region: the detector runs at another input size, so its layers split into other bands.
      faces.push((await engine.analyzeBytes(frames[0]!, 'live', { describe: 'all', searchRegion: { x: 133, y: 61, width: 377, height: 301 } })).faces);
      return faces;
    };
    const ours = await analyzeAll();
    const overrides = nets.map((net) => net.forwardInput);
    for (const net of nets) delete net.forwardInput;
    let theirs: FaceObservation[][];
    try {
      theirs = await analyzeAll();
    } finally {
      nets.forEach((net, i) => (net.forwardInput = overrides[i]));
    }
    expect(ours.map((f) => f.length)).toEqual(theirs.map((f) => f.length));
    expect(ours.flat().filter((f) => f.descriptor).length).toBeGreaterThanOrEqual(3);
    expect(ours).toEqual(theirs);
  });
});
