import type { FaceRepository } from '../ledger/index.js';
import { descriptorDistance } from '../matching/exactRanking.js';

/**
 * Why a member's enrolled faces may not get them named: none at all, one photo, or several
 * that are in effect one photo (the same picture uploaded twice). One view of a face misses
 * the member on a day with other light, glasses or angle, and the calibrated threshold does
 * not stretch to cover it.
 */
export type FaceCoverageWarning = 'no-face' | 'single-face' | 'faces-too-alike';

export interface FaceCoverage {
  faces: number;
  warning: FaceCoverageWarning | null;
  /** What to do about the warning, for the admin; null when there is nothing to do. */
  message: string | null;
}

const MESSAGES: Record<FaceCoverageWarning, string> = {
  'no-face': 'no face enrolled: this member is not named by face; enroll two or three photos from different days or angles',
  'single-face': 'one photo: add one or two more from another day or angle so the member is named reliably',
  'faces-too-alike': 'the enrolled faces are nearly the same photo: add one or two from another day or angle so the member is named reliably',
};

/** The coverage of a member's faces from their descriptors; pure, the descriptors are left as given. */
export function coverageOf(descriptors: readonly Float32Array[], facesTooAlikeDistance: number): FaceCoverage {
  const faces = descriptors.length;
  const warning: FaceCoverageWarning | null =
    faces === 0 ? 'no-face' : faces === 1 ? 'single-face' : largestDistance(descriptors) < facesTooAlikeDistance ? 'faces-too-alike' : null;
  return { faces, warning, message: warning === null ? null : MESSAGES[warning] };
}

export interface FaceCoverageServiceDeps {
  /** The ledger's faces: which a member has, and one decrypted descriptor at a time. */
  faces: Pick<FaceRepository, 'listForMember' | 'load'>;
  /** `matching.facesTooAlikeDistance`. */
  facesTooAlikeDistance: number;
}

/** Reads a member's enrolled faces to tell the admin whether they are enough to name the member. */
export class FaceCoverageService {
  constructor(private readonly deps: FaceCoverageServiceDeps) {}

  faceCoverage(memberId: string): FaceCoverage {
    const descriptors: Float32Array[] = [];
    try {
      for (const face of this.deps.faces.listForMember(memberId)) {
        // A face deleted since the list was read is simply not counted.
        const loaded = this.deps.faces.load(face.id);
        if (loaded) descriptors.push(loaded.descriptor);
      }
      return coverageOf(descriptors, this.deps.facesTooAlikeDistance);
    } finally {
      // Decrypted biometric data lives no longer than the answer needs it.
      for (const descriptor of descriptors) descriptor.fill(0);
    }
  }
}

/** The largest Euclidean distance between any two of the descriptors. */
function largestDistance(descriptors: readonly Float32Array[]): number {
  let largest = 0;
  for (let i = 0; i < descriptors.length; i++) {
    for (let j = i + 1; j < descriptors.length; j++) largest = Math.max(largest, descriptorDistance(descriptors[i]!, descriptors[j]!));
  }
  return largest;
}
