/**
 * `npm run calibrate` — how far apart the descriptors of the same person and of different
 * people fall at each face size a till camera sees, and the operating point that follows.
 *
 * Each person's frontal photo is enrolled as the service enrolls (enrollment detector and gate,
 * mirror-averaged descriptor); their other photos are placed in a 640×480 camera frame at
 * several sizes and degraded as a till camera degrades them (colour, grey with noise and blur,
 * dim), then analyzed as live frames are. Every live face is compared with every enrolled face:
 * the same person's are genuine pairs, everyone else's impostor pairs, bucketed by the width of
 * the detected face box.
 *
 *   npm run calibrate                 the report as a table
 *   npm run calibrate -- --json       the report as one JSON object
 *   npm run calibrate -- --write      also writes models/match-calibration.json, which the service reads
 *   --people N                        only N people of the London set (a quick look)
 *
 * The first HELD_OUT_FOR_TESTS people of the London set are never used here: the tests measure
 * the decision on them, so what they show is not the data the thresholds were fitted to.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { Command } from 'commander';
import { settingsSchema } from '../src/config/settingsSchema.js';
import { createLogger } from '../src/core/logger.js';
import { pairFalseAcceptRate, OperatingPoint, summarizeBucket, type Calibration } from '../src/matching/operatingPoint.js';
import { descriptorDistance } from '../src/matching/exactRanking.js';
import { CALIBRATION_FILE } from '../src/matching/matchCalibration.js';
import { InferencePool } from '../src/vision/inferencePool.js';
import { enrollmentPhoto, HELD_OUT_FOR_TESTS, labelledSets, personKey, type LabelledImage } from './calibration/labelledSets.js';
import { CAMERA_CONDITIONS, tillCameraFrame, type CameraCondition } from './calibration/tillCamera.js';

/** Bucket edges by detected face width: the live gate admits 48 px and up. */
const BUCKET_EDGES_PX = [48, 64, 80, 96, 128, 10_000];
/** Crop sides in the frame; the live detector's face box is about 0.75 of the crop side. */
const CROP_SIZES_PX = [64, 76, 92, 112, 140, 200];
const MEMBER_COUNTS = [1, 20, 100, 1000];

/** The fixed threshold the service used before, for the before/after comparison. */
const FIXED_THRESHOLD_BEFORE = 0.55;


const program = new Command('calibrate')
  .option('--json', 'print one JSON object')
  .option('--write', `write ${CALIBRATION_FILE}`)
  .option('--people <n>', 'only N people of the London set', (v) => Number.parseInt(v, 10))
  .parse();
const opts = program.opts<{ json?: boolean; write?: boolean; people?: number }>();

const { enrolled, live } = labelledSets(opts.people);
const settings = settingsSchema.parse({ logLevel: 'warn' });
const pool = await InferencePool.create({
  size: availableParallelism(),
  vision: settings.vision,
  log: createLogger('warn'),
  maxQueueLength: 1000,
  workerNice: 0,
});
const started = Date.now();
const progress = (what: string) => process.stderr.write(`\r${what} (${Math.round((Date.now() - started) / 1000)} s)   `);

// Enrolled faces: as the admin page enrolls a photo.
const gallery: { person: string; descriptor: Float32Array }[] = [];
await inBatches(enrolled, async (image) => {
  const photo = image.set === 'london' ? await enrollmentPhoto(image.file) : readFileSync(image.file);
  const { faces } = await pool.analyzeBytes(photo, 'enroll', { describe: 'passing' });
  const face = faces[0];
  if (face?.descriptor) gallery.push({ person: personKey(image), descriptor: face.descriptor });
});
progress(`enrolled ${gallery.length} of ${enrolled.length}`);

// Live faces: each other photo at every size and condition.
const queries: { person: string; facePx: number; condition: CameraCondition; descriptor: Float32Array }[] = [];
const jobs = live.flatMap((image, i) => CROP_SIZES_PX.flatMap((cropPx) => CAMERA_CONDITIONS.map((condition) => ({ image, cropPx, condition, seed: i * 131 + cropPx }))));
let done = 0;
await inBatches(jobs, async ({ image, cropPx, condition, seed }) => {
  const frame = await tillCameraFrame(readFileSync(image.file), cropPx, condition, seed);
  const { faces } = await pool.analyzeBytes(frame, 'live', { describe: 'passing' });
  const face = faces.find((f) => f.descriptor);
  if (face?.descriptor) queries.push({ person: personKey(image), facePx: face.box.width, condition, descriptor: face.descriptor });
  if (++done % 50 === 0) progress(`live frames ${done} of ${jobs.length}`);
});
await pool.close();
process.stderr.write('\n');

const genuine = BUCKET_EDGES_PX.slice(1).map(() => [] as number[]);
const impostor = BUCKET_EDGES_PX.slice(1).map(() => [] as number[]);
for (const q of queries) {
  const b = BUCKET_EDGES_PX.findIndex((edge, k) => k + 1 < BUCKET_EDGES_PX.length && q.facePx >= edge && q.facePx < BUCKET_EDGES_PX[k + 1]!);
  if (b < 0) continue;
  for (const g of gallery) (g.person === q.person ? genuine[b]! : impostor[b]!).push(descriptorDistance(q.descriptor, g.descriptor));
}

const calibration: Calibration = {
  source: {
    command: 'npm run calibrate -- --write',
    sets: [
      `faces-bbt (test/fixtures/faces): ${countPeople(enrolled, 'bbt')} people`,
      `Face Research Lab London Set (DeBruine & Jones 2017, CC BY 4.0; test/fixtures/calibration): ${countPeople(enrolled, 'london')} people (the first ${HELD_OUT_FOR_TESTS} are held out for the tests)`,
    ],
    conditions: [...CAMERA_CONDITIONS],
    generatedAt: new Date().toISOString(),
  },
  buckets: genuine.map((g, b) => summarizeBucket(BUCKET_EDGES_PX[b]!, BUCKET_EDGES_PX[b + 1]!, g, impostor[b]!)),
};

const report = {
  enrolledFaces: gallery.length,
  liveFaces: queries.length,
  seconds: Math.round((Date.now() - started) / 1000),
  budget: { falseNamingPerVisit: settings.matching.falseNamingPerVisit, minNameableTrueAcceptRate: settings.matching.minNameableTrueAcceptRate },
  buckets: calibration.buckets.map((bucket, b) => ({
    facePx: `${bucket.facePxMin}–${bucket.facePxMax === 10_000 ? '∞' : bucket.facePxMax - 1}`,
    genuinePairs: bucket.genuine.pairs,
    impostorPairs: bucket.impostor.pairs,
    closestImpostor: bucket.impostor.min,
    genuineMedian: bucket.genuine.quantiles[10],
    before: { threshold: FIXED_THRESHOLD_BEFORE, ...rates(genuine[b]!, impostor[b]!, FIXED_THRESHOLD_BEFORE) },
    byMembers: MEMBER_COUNTS.map((members) => {
      const point = new OperatingPoint(calibration, settings.matching, () => members).buckets()[b]!;
      const measured = point.threshold === undefined ? { far: 0, tar: 0, falseAccepts: 0 } : rates(genuine[b]!, impostor[b]!, point.threshold);
      return { members, pairFarTarget: pairFalseAcceptRate(settings.matching.falseNamingPerVisit, members), threshold: point.threshold ?? null, ...measured };
    }),
  })),
};

if (opts.write) writeFileSync(CALIBRATION_FILE, `${JSON.stringify(calibration, null, 2)}\n`);
if (opts.json) {
  console.log(JSON.stringify({ ...report, wrote: opts.write ? CALIBRATION_FILE : null }));
} else {
  console.log(`${report.enrolledFaces} enrolled faces, ${report.liveFaces} live faces, ${report.seconds} s`);
  console.log('face px   genuine  impostor  closest  g-median | at 0.55: FAR      TAR   | members: threshold FAR TAR');
  for (const r of report.buckets) {
    const cells = r.byMembers.map((m) => `${m.members}: ${m.threshold ?? 'not named'} ${m.far.toExponential(1)} ${(m.tar * 100).toFixed(1)}%`).join(' | ');
    console.log(
      `${r.facePx.padEnd(9)} ${String(r.genuinePairs).padStart(7)} ${String(r.impostorPairs).padStart(9)}  ${r.closestImpostor.toFixed(3)}    ${r.genuineMedian?.toFixed(3)} | ${r.before.far.toExponential(1).padStart(8)} ${(r.before.tar * 100).toFixed(1).padStart(5)}% | ${cells}`,
    );
  }
  if (opts.write) console.log(`wrote ${CALIBRATION_FILE}`);
}
process.exit(0);

function countPeople(images: LabelledImage[], set: string): number {
  return new Set(images.filter((i) => i.set === set).map((i) => i.person)).size;
}

async function inBatches<T>(items: T[], run: (item: T) => Promise<void>, size = 8): Promise<void> {
  for (let i = 0; i < items.length; i += size) await Promise.all(items.slice(i, i + size).map(run));
}


function rates(genuine: number[], impostor: number[], threshold: number) {
  const falseAccepts = impostor.filter((d) => d <= threshold).length;
  return { far: impostor.length ? falseAccepts / impostor.length : 0, tar: genuine.length ? genuine.filter((d) => d <= threshold).length / genuine.length : 0, falseAccepts };
}
