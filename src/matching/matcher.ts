import type { GallerySearch } from './gallery.js';

export interface MatchPolicy {
  /**
   * Largest descriptor distance still named as the same person, for a face this many pixels
   * wide; undefined when a face that small is not named at all (see OperatingPoint).
   */
  thresholdFor(facePx: number): number | undefined;
  /** Smallest lead of the best member over the nearest other member. */
  matchMarginMin: number;
}

export type MatchDecision =
  | { kind: 'member'; memberId: string; faceId: string; distance: number; margin: number; threshold: number }
  | { kind: 'unknown'; reason: 'empty-gallery' | 'too-far' | 'ambiguous' | 'too-small'; distance?: number; margin?: number };

/**
 * Names a member only on strong evidence: close enough for a face of this size AND clearly
 * closer than anyone else, because a wrong member's discount on screen is worse than no
 * recognition. A face too small to name is 'too-small', which the tracker counts as no vote at
 * all. The margin is Infinity when no other member is enrolled.
 */
export function decideMatch(search: GallerySearch, policy: MatchPolicy, facePx: number): MatchDecision {
  const { best, secondBest } = search;
  if (best === undefined) return { kind: 'unknown', reason: 'empty-gallery' };
  const margin = secondBest === undefined ? Infinity : secondBest.distance - best.distance;
  const threshold = policy.thresholdFor(facePx);
  if (threshold === undefined) return { kind: 'unknown', reason: 'too-small', distance: best.distance, margin };
  if (!(best.distance <= threshold)) {
    return { kind: 'unknown', reason: 'too-far', distance: best.distance, margin };
  }
  if (!(margin >= policy.matchMarginMin)) {
    return { kind: 'unknown', reason: 'ambiguous', distance: best.distance, margin };
  }
  return { kind: 'member', memberId: best.memberId, faceId: best.faceId, distance: best.distance, margin, threshold };
}
