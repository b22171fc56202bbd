import { describe, expect, it } from 'vitest';
import type { GallerySearch } from '../../src/matching/gallery.js';
import { decideMatch } from '../../src/matching/matcher.js';

// Binary fractions, so boundary sums and differences are exact in float64.
const fixed = (threshold: number, matchMarginMin: number) => ({ thresholdFor: () => threshold, matchMarginMin });
const policy = fixed(0.5, 0.125);
const FACE_PX = 120;

function search(bestDistance: number, secondDistance?: number): GallerySearch {
  const result: GallerySearch = { best: { memberId: 'alice', faceId: 'alice-1', distance: bestDistance } };
  if (secondDistance !== undefined) result.secondBest = { memberId: 'bob', faceId: 'bob-1', distance: secondDistance };
  return result;
}

describe('decideMatch', () => {
  it('reports an empty gallery as unknown', () => {
    expect(decideMatch({}, policy, FACE_PX)).toEqual({ kind: 'unknown', reason: 'empty-gallery' });
  });

  it('accepts a clear match with its distance and margin', () => {
    expect(decideMatch(search(0.25, 0.75), policy, FACE_PX)).toEqual({
      kind: 'member',
      memberId: 'alice',
      faceId: 'alice-1',
      distance: 0.25,
      margin: 0.5,
      threshold: 0.5,
    });
  });

  it('accepts a distance exactly at the threshold', () => {
    expect(decideMatch(search(0.5, 1), policy, FACE_PX)).toMatchObject({ kind: 'member', distance: 0.5 });
  });

  it('rejects a distance just above the threshold as too far', () => {
    const justAbove = 0.5 + Number.EPSILON;
    expect(decideMatch(search(justAbove, 1), policy, FACE_PX)).toEqual({
      kind: 'unknown',
      reason: 'too-far',
      distance: justAbove,
      margin: 1 - justAbove,
    });
  });

  it('accepts a margin exactly at the minimum', () => {
    expect(decideMatch(search(0.375, 0.5), policy, FACE_PX)).toMatchObject({ kind: 'member', margin: 0.125 });
  });

  it('rejects a margin just below the minimum as ambiguous', () => {
    const second = 0.5 - 2 ** -20;
    expect(decideMatch(search(0.375, second), policy, FACE_PX)).toEqual({
      kind: 'unknown',
      reason: 'ambiguous',
      distance: 0.375,
      margin: second - 0.375,
    });
  });

  it('treats a tie between two members as ambiguous even at distance zero', () => {
    expect(decideMatch(search(0, 0), policy, FACE_PX)).toMatchObject({ kind: 'unknown', reason: 'ambiguous', margin: 0 });
  });

  it('gives an infinite margin when no other member is enrolled', () => {
    expect(decideMatch(search(0.25), policy, FACE_PX)).toEqual({
      kind: 'member',
      memberId: 'alice',
      faceId: 'alice-1',
      distance: 0.25,
      margin: Infinity,
      threshold: 0.5,
    });
  });

  it('says too-far rather than ambiguous when both fail', () => {
    expect(decideMatch(search(0.75, 0.8), policy, FACE_PX)).toMatchObject({ kind: 'unknown', reason: 'too-far' });
  });

  it('never matches a NaN distance', () => {
    expect(decideMatch(search(Number.NaN, 1), policy, FACE_PX)).toMatchObject({ kind: 'unknown', reason: 'too-far' });
  });

  it('follows the policy it is given', () => {
    const strict = fixed(0.25, 0.5);
    expect(decideMatch(search(0.375, 1), strict, FACE_PX)).toMatchObject({ reason: 'too-far' });
    expect(decideMatch(search(0.25, 0.5), strict, FACE_PX)).toMatchObject({ reason: 'ambiguous' });
    expect(decideMatch(search(0.25, 0.75), strict, FACE_PX)).toMatchObject({ kind: 'member' });
  });

  it('does not name a face the policy finds too small, whatever the distance', () => {
    const bySize = { thresholdFor: (px: number) => (px >= 64 ? 0.5 : undefined), matchMarginMin: 0.125 };
    expect(decideMatch(search(0.125, 1), bySize, 48)).toEqual({ kind: 'unknown', reason: 'too-small', distance: 0.125, margin: 0.875 });
    expect(decideMatch(search(0.125, 1), bySize, 64)).toMatchObject({ kind: 'member', threshold: 0.5 });
  });
});
