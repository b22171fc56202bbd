/**
 * 1:N search speed: memberlens Gallery against face-api's FaceMatcher on the same synthetic
 * gallery, plus a check that every Gallery answer equals an exact brute-force float search.
 * Standalone: `npm run bench:search [-- sizes...]`, e.g. `npm run bench:search -- 10000 100000`.
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { DESCRIPTOR_LENGTH } from '../src/vision/faceDescriptor.js';
import { Gallery, type SearchKernel } from '../src/matching/gallery.js';
import { percentile, round3 } from './benchStats.js';

export interface SearchBenchResult {
  galleryFaces: number;
  members: number;
  kernel: SearchKernel;
  galleryBuildMs: number;
  galleryQueries: number;
  gallerySearchMedianMs: number;
  gallerySearchP95Ms: number;
  /** CPU time of the search thread: wall time inflated by other load on the machine is not. */
  gallerySearchMedianCpuMs: number;
  faceMatcherQueries: number;
  faceMatcherMedianMs: number;
  faceMatcherP95Ms: number;
  /** Set when FaceMatcher ran fewer queries than the Gallery, with the reason. */
  faceMatcherNote?: string;
  /** Queries whose Gallery best face equals the exact float search's. */
  top1Agreement: number;
  /** Queries whose Gallery second-best member face equals the exact float search's. */
  secondBestAgreement: number;
  /** Process-wide peak resident set size so far, in MiB. */
  peakRssMiB: number;
}

const FACES_PER_MEMBER = 5;
/** Shared component of all faces: face-api descriptors of different people are correlated. */
const FACE_SPACE_CENTRE_SIGMA = 0.124;
/** Per-person offset: different people end up about 0.8 apart. */
const PERSON_SIGMA = 0.043;
/** Per-image noise: photos of one person end up about 0.4 apart. */
const IMAGE_SIGMA = 0.025;
/** FaceMatcher needs over ten seconds per query at 1M faces. */
const FACE_MATCHER_SLOW_FACES = 500_000;
const FACE_MATCHER_SLOW_QUERIES = 3;
const FACE_MATCHER_MIN_QUERIES = 10;
const WARMUP_QUERIES = 3;
/** A share of queries come from strangers, as at a real till. */
const STRANGER_QUERY_SHARE = 0.2;

/** Seeded so runs are comparable; mulberry32 is enough for synthetic data. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

export function gaussian(random: () => number): number {
  // Box–Muller; 1 − u keeps the logarithm finite.
  return Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
}

export interface SyntheticFaces {
  /** Face i occupies floats [128·i, 128·i + 128). */
  descriptors: Float32Array;
  memberIdOf(face: number): string;
  faceIdOf(face: number): string;
  /** A fresh photo of member `member` (0-based), or of a stranger when undefined. */
  queryFor(member: number | undefined): Float32Array;
  members: number;
}

/**
 * Faces shaped like face-api descriptors (norm ≈ 1.4, values within about ±0.5): person
 * centres scattered around a common centre, a few noisy photos per person.
 */
export function syntheticFaces(faceCount: number, seed: number): SyntheticFaces {
  const random = seededRandom(seed);
  const faceSpaceCentre = new Float32Array(DESCRIPTOR_LENGTH);
  for (let i = 0; i < DESCRIPTOR_LENGTH; i++) faceSpaceCentre[i] = gaussian(random) * FACE_SPACE_CENTRE_SIGMA;
  const members = Math.ceil(faceCount / FACES_PER_MEMBER);
  const centres = new Float32Array(members * DESCRIPTOR_LENGTH);
  const personCentre = (target: Float32Array, offset: number): void => {
    for (let i = 0; i < DESCRIPTOR_LENGTH; i++) target[offset + i] = faceSpaceCentre[i]! + gaussian(random) * PERSON_SIGMA;
  };
  const photo = (target: Float32Array, offset: number, centre: Float32Array, centreOffset: number): void => {
    for (let i = 0; i < DESCRIPTOR_LENGTH; i++) target[offset + i] = centre[centreOffset + i]! + gaussian(random) * IMAGE_SIGMA;
  };
  for (let m = 0; m < members; m++) personCentre(centres, m * DESCRIPTOR_LENGTH);
  const descriptors = new Float32Array(faceCount * DESCRIPTOR_LENGTH);
  for (let f = 0; f < faceCount; f++) {
    photo(descriptors, f * DESCRIPTOR_LENGTH, centres, Math.floor(f / FACES_PER_MEMBER) * DESCRIPTOR_LENGTH);
  }
  return {
    descriptors,
    members,
    memberIdOf: (face) => `member-${Math.floor(face / FACES_PER_MEMBER)}`,
    faceIdOf: (face) => `face-${face}`,
    queryFor: (member) => {
      const query = new Float32Array(DESCRIPTOR_LENGTH);
      if (member === undefined) {
        const stranger = new Float32Array(DESCRIPTOR_LENGTH);
        personCentre(stranger, 0);
        photo(query, 0, stranger, 0);
      } else {
        photo(query, 0, centres, member * DESCRIPTOR_LENGTH);
      }
      return query;
    },
  };
}

/** Exact reference: every face, float64 sums in index order, ties to the smaller faceId. */
function bruteForce(faces: SyntheticFaces, faceCount: number, query: Float32Array): { best: number; second: number } {
  const data = faces.descriptors;
  let best = -1;
  let bestD2 = Infinity;
  const distances = new Float64Array(faceCount);
  for (let f = 0; f < faceCount; f++) {
    let sum = 0;
    const base = f * DESCRIPTOR_LENGTH;
    for (let i = 0; i < DESCRIPTOR_LENGTH; i++) {
      const difference = data[base + i]! - query[i]!;
      sum += difference * difference;
    }
    distances[f] = sum;
    if (sum < bestD2 || (sum === bestD2 && faces.faceIdOf(f) < faces.faceIdOf(best))) {
      bestD2 = sum;
      best = f;
    }
  }
  const bestMember = faces.memberIdOf(best);
  let second = -1;
  let secondD2 = Infinity;
  for (let f = 0; f < faceCount; f++) {
    const d2 = distances[f]!;
    if (d2 > secondD2 || faces.memberIdOf(f) === bestMember) continue;
    if (d2 < secondD2 || faces.faceIdOf(f) < faces.faceIdOf(second)) {
      secondD2 = d2;
      second = f;
    }
  }
  return { best, second };
}

function peakRssMiB(): number {
  // maxRSS is in KiB.
  return Math.round(process.resourceUsage().maxRSS / 1024);
}

interface FaceMatcherLike {
  findBestMatch(query: Float32Array): { label: string; distance: number };
}
type FaceMatcherFactory = (faces: SyntheticFaces, faceCount: number) => FaceMatcherLike;

async function loadFaceMatcherFactory(): Promise<FaceMatcherFactory> {
  // Loaded here, not at the top, so tests can import the data generator without TensorFlow.
  const tf = await import('@tensorflow/tfjs');
  const { setWasmPaths } = await import('@tensorflow/tfjs-backend-wasm');
  const require = createRequire(import.meta.url);
  const wasmDir = path.join(path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist') + path.sep;
  // false: paths are files on disk; true would make it fetch them as a URL prefix and fail.
  setWasmPaths(wasmDir, false);
  await tf.setBackend('wasm');
  await tf.ready();
  const faceapi = await import('@vladmandic/face-api/dist/face-api.node-wasm.js');
  return (faces, faceCount) => {
    const labelled: InstanceType<typeof faceapi.LabeledFaceDescriptors>[] = [];
    for (let first = 0; first < faceCount; first += FACES_PER_MEMBER) {
      const photos: Float32Array[] = [];
      for (let f = first; f < Math.min(faceCount, first + FACES_PER_MEMBER); f++) {
        photos.push(faces.descriptors.subarray(f * DESCRIPTOR_LENGTH, (f + 1) * DESCRIPTOR_LENGTH));
      }
      labelled.push(new faceapi.LabeledFaceDescriptors(faces.memberIdOf(first), photos));
    }
    return new faceapi.FaceMatcher(labelled);
  };
}

function timeMs(action: () => void): number {
  const start = performance.now();
  action();
  return performance.now() - start;
}

export async function benchSearch(sizes = [10_000, 100_000, 1_000_000], queries = 50): Promise<SearchBenchResult[]> {
  const makeFaceMatcher = await loadFaceMatcherFactory();
  const results: SearchBenchResult[] = [];
  for (const faceCount of sizes) {
    const faces = syntheticFaces(faceCount, faceCount);
    const queryRandom = seededRandom(faceCount + 1);
    const queryList: Float32Array[] = [];
    for (let q = 0; q < queries + WARMUP_QUERIES; q++) {
      const stranger = queryRandom() < STRANGER_QUERY_SHARE;
      queryList.push(faces.queryFor(stranger ? undefined : Math.floor(queryRandom() * faces.members)));
    }

    const gallery = await Gallery.create();
    const galleryBuildMs = timeMs(() => {
      for (let f = 0; f < faceCount; f++) {
        gallery.add(
          faces.faceIdOf(f),
          faces.memberIdOf(f),
          faces.descriptors.subarray(f * DESCRIPTOR_LENGTH, (f + 1) * DESCRIPTOR_LENGTH),
        );
      }
    });

    for (const query of queryList.slice(0, WARMUP_QUERIES)) gallery.search(query);
    const galleryMs: number[] = [];
    const galleryCpuMs: number[] = [];
    let top1Agreement = 0;
    let secondBestAgreement = 0;
    for (const query of queryList.slice(WARMUP_QUERIES)) {
      let found: ReturnType<Gallery['search']> = {};
      const cpuBefore = process.cpuUsage();
      galleryMs.push(timeMs(() => (found = gallery.search(query))));
      const cpu = process.cpuUsage(cpuBefore);
      galleryCpuMs.push((cpu.user + cpu.system) / 1000);
      const exact = bruteForce(faces, faceCount, query);
      if (found.best?.faceId === faces.faceIdOf(exact.best)) top1Agreement++;
      const exactSecond = exact.second < 0 ? undefined : faces.faceIdOf(exact.second);
      if (found.secondBest?.faceId === exactSecond) secondBestAgreement++;
    }

    const faceMatcher = makeFaceMatcher(faces, faceCount);
    const slow = faceCount >= FACE_MATCHER_SLOW_FACES;
    const faceMatcherQueries = slow ? FACE_MATCHER_SLOW_QUERIES : Math.max(FACE_MATCHER_MIN_QUERIES, Math.min(queries, 20));
    // A warm-up query is noise next to ten seconds per query, and costs another ten.
    if (!slow) faceMatcher.findBestMatch(queryList[0]!);
    const faceMatcherMs = queryList
      .slice(WARMUP_QUERIES, WARMUP_QUERIES + faceMatcherQueries)
      .map((query) => timeMs(() => faceMatcher.findBestMatch(query)))
      .sort((a, b) => a - b);
    galleryMs.sort((a, b) => a - b);
    galleryCpuMs.sort((a, b) => a - b);

    const result: SearchBenchResult = {
      galleryFaces: faceCount,
      members: faces.members,
      kernel: gallery.kernel,
      galleryBuildMs: Math.round(galleryBuildMs),
      galleryQueries: galleryMs.length,
      gallerySearchMedianMs: round3(percentile(galleryMs, 0.5)),
      gallerySearchP95Ms: round3(percentile(galleryMs, 0.95)),
      gallerySearchMedianCpuMs: round3(percentile(galleryCpuMs, 0.5)),
      faceMatcherQueries: faceMatcherMs.length,
      faceMatcherMedianMs: round3(percentile(faceMatcherMs, 0.5)),
      faceMatcherP95Ms: round3(percentile(faceMatcherMs, 0.95)),
      top1Agreement,
      secondBestAgreement,
      peakRssMiB: peakRssMiB(),
    };
    if (slow) {
      const seconds = Math.round(result.faceMatcherMedianMs / 100) / 10;
      result.faceMatcherNote = `only ${faceMatcherMs.length} FaceMatcher queries at this size (about ${seconds} s each)`;
    }
    results.push(result);
  }
  return results;
}

export function printSearchBench(results: SearchBenchResult[]): void {
  const rows = results.map((r) => ({
    faces: r.galleryFaces.toLocaleString('en-US'),
    kernel: r.kernel,
    'gallery median ms': r.gallerySearchMedianMs,
    'gallery p95 ms': r.gallerySearchP95Ms,
    'gallery median CPU ms': r.gallerySearchMedianCpuMs,
    'FaceMatcher median ms': r.faceMatcherMedianMs,
    'FaceMatcher p95 ms': r.faceMatcherP95Ms,
    'FaceMatcher queries': r.faceMatcherQueries,
    'top-1 exact': `${r.top1Agreement}/${r.galleryQueries}`,
    '2nd member exact': `${r.secondBestAgreement}/${r.galleryQueries}`,
    'peak RSS MiB': r.peakRssMiB,
  }));
  console.table(rows);
  for (const r of results) {
    if (r.faceMatcherNote !== undefined) console.log(`${r.galleryFaces.toLocaleString('en-US')} faces: ${r.faceMatcherNote}`);
  }
}

const invokedPath = process.argv[1];
if (invokedPath !== undefined && import.meta.url === pathToFileURL(invokedPath).href) {
  const sizes = process.argv.slice(2).map(Number).filter((n) => Number.isInteger(n) && n > 0);
  printSearchBench(await benchSearch(sizes.length > 0 ? sizes : undefined));
}
