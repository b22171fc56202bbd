import { describe, expect, it } from 'vitest';
import {
  impostorDistanceAt,
  normalQuantile,
  OperatingPoint,
  pairFalseAcceptRate,
  summarizeBucket,
  trueAcceptRateAt,
  type Calibration,
} from '../../src/matching/operatingPoint.js';
import { gaussian } from '../../scripts/calibration/tillCamera.js';
import { settingsSchema } from '../../src/config/settingsSchema.js';
import { loadMatchCalibration } from '../../src/matching/matchCalibration.js';

/** Distances drawn from a normal distribution, as different people's roughly are. */
function normalDistances(n: number, mean: number, sd: number, seed: number): number[] {
  const z = gaussian(seed);
  return Array.from({ length: n }, () => mean + sd * z());
}

function calibrationOf(...buckets: Calibration['buckets']): Calibration {
  return { source: { command: 'test', sets: [], conditions: [], generatedAt: '2026-11-27T00:00:00Z' }, buckets };
}

const OPTIONS = { falseNamingPerVisit: 0.0001, minNameableTrueAcceptRate: 0.5 };

describe('operating point', () => {
  it('inverts the normal distribution', () => {
    expect(normalQuantile(0.5)).toBeCloseTo(0, 9);
    expect(normalQuantile(0.01)).toBeCloseTo(-2.326348, 5);
    expect(normalQuantile(1e-6)).toBeCloseTo(-4.753424, 5);
    expect(normalQuantile(0.975)).toBeCloseTo(1.959964, 5);
  });

  it('divides the per-visit budget over the members enrolled', () => {
    expect(pairFalseAcceptRate(0.0001, 1)).toBeCloseTo(0.0001, 12);
    expect(pairFalseAcceptRate(0.0001, 100)).toBeCloseTo(1e-6, 9);
    expect(pairFalseAcceptRate(0.0001, 0)).toBeCloseTo(0.0001, 12);
  });

  it('extends the impostor tail like a normal one, and never above the closest pair measured', () => {
    const impostor = normalDistances(50_000, 0.8, 0.08, 7);
    const bucket = summarizeBucket(64, 80, normalDistances(500, 0.4, 0.06, 3), impostor);
    // The true quantile of N(0.8, 0.08) at 1e-6 is 0.8 - 4.753 * 0.08 = 0.4197.
    expect(impostorDistanceAt(bucket, 1e-6)).toBeCloseTo(0.42, 1);
    expect(impostorDistanceAt(bucket, 1e-6)).toBeLessThanOrEqual(bucket.impostor.min);
    // Within the measured range, the measured share holds: at most that share of pairs is at or under it.
    const at = impostorDistanceAt(bucket, 0.001);
    expect(impostor.filter((d) => d <= at).length / impostor.length).toBeLessThanOrEqual(0.0011);
  });

  it('lowers the threshold as members are added, and stops naming a face size where too few members would be named', () => {
    const large = summarizeBucket(96, 10_000, normalDistances(400, 0.35, 0.05, 1), normalDistances(20_000, 0.85, 0.07, 2));
    const small = summarizeBucket(48, 64, normalDistances(400, 0.5, 0.07, 3), normalDistances(20_000, 0.75, 0.08, 4));
    let members = 1;
    const point = new OperatingPoint(calibrationOf(small, large), OPTIONS, () => members);
    const fewMembers = point.thresholdFor(200)!;
    members = 1000;
    const manyMembers = point.thresholdFor(200)!;
    expect(manyMembers).toBeLessThan(fewMembers);
    expect(point.thresholdFor(50)).toBeUndefined();
    expect(point.smallestNamedFacePx()).toBe(96);
    expect(point.thresholdFor(30)).toBeUndefined();
    const [smallPoint, largePoint] = point.buckets();
    expect(smallPoint!.expectedTrueAcceptRate).toBe(0);
    expect(largePoint!.expectedTrueAcceptRate).toBeGreaterThan(0.9);
    expect(largePoint!.expectedTrueAcceptRate).toBeCloseTo(trueAcceptRateAt(large, manyMembers), 3);
  });

  it('never gives a smaller face a looser threshold than a larger one, however thin its sample', () => {
    // A small bucket with few pairs that happen to lie far apart.
    const small = summarizeBucket(48, 64, normalDistances(50, 0.4, 0.05, 5), normalDistances(300, 0.95, 0.05, 6));
    const large = summarizeBucket(64, 10_000, normalDistances(400, 0.35, 0.05, 7), normalDistances(20_000, 0.8, 0.07, 8));
    const point = new OperatingPoint(calibrationOf(small, large), { ...OPTIONS, minNameableTrueAcceptRate: 0 }, () => 10);
    expect(point.thresholdFor(50)!).toBeLessThanOrEqual(point.thresholdFor(100)!);
  });

  it('on the shipped calibration, accepts at most 1 in 10,000 different-person pairs at every face size the live gate admits', () => {
    const calibration = loadMatchCalibration();
    const live = settingsSchema.parse({});
    expect(calibration.buckets[0]!.facePxMin).toBeLessThanOrEqual(live.vision.liveGate.minFaceSizePx);
    for (const members of [1, 20, 1000]) {
      const point = new OperatingPoint(calibration, live.matching, () => members);
      point.buckets().forEach((bucket, k) => {
        if (bucket.threshold === undefined) return;
        const measured = calibration.buckets[k]!;
        // tail[0] is the distance under which 0.01 % of the measured different-person pairs fall.
        expect(measured.impostor.pairs).toBeGreaterThan(1000);
        expect(bucket.threshold, `${bucket.facePxMin} px, ${members} members`).toBeLessThanOrEqual(measured.impostor.tail[0]!);
        expect(bucket.threshold).toBeLessThan(measured.impostor.min);
      });
    }
  });

  it('checks enrollment for another member\'s face with a looser bound than naming: where 95 % of same-person pairs fall', () => {
    const genuine = normalDistances(2000, 0.4, 0.05, 9);
    const bucket = summarizeBucket(48, 10_000, genuine, normalDistances(20_000, 0.8, 0.07, 10));
    const point = new OperatingPoint(calibrationOf(bucket), OPTIONS, () => 100);
    const sameFace = point.possiblySameFaceDistance(120);
    expect(genuine.filter((d) => d <= sameFace).length / genuine.length).toBeCloseTo(0.95, 2);
    expect(sameFace).toBeGreaterThan(point.thresholdFor(120)!);
  });
});
