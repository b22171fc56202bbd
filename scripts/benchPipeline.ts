/**
 * Per-stage latency of the face pipeline on real images, with the process's memory around
 * model load. Used by `npm run bench` (scripts/bench.ts); the result is plain JSON.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import type { Logger } from '../src/core/logger.js';
import type { FaceEngine, Purpose, StageTimingsMs } from '../src/vision/faceEngine.js';
import { megabytes, percentile, round2 } from './benchStats.js';

export type StageName = keyof StageTimingsMs | 'total';
export const STAGES: readonly StageName[] = ['decode', 'detect', 'landmarks', 'descriptor', 'total'];

export interface StageStats {
  medianMs: number;
  p95Ms: number;
}

export interface PipelineRun {
  purpose: Purpose;
  detector: 'ssd' | 'tiny';
  imageSet: 'fixtures' | 'frames640x480';
  /** Different images in the set; the measured loop cycles through them. */
  distinctImages: number;
  warmupImages: number;
  /** Counted analyses. */
  images: number;
  facesFound: number;
  facesPassingGate: number;
  imagesWithoutFace: number;
  /** `total` is the wall time of analyzeBytes, so it also covers padding and quality metrics. */
  stages: Record<StageName, StageStats>;
  tensorsBefore: number;
  tensorsAfter: number;
  rssMbAfter: number;
  wallMs: number;
}

export interface MemoryMb {
  rss: number;
  heapUsed: number;
  external: number;
  arrayBuffers: number;
}

export interface PipelineBenchResult {
  backend: string;
  modelLoadMs: number;
  /** MB = 10^6 bytes, the stricter reading of the "250 MB". */
  rssMb: {
    start: number;
    /** sharp, the settings schema and the engine's own modules; TensorFlow.js is not loaded yet. */
    afterImports: number;
    afterModelLoad: number;
    end: number;
  };
  memoryAfterModelLoadMb: MemoryMb;
  enroll: PipelineRun;
  live: PipelineRun;
  liveFrames: PipelineRun;
}

export interface BenchPipelineOptions {
  /** Counted analyses per run; the issue asks for at least 50. */
  images?: number;
  /** RSS taken by the caller before it loaded anything heavy; measured here when absent. */
  startRssMb?: number;
  log?: Logger;
  progress?: (message: string) => void;
}

/** One of every fixture image: 40 crops + 5 group photos + 6 face-api samples. */
export const DEFAULT_IMAGES = 51;

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const FACES_DIR = path.join(ROOT, 'test/fixtures/faces');
const SAMPLES_DIR = path.join(ROOT, 'node_modules/@vladmandic/face-api/demo');
const PEOPLE = ['amy', 'bernadette', 'howard', 'leonard', 'penny', 'raj', 'sheldon', 'stuart'];
const CROPS_PER_PERSON = 5;
const GROUP_PHOTOS = 5;
const SAMPLES = 6;

const FRAME_WIDTH = 640;
const FRAME_HEIGHT = 480;
/** A member standing at the till fills about this much of a 640×480 camera frame. */
const FRAME_FACE_PX = 200;
/** Typical of webcam MJPEG streams. */
const FRAME_JPEG_QUALITY = 80;

function memoryMb(): MemoryMb {
  const m = process.memoryUsage();
  return { rss: megabytes(m.rss), heapUsed: megabytes(m.heapUsed), external: megabytes(m.external), arrayBuffers: megabytes(m.arrayBuffers) };
}

async function fixtureImages(): Promise<Uint8Array[]> {
  const files: string[] = [];
  for (const person of PEOPLE) {
    for (let n = 1; n <= CROPS_PER_PERSON; n++) files.push(path.join(FACES_DIR, person, `${person}${n}.png`));
  }
  for (let n = 1; n <= GROUP_PHOTOS; n++) files.push(path.join(FACES_DIR, `bbt${n}.jpg`));
  for (let n = 1; n <= SAMPLES; n++) files.push(path.join(SAMPLES_DIR, `sample${n}.jpg`));
  return Promise.all(files.map(async (file) => new Uint8Array(await readFile(file))));
}

/**
 * What a till camera sends: one face of about 200 px somewhere in a 640×480 JPEG. The
 * background is a gradient rather than flat grey so the JPEG is not unrealistically small
 * and the detector sees some structure outside the face.
 */
async function cameraFrames(crops: Uint8Array[]): Promise<Uint8Array[]> {
  const { default: sharp } = await import('sharp');
  const background = Buffer.alloc(FRAME_WIDTH * FRAME_HEIGHT * 3);
  for (let y = 0; y < FRAME_HEIGHT; y++) {
    for (let x = 0; x < FRAME_WIDTH; x++) {
      const o = (y * FRAME_WIDTH + x) * 3;
      background[o] = 60 + Math.round((x / FRAME_WIDTH) * 120);
      background[o + 1] = 80 + Math.round((y / FRAME_HEIGHT) * 100);
      background[o + 2] = 140 - Math.round(((x + y) / (FRAME_WIDTH + FRAME_HEIGHT)) * 80);
    }
  }
  return Promise.all(
    crops.map(async (crop, i) => {
      const face = await sharp(crop).resize(FRAME_FACE_PX, FRAME_FACE_PX).removeAlpha().toBuffer();
      // Spread the faces over the frame: detectors are not equally quick to find every position.
      const left = 100 + ((i * 53) % (FRAME_WIDTH - FRAME_FACE_PX - 200));
      const top = 40 + ((i * 31) % (FRAME_HEIGHT - FRAME_FACE_PX - 80));
      const jpeg = await sharp(background, { raw: { width: FRAME_WIDTH, height: FRAME_HEIGHT, channels: 3 } })
        .composite([{ input: face, left, top }])
        .jpeg({ quality: FRAME_JPEG_QUALITY })
        .toBuffer();
      return new Uint8Array(jpeg);
    }),
  );
}

async function run(
  engine: FaceEngine,
  purpose: Purpose,
  detector: 'ssd' | 'tiny',
  imageSet: PipelineRun['imageSet'],
  set: Uint8Array[],
  count: number,
): Promise<PipelineRun> {
  const tensorsBefore = engine.tensorCount();
  const started = performance.now();
  // Kernels are set up and buffers grown on first use of each shape; none of that is steady state.
  const warmupImages = Math.min(set.length, count);
  for (let i = 0; i < warmupImages; i++) await engine.analyzeBytes(set[i]!, purpose);

  const samples: Record<StageName, number[]> = { decode: [], detect: [], landmarks: [], descriptor: [], total: [] };
  let facesFound = 0;
  let facesPassingGate = 0;
  let imagesWithoutFace = 0;
  for (let i = 0; i < count; i++) {
    const t0 = performance.now();
    const { faces, timingsMs } = await engine.analyzeBytes(set[i % set.length]!, purpose);
    samples.total.push(performance.now() - t0);
    samples.decode.push(timingsMs.decode);
    samples.detect.push(timingsMs.detect);
    samples.landmarks.push(timingsMs.landmarks);
    samples.descriptor.push(timingsMs.descriptor);
    facesFound += faces.length;
    facesPassingGate += faces.filter((f) => f.quality.passed).length;
    if (faces.length === 0) imagesWithoutFace++;
  }
  const wallMs = performance.now() - started;

  const stages = {} as Record<StageName, StageStats>;
  for (const stage of STAGES) {
    const sorted = samples[stage].sort((a, b) => a - b);
    stages[stage] = { medianMs: round2(percentile(sorted, 0.5)), p95Ms: round2(percentile(sorted, 0.95)) };
  }
  return {
    purpose,
    detector,
    imageSet,
    distinctImages: set.length,
    warmupImages,
    images: count,
    facesFound,
    facesPassingGate,
    imagesWithoutFace,
    stages,
    tensorsBefore,
    tensorsAfter: engine.tensorCount(),
    rssMbAfter: megabytes(process.memoryUsage().rss),
    wallMs: Math.round(wallMs),
  };
}

export async function benchPipeline(opts: BenchPipelineOptions = {}): Promise<PipelineBenchResult> {
  const startRssMb = opts.startRssMb ?? megabytes(process.memoryUsage().rss);
  const count = opts.images ?? DEFAULT_IMAGES;
  if (!Number.isInteger(count) || count < 1) throw new Error(`images must be a positive integer, got ${count}`);
  const progress = opts.progress ?? (() => {});

  // Imported here, not at the top, so the start RSS and the cost of each layer can be told apart.
  const { settingsSchema } = await import('../src/config/settingsSchema.js');
  const { createLogger } = await import('../src/core/logger.js');
  const { FaceEngine } = await import('../src/vision/faceEngine.js');
  await import('sharp');
  const afterImportsRssMb = megabytes(process.memoryUsage().rss);

  const settings = settingsSchema.parse({});
  const log = opts.log ?? createLogger('warn');
  progress('loading models');
  const loadStart = performance.now();
  const engine = await FaceEngine.create(settings.vision, log);
  const modelLoadMs = Math.round(performance.now() - loadStart);
  const memoryAfterModelLoadMb = memoryMb();

  const fixtures = await fixtureImages();
  const frames = await cameraFrames(fixtures.slice(0, PEOPLE.length * CROPS_PER_PERSON));

  const { enrollDetector, liveDetector } = settings.vision;
  progress(`enroll (${enrollDetector}): ${count} images after ${Math.min(count, fixtures.length)} warm-up`);
  const enroll = await run(engine, 'enroll', enrollDetector, 'fixtures', fixtures, count);
  progress(`live (${liveDetector}): ${count} images after ${Math.min(count, fixtures.length)} warm-up`);
  const live = await run(engine, 'live', liveDetector, 'fixtures', fixtures, count);
  progress(`live (${liveDetector}), 640×480 frames: ${count} frames after ${Math.min(count, frames.length)} warm-up`);
  const liveFrames = await run(engine, 'live', liveDetector, 'frames640x480', frames, count);

  return {
    backend: engine.backend,
    modelLoadMs,
    rssMb: {
      start: startRssMb,
      afterImports: afterImportsRssMb,
      afterModelLoad: memoryAfterModelLoadMb.rss,
      end: megabytes(process.memoryUsage().rss),
    },
    memoryAfterModelLoadMb,
    enroll,
    live,
    liveFrames,
  };
}
