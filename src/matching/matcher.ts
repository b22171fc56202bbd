import type { GallerySearch } from './gallery.js';

export interface MatchPolicy {
  /** Largest descriptor distance still accepted as the same person. */
  matchThreshold: number;
  /** Smallest lead the best member needs over the nearest other member. */
  matchMarginMin: number;
}

export type MatchDecision =
  | { kind: 'member'; memberId: string; faceId: string; distance: number; margin: number }
  | { kind: 'unknown'; reason: 'empty-gallery' | 'too-far' | 'ambiguous'; distance?: number; margin?: number };

/**
 * Names a member only on strong evidence: close enough AND clearly closer than anyone
 * else, because a wrong member's discount on screen is worse than no recognition.
 * The margin is Infinity when no other member is enrolled.
 */
export function decideMatch(search: GallerySearch, policy: MatchPolicy): MatchDecision {
  const { best, secondBest } = search;
  if (best === undefined) return { kind: 'unknown', reason: 'empty-gallery' };
  const margin = secondBest === undefined ? Infinity : secondBest.distance - best.distance;
  if (!(best.distance <= policy.matchThreshold)) {
    return { kind: 'unknown', reason: 'too-far', distance: best.distance, margin };
  }
  if (!(margin >= policy.matchMarginMin)) {
    return { kind: 'unknown', reason: 'ambiguous', distance: best.distance, margin };
  }
  return { kind: 'member', memberId: best.memberId, faceId: best.faceId, distance: best.distance, margin };
}
