import type { FusionStats } from '../fusion/fusionTypes.js';
import { pairFalseAcceptRate, type Calibration, type OperatingPoint } from '../matching/operatingPoint.js';

/** `GET /api/recognition/operating-point`: what the match decisions hold to now, and how members fare. */
export interface OperatingPointView {
  /** Members with at least one enrolled face: the gallery a stranger is compared with. */
  membersWithFaces: number;
  /** `matching.falseNamingPerVisit`: chance that a stranger's visit is named as some member. */
  falseNamingPerVisit: number;
  /** Per-pair false-accept rate the thresholds are set for, at this member count. */
  pairFalseAcceptRate: number;
  /** Width in pixels of the smallest face named at all; null when no face size is named. */
  smallestNamedFacePx: number | null;
  /** Smallest faces first; threshold null: faces this size are not named. */
  buckets: { facePxMin: number; facePxMax: number; threshold: number | null; expectedTrueAcceptRate: number }[];
  /**
   * Payments since the service started by members who already have an enrolled face: named at
   * the scanner (`confirmed`), or standing there alone without being named (`unknown`).
   */
  memberVisitsUnknown: { confirmed: number; unknown: number; share: number | null; since: string };
  /** Where the thresholds come from (models/match-calibration.json). */
  calibration: { sets: string[]; conditions: string[]; generatedAt: string };
}

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
