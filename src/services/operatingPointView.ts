// No imports: the admin page compiles against this file too (tsconfig.web.json).

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
