import type { FusionStats } from '../fusion/fusionTypes.js';
import { pairFalseAcceptRate, type Calibration, type OperatingPoint } from '../matching/operatingPoint.js';
import type { OperatingPointView } from './operatingPointView.js';

export type { OperatingPointView };

export interface OperatingPointInput {
  operatingPoint: Pick<OperatingPoint, 'buckets' | 'smallestNamedFacePx'>;
  membersWithFaces: number;
  calibration: Calibration['source'];
  matching: { falseNamingPerVisit: number };
  /** Each lane's fusion counts. */
  fusion: readonly FusionStats[];
  /** When the service started: the fusion counts are since then. */
  sinceMs: number;
}

/** The operating point as the admin page shows it. Pure. */
export function operatingPointView(input: OperatingPointInput): OperatingPointView {
  const { operatingPoint, membersWithFaces, calibration, matching, fusion } = input;
  const buckets = operatingPoint.buckets();
  let confirmed = 0;
  let unknown = 0;
  for (const lane of fusion) {
    confirmed += lane.byKind.confirmed;
    // The one face at the scanner stayed unnamed although the payer has a face enrolled.
    unknown += lane.noLinkByReason['member-has-face'];
  }
  const visits = confirmed + unknown;
  return {
    membersWithFaces,
    falseNamingPerVisit: matching.falseNamingPerVisit,
    pairFalseAcceptRate: buckets[0]?.pairFalseAcceptRate ?? pairFalseAcceptRate(matching.falseNamingPerVisit, membersWithFaces),
    smallestNamedFacePx: operatingPoint.smallestNamedFacePx() ?? null,
    buckets: buckets.map((b) => ({
      facePxMin: b.facePxMin,
      facePxMax: b.facePxMax,
      threshold: b.threshold ?? null,
      expectedTrueAcceptRate: b.expectedTrueAcceptRate,
    })),
    memberVisitsUnknown: { confirmed, unknown, share: visits === 0 ? null : unknown / visits, since: new Date(input.sinceMs).toISOString() },
    calibration: { sets: [...calibration.sets], conditions: [...calibration.conditions], generatedAt: calibration.generatedAt },
  };
}
