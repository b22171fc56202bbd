import { UserError } from '../core/errors.js';
import type { ConsentMethod, FaceQuality as FaceQualityRecord, FaceRecord, Member } from '../ledger/index.js';
import type { FaceObservation } from '../vision/faceEngine.js';
import type { FaceAnalyzer } from '../vision/faceAnalyzer.js';
import type { Gallery } from './gallery.js';
import { decideMatch, type MatchPolicy } from './matcher.js';

export interface EnrollmentImage {
  /** How the caller names the image in answers (a file name, an upload field). */
  label: string;
  bytes: Uint8Array;
}

export interface FaceConsent {
  method: ConsentMethod;
  staff?: string | null;
  lane?: string | null;
}

export type EnrollmentRejection =
  | 'not-an-image'
  | 'no-face'
  | 'several-faces'
  | 'low-quality'
  | 'enrolled-as-other-member';

export interface RejectedImage {
  label: string;
  reason: EnrollmentRejection;
  /** A sentence the admin can act on. */
  message: string;
}

export interface EnrollmentResult {
  member: Member;
  faces: FaceRecord[];
  rejected: RejectedImage[];
}

/**
 * A second face at least this fraction of the largest face's area makes an enrollment
 * photo ambiguous: we cannot know which person consented.
 */
const SECOND_FACE_AREA_RATIO_MAX = 0.5;

/** A photo that passed: its face as the ledger stores it. */
export interface AcceptedFace {
  label: string;
  face: { descriptor: Float32Array; quality: FaceQualityRecord; detectionScore: number };
}

export interface Screening {
  accepted: AcceptedFace[];
  rejected: RejectedImage[];
}

/**
 * Decides which consented photos may be enrolled: every photo passes the strict enrollment
 * gate, holds one clear face, and must not already belong to another member (one person as
 * two members would make both ambiguous forever). Writes nothing; the member service enrolls
 * what this accepts.
 */
export class Enrollment {
  constructor(
    private readonly deps: {
      analyzer: FaceAnalyzer;
      gallery: Pick<Gallery, 'search'>;
      policy: MatchPolicy;
    },
  ) {}

  /** `memberId`: whose photos these are, for a member that exists; their own faces are no conflict. */
  async screen(images: EnrollmentImage[], memberId: string | undefined): Promise<Screening> {
    const accepted: AcceptedFace[] = [];
    const rejected: RejectedImage[] = [];
    for (const image of images) {
      const outcome = await this.screenOne(image, memberId);
      if ('reason' in outcome) rejected.push(outcome);
      else accepted.push(outcome);
    }
    return { accepted, rejected };
  }

  private async screenOne(image: EnrollmentImage, memberId: string | undefined): Promise<AcceptedFace | RejectedImage> {
    const reject = (reason: EnrollmentRejection, message: string): RejectedImage => ({ label: image.label, reason, message });
    let faces: FaceObservation[];
    try {
      faces = (await this.deps.analyzer.analyzeBytes(image.bytes, 'enroll', { describe: 'passing' })).faces;
    } catch (err) {
      if (err instanceof UserError) return reject('not-an-image', err.message);
      throw err;
    }
    const [largest, second] = faces;
    if (!largest) return reject('no-face', 'No face was found in the photo.');
    if (second && area(second) >= SECOND_FACE_AREA_RATIO_MAX * area(largest)) {
      return reject('several-faces', `${faces.length} faces of similar size; use a photo of the member alone.`);
    }
    if (!largest.quality.passed || !largest.descriptor) {
      const why = largest.quality.reasons.length > 0 ? largest.quality.reasons.join(', ') : 'no descriptor could be computed';
      return reject('low-quality', `The face is not good enough to enroll (${why}).`);
    }
    const match = decideMatch(this.deps.gallery.search(largest.descriptor), this.deps.policy, largest.box.width);
    if (match.kind === 'member' && match.memberId !== memberId) {
      return reject('enrolled-as-other-member', `This face already belongs to member ${match.memberId}.`);
    }
    const { gate: _gate, passed: _passed, reasons: _reasons, ...quality } = largest.quality;
    return { label: image.label, face: { descriptor: largest.descriptor, quality, detectionScore: largest.score } };
  }
}

function area(face: FaceObservation): number {
  return face.box.width * face.box.height;
}
