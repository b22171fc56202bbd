import { DESCRIPTOR_LENGTH } from '../vision/faceDescriptor.js';

/**
 * Squared Euclidean distance between the query and the descriptor stored at `offset`,
 * summed in float64 in index order. Every search path and the tests' reference use this
 * order, so equal inputs give bit-identical distances.
 */
export function exactSquaredDistance(data: Float32Array, offset: number, query: Float32Array): number {
  let sum = 0;
  for (let i = 0; i < DESCRIPTOR_LENGTH; i++) {
    const difference = data[offset + i]! - query[i]!;
    sum += difference * difference;
  }
  return sum;
}

/** Euclidean distance between two descriptors. */
export function descriptorDistance(a: Float32Array, b: Float32Array): number {
  return Math.sqrt(exactSquaredDistance(a, 0, b));
}

export interface RankedFace {
  faceId: string;
  memberId: string;
  squaredDistance: number;
}

/** Distance first; faceId breaks exact ties so the answer never depends on storage order. */
function precedes(squaredDistance: number, faceId: string, other: RankedFace): boolean {
  return squaredDistance < other.squaredDistance || (squaredDistance === other.squaredDistance && faceId < other.faceId);
}

/**
 * Keeps the nearest face and the nearest face of any other member, in one pass over
 * faces offered in any order. The margin of a match is measured against the second.
 */
export class NearestTwoMembers {
  best: RankedFace | undefined;
  secondBest: RankedFace | undefined;

  /**
   * Faces farther than this cannot change the answer (equal ones can, through the faceId
   * tie-break), so a full scan may skip offering them.
   */
  get admissionLimit(): number {
    return this.secondBest?.squaredDistance ?? Infinity;
  }

  offer(faceId: string, memberId: string, squaredDistance: number): void {
    const best = this.best;
    if (best === undefined || precedes(squaredDistance, faceId, best)) {
      if (best !== undefined && best.memberId !== memberId) this.secondBest = best;
      this.best = { faceId, memberId, squaredDistance };
      return;
    }
    if (memberId === best.memberId) return;
    const second = this.secondBest;
    if (second === undefined || precedes(squaredDistance, faceId, second)) {
      this.secondBest = { faceId, memberId, squaredDistance };
    }
  }
}
