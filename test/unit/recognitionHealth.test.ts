import { describe, expect, it } from 'vitest';
import type { FusionStats } from '../../src/fusion/fusionTypes.js';
import { OperatingPoint, summarizeBucket, type Calibration } from '../../src/matching/operatingPoint.js';
import { operatingPointView } from '../../src/services/recognitionHealth.js';

/** Evenly spread distances from `from` to `to`: enough to give a bucket a shape. */
const spread = (n: number, from: number, to: number) => Array.from({ length: n }, (_, i) => from + ((to - from) * i) / (n - 1));

const CALIBRATION: Calibration = {
  source: { command: 'npm run calibrate -- --write', sets: ['faces-bbt', 'faces-bbt at till size'], conditions: ['blur', 'dim'], generatedAt: '2026-11-27T10:00:00.000Z' },
  buckets: [
    // Small faces: members and strangers overlap so much that nobody would be named.
    summarizeBucket(48, 64, spread(200, 0.5, 0.9), spread(5000, 0.45, 1.1)),
    summarizeBucket(64, 10_000, spread(200, 0.2, 0.5), spread(5000, 0.6, 1.2)),
  ],
};

function stats(confirmed: number, memberHasFace: number): FusionStats {
  return {
    byKind: { 'link-face': 3, confirmed, conflict: 1, 'no-link': memberHasFace + 2 },
    noLinkByReason: { 'no-face': 1, ambiguous: 1, 'outside-window': 0, 'no-scan': 0, 'member-has-face': memberHasFace },
  };
}

describe('operating point view', () => {
  const members = 250;
  const point = new OperatingPoint(CALIBRATION, { falseNamingPerVisit: 0.0001, minNameableTrueAcceptRate: 0.5 }, () => members);
  const view = (fusion: FusionStats[]) =>
    operatingPointView({ operatingPoint: point, membersWithFaces: members, calibration: CALIBRATION.source, matching: { falseNamingPerVisit: 0.0001 }, fusion, sinceMs: Date.parse('2026-11-28T08:00:00Z') });

  it('shows each face size with its threshold, or null where faces that small are not named', () => {
    const v = view([]);
    expect(v.membersWithFaces).toBe(250);
    expect(v.falseNamingPerVisit).toBe(0.0001);
    expect(v.pairFalseAcceptRate).toBeCloseTo(0.0001 / 250, 9);
    expect(v.smallestNamedFacePx).toBe(64);
    expect(v.buckets).toEqual([
      { facePxMin: 48, facePxMax: 64, threshold: null, expectedTrueAcceptRate: 0 },
      { facePxMin: 64, facePxMax: 10_000, threshold: point.buckets()[1]!.threshold, expectedTrueAcceptRate: point.buckets()[1]!.expectedTrueAcceptRate },
    ]);
    expect(v.buckets[1]!.threshold).toEqual(expect.any(Number));
    expect(v.buckets[1]!.expectedTrueAcceptRate).toBeGreaterThanOrEqual(0.5);
    expect(v.calibration).toEqual({ sets: ['faces-bbt', 'faces-bbt at till size'], conditions: ['blur', 'dim'], generatedAt: '2026-11-27T10:00:00.000Z' });
    // Plain JSON: nothing undefined that the answer would silently drop.
    expect(JSON.parse(JSON.stringify(v))).toEqual(v);
  });

  it('has no share of unknown member visits before a member with a face has paid', () => {
    expect(view([]).memberVisitsUnknown).toEqual({ confirmed: 0, unknown: 0, share: null, since: '2026-11-28T08:00:00.000Z' });
    expect(view([stats(0, 0), stats(0, 0)]).memberVisitsUnknown.share).toBeNull();
  });

  it('counts, over every lane, members with a face named at the scanner and those left unknown', () => {
    const v = view([stats(5, 1), stats(2, 2)]);
    // Other outcomes (a new face linked, a conflict, no face or several faces) are not member visits seen by the camera.
    expect(v.memberVisitsUnknown).toMatchObject({ confirmed: 7, unknown: 3, share: 0.3 });
  });

  it('names nobody when no face size reaches the share of members worth a guess', () => {
    const none = new OperatingPoint({ ...CALIBRATION, buckets: [CALIBRATION.buckets[0]!] }, { falseNamingPerVisit: 0.0001, minNameableTrueAcceptRate: 0.5 }, () => members);
    const v = operatingPointView({ operatingPoint: none, membersWithFaces: members, calibration: CALIBRATION.source, matching: { falseNamingPerVisit: 0.0001 }, fusion: [], sinceMs: 0 });
    expect(v.smallestNamedFacePx).toBeNull();
    expect(v.buckets.map((b) => b.threshold)).toEqual([null]);
  });
});
