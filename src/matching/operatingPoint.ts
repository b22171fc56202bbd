/**
 * Where the match threshold comes from: measured distances between descriptors of the same and
 * of different people, per face size (`npm run calibrate` writes them to
 * models/match-calibration.json), and a false-naming budget per visit. Pure: no I/O.
 *
 * A stranger at the till is compared with every enrolled member, so with N members the chance
 * that one of them falls under the threshold is about N times the per-pair false-accept rate:
 * the per-pair rate allowed is the per-visit budget divided over the gallery. Small faces give
 * closer impostors, so each face-size bucket gets its own threshold.
 */

/** Lower-tail levels of the different-person distances that a calibration keeps. */
export const IMPOSTOR_TAIL_LEVELS = [0.0001, 0.001, 0.01, 0.05, 0.1, 0.5] as const;
/** A threshold set by the closest different-person pair stays this far under it (the 4th decimal the thresholds are kept to). */
const CLOSEST_PAIR_CLEARANCE = 0.0001;
/** Same-person distances are kept at every 5 %, to read the share named at any threshold. */
const SAME_FACE_SHARE = 0.95;
const GENUINE_QUANTILE_STEP = 0.05;

export interface DistanceSummary {
  pairs: number;
  min: number;
  max: number;
}

export interface CalibrationBucket {
  /** Width of the detected face box, in pixels of the analyzed frame: facePxMin ≤ width < facePxMax. */
  facePxMin: number;
  facePxMax: number;
  /** Same person (another photo than the enrolled one): distances at 0 %, 5 %, …, 100 %. */
  genuine: DistanceSummary & { quantiles: number[] };
  /** Different people: the distance below which each IMPOSTOR_TAIL_LEVELS share of pairs falls. */
  impostor: DistanceSummary & { tail: number[] };
}

export interface Calibration {
  /** How the file was made and from which labelled sets, for the README and the admin page. */
  source: { command: string; sets: string[]; conditions: string[]; generatedAt: string };
  buckets: CalibrationBucket[];
}

/** A face-size bucket's operating point for the current gallery. */
export interface BucketOperatingPoint {
  facePxMin: number;
  facePxMax: number;
  /** Largest distance named as a member; undefined: faces this small are not named at all. */
  threshold: number | undefined;
  /** Per-pair false-accept rate the threshold is set for. */
  pairFalseAcceptRate: number;
  /** Share of members' faces of this size expected to be named at that threshold (calibration data). */
  expectedTrueAcceptRate: number;
}

export interface OperatingPointOptions {
  /** Chance a stranger's visit is named as some member (`matching.falseNamingPerVisit`). */
  falseNamingPerVisit: number;
  /** Below this expected share of members named, a face size casts no vote (`matching.minNameableTrueAcceptRate`). */
  minNameableTrueAcceptRate: number;
}

/** Sorted copy's value at quantile level q (nearest-rank on the linear scale). */
function quantile(sorted: Float64Array | number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const pos = q * (sorted.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.min(sorted.length - 1, lo + 1);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}

/** What a calibration keeps of one bucket's measured distances. */
export function summarizeBucket(facePxMin: number, facePxMax: number, genuine: number[], impostor: number[]): CalibrationBucket {
  const g = Float64Array.from(genuine).sort();
  const i = Float64Array.from(impostor).sort();
  const steps = Math.round(1 / GENUINE_QUANTILE_STEP);
  return {
    facePxMin,
    facePxMax,
    genuine: { pairs: g.length, min: g[0] ?? Number.NaN, max: g[g.length - 1] ?? Number.NaN, quantiles: Array.from({ length: steps + 1 }, (_, k) => round4(quantile(g, k / steps))) },
    impostor: { pairs: i.length, min: i[0] ?? Number.NaN, max: i[i.length - 1] ?? Number.NaN, tail: IMPOSTOR_TAIL_LEVELS.map((level) => round4(quantile(i, level))) },
  };
}

/**
 * The distance below which a share `rate` of different-person pairs falls. Within the measured
 * range it is read off the data; below it, the tail between the 1 % and 10 % points is
 * extended as a normal distribution's would be, and never above the closest pair measured.
 */
export function impostorDistanceAt(bucket: CalibrationBucket, rate: number): number {
  const { impostor } = bucket;
  const at = (level: number) => impostor.tail[IMPOSTOR_TAIL_LEVELS.indexOf(level as (typeof IMPOSTOR_TAIL_LEVELS)[number])]!;
  const measurable = impostor.pairs > 0 ? 10 / impostor.pairs : Infinity;
  if (rate >= 0.01) return interpolateTail(bucket, rate);
  const q01 = at(0.01);
  const sdPerZ = (at(0.1) - q01) / (normalQuantile(0.1) - normalQuantile(0.01));
  const extended = q01 + sdPerZ * (normalQuantile(rate) - normalQuantile(0.01));
  // Where there are enough pairs to see the rate, what was seen counts too; below that, the
  // threshold stays under the closest different-person pair ever measured.
  const seen = rate >= measurable ? interpolateTail(bucket, rate) : impostor.min - CLOSEST_PAIR_CLEARANCE;
  return Math.min(extended, seen);
}

function interpolateTail(bucket: CalibrationBucket, rate: number): number {
  const levels = IMPOSTOR_TAIL_LEVELS;
  const tail = bucket.impostor.tail;
  if (rate <= levels[0]) return tail[0]!;
  for (let k = 1; k < levels.length; k++) {
    if (rate <= levels[k]!) {
      // Interpolate on log(rate): tail levels are spaced by decades.
      const f = (Math.log(rate) - Math.log(levels[k - 1]!)) / (Math.log(levels[k]!) - Math.log(levels[k - 1]!));
      return tail[k - 1]! + f * (tail[k]! - tail[k - 1]!);
    }
  }
  return tail[tail.length - 1]!;
}

/** Share of same-person pairs at or under `threshold`, read off the bucket's quantiles. */
export function trueAcceptRateAt(bucket: CalibrationBucket, threshold: number): number {
  const q = bucket.genuine.quantiles;
  if (q.length === 0 || !(threshold >= q[0]!)) return 0;
  if (threshold >= q[q.length - 1]!) return 1;
  for (let k = 1; k < q.length; k++) {
    if (threshold < q[k]!) {
      const f = q[k]! > q[k - 1]! ? (threshold - q[k - 1]!) / (q[k]! - q[k - 1]!) : 0;
      return ((k - 1 + f) * GENUINE_QUANTILE_STEP);
    }
  }
  return 1;
}

/** Per-pair false-accept rate that keeps a stranger's visit under the budget with `members` enrolled. */
export function pairFalseAcceptRate(falseNamingPerVisit: number, members: number): number {
  const n = Math.max(1, members);
  return 1 - Math.pow(1 - falseNamingPerVisit, 1 / n);
}

/**
 * The match threshold per face size for the current gallery, recomputed only when the member
 * count changes. A face smaller than every bucket, or in a bucket where too few members would be
 * named to be worth a guess, is not named: the tracker waits for it to come closer.
 */
export class OperatingPoint {
  private cachedFor: number | undefined;
  private points: BucketOperatingPoint[] = [];

  constructor(
    private readonly calibration: Calibration,
    private readonly options: OperatingPointOptions,
    private readonly memberCount: () => number,
  ) {
    if (calibration.buckets.length === 0) throw new Error('the match calibration has no face-size buckets; run npm run calibrate -- --write');
  }

  /** Every bucket's operating point, smallest faces first. */
  buckets(): BucketOperatingPoint[] {
    const members = this.memberCount();
    if (this.cachedFor !== members) {
      const rate = pairFalseAcceptRate(this.options.falseNamingPerVisit, members);
      // Smaller faces give closer impostors: a bucket's threshold never exceeds a larger face's,
      // whatever a thinly sampled small bucket happens to show.
      const distances = this.calibration.buckets.map((bucket) => impostorDistanceAt(bucket, rate));
      for (let k = distances.length - 2; k >= 0; k--) distances[k] = Math.min(distances[k]!, distances[k + 1]!);
      this.points = this.calibration.buckets.map((bucket, k) => {
        const distance = distances[k]!;
        const tar = trueAcceptRateAt(bucket, distance);
        const nameable = tar >= this.options.minNameableTrueAcceptRate;
        return {
          facePxMin: bucket.facePxMin,
          facePxMax: bucket.facePxMax,
          threshold: nameable ? round4(distance) : undefined,
          pairFalseAcceptRate: rate,
          expectedTrueAcceptRate: nameable ? round4(tar) : 0,
        };
      });
      this.cachedFor = members;
    }
    return this.points;
  }

  /** The largest distance named for a face `facePx` wide; undefined when a face that small is not named. */
  thresholdFor(facePx: number): number | undefined {
    const points = this.buckets();
    const point = points.find((p) => facePx >= p.facePxMin && facePx < p.facePxMax) ?? (facePx >= points[points.length - 1]!.facePxMax ? points[points.length - 1] : undefined);
    return point?.threshold;
  }

  /**
   * How close a face must be to an enrolled one to be possibly the same person: the distance
   * within which 95 % of same-person pairs of that face size fell. Enrollment refuses a photo
   * this close to another member, since one person as two members is ambiguous forever; it is
   * looser than naming, where a stranger taken for a member is the worse mistake.
   */
  possiblySameFaceDistance(facePx: number): number {
    const buckets = this.calibration.buckets;
    const bucket = buckets.find((b) => facePx >= b.facePxMin && facePx < b.facePxMax) ?? (facePx < buckets[0]!.facePxMin ? buckets[0]! : buckets[buckets.length - 1]!);
    return bucket.genuine.quantiles[Math.round(SAME_FACE_SHARE / GENUINE_QUANTILE_STEP)]!;
  }

  /** The smallest face named at all, for the admin page and the log. */
  smallestNamedFacePx(): number | undefined {
    return this.buckets().find((p) => p.threshold !== undefined)?.facePxMin;
  }
}

/** Inverse of the standard normal CDF (Acklam's rational approximation, |error| < 1.2e-9). */
export function normalQuantile(p: number): number {
  if (!(p > 0 && p < 1)) throw new RangeError(`normalQuantile needs 0 < p < 1, got ${p}`);
  const a = [-39.69683028665376, 220.9460984245205, -275.9285104469687, 138.357751867269, -30.66479806614716, 2.506628277459239];
  const b = [-54.47609879822406, 161.5858368580409, -155.6989798598866, 66.80131188771972, -13.28068155288572];
  const c = [-0.007784894002430293, -0.3223964580411365, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783];
  const d = [0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416];
  const low = 0.02425;
  if (p < low) {
    const q = Math.sqrt(-2 * Math.log(p));
    return (((((c[0]! * q + c[1]!) * q + c[2]!) * q + c[3]!) * q + c[4]!) * q + c[5]!) / ((((d[0]! * q + d[1]!) * q + d[2]!) * q + d[3]!) * q + 1);
  }
  if (p > 1 - low) return -normalQuantile(1 - p);
  const q = p - 0.5;
  const r = q * q;
  return ((((((a[0]! * r + a[1]!) * r + a[2]!) * r + a[3]!) * r + a[4]!) * r + a[5]!) * q) / (((((b[0]! * r + b[1]!) * r + b[2]!) * r + b[3]!) * r + b[4]!) * r + 1);
}

function round4(v: number): number {
  return Math.round(v * 10_000) / 10_000;
}
