import { UserError } from '../core/errors.js';
import type { ConsentMethod, FaceRecord, FaceSource, Member } from '../ledger/index.js';
import type { MemberStore } from '../ledger/index.js';
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

interface AcceptedFace {
  label: string;
  face: FaceObservation & { descriptor: Float32Array };
}

/**
 * Turns consented photos into enrolled faces: every photo passes the strict enrollment
 * gate, holds one clear face, and must not already belong to another member (one person as
 * two members would make both ambiguous forever). The database commits first, the
 * in-memory gallery follows, so a crash never leaves a gallery face without its row.
 */
export class Enrollment {
  constructor(
    private readonly deps: {
      analyzer: FaceAnalyzer;
      store: MemberStore;
      gallery: Gallery;
      policy: MatchPolicy;
    },
  ) {}

  /** New member with faces; nothing is written unless at least one face is accepted. */
  async enrollMember(input: {
    name: string;
    phone?: string | null;
    consent: FaceConsent;
    images: EnrollmentImage[];
    source: FaceSource;
    actor: string;
  }): Promise<EnrollmentResult> {
    if (input.images.length === 0) throw new UserError('Give at least one photo of the member\'s face.', 'no-images');
    const { accepted, rejected } = await this.screen(input.images, undefined);
    if (accepted.length === 0) {
      throw new UserError(
        `No usable face in the photos given (${rejected.map((r) => `${r.label}: ${r.message}`).join('; ')}). ` +
          'Take a sharp, well-lit, frontal photo with only the member in it.',
        'no-usable-face',
      );
    }
    const enrolled = this.deps.store.enrollMember({
      actor: input.actor,
      name: input.name,
      phone: input.phone ?? null,
      faceConsent: input.consent,
      faces: accepted.map(({ face }) => toNewFace(face, input.source)),
    });
    this.addToGallery(enrolled.member.id, enrolled.faces, accepted);
    return { member: enrolled.member, faces: enrolled.faces, rejected };
  }

  /** More faces for an existing member who has given (or now gives) face consent. */
  async addFaces(input: {
    memberId: string;
    consent?: FaceConsent;
    images: EnrollmentImage[];
    source: FaceSource;
    actor: string;
  }): Promise<EnrollmentResult> {
    const { store } = this.deps;
    const member = store.members.get(input.memberId);
    if (!member) throw new UserError(`No member ${input.memberId}.`, 'member-not-found');
    if (!input.consent && !store.consents.activeFaceConsent(member.id)) {
      throw new UserError(
        'This member has not consented to face recognition. Record their consent (method and staff) with the photo.',
        'consent-required',
      );
    }
    const { accepted, rejected } = await this.screen(input.images, member.id);
    if (accepted.length === 0) return { member, faces: [], rejected };
    const faces = store.inTransaction(() => {
      if (input.consent && !store.consents.activeFaceConsent(member.id)) {
        store.grantFaceConsent(member.id, input.consent, input.actor);
      }
      return accepted.map(({ face }) => store.enrollFace({ memberId: member.id, ...toNewFace(face, input.source) }, input.actor));
    });
    this.addToGallery(member.id, faces, accepted);
    return { member, faces, rejected };
  }

  deleteMember(memberId: string, actor: string): boolean {
    const result = this.deps.store.deleteMember(memberId, actor);
    this.deps.gallery.removeMember(memberId);
    return result.deleted;
  }

  deleteFace(faceId: string, actor: string): boolean {
    const deleted = this.deps.store.deleteFace(faceId, actor);
    this.deps.gallery.remove(faceId);
    return deleted;
  }

  withdrawFaceConsent(memberId: string, actor: string): number {
    const { deletedFaceIds } = this.deps.store.withdrawFaceConsent(memberId, actor);
    for (const faceId of deletedFaceIds) this.deps.gallery.remove(faceId);
    return deletedFaceIds.length;
  }

  private async screen(images: EnrollmentImage[], memberId: string | undefined) {
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
      return reject('low-quality', `The face is not good enough to enroll (${largest.quality.reasons.join(', ')}).`);
    }
    const match = decideMatch(this.deps.gallery.search(largest.descriptor), this.deps.policy);
    if (match.kind === 'member' && match.memberId !== memberId) {
      return reject('enrolled-as-other-member', `This face already belongs to member ${match.memberId}.`);
    }
    return { label: image.label, face: largest as AcceptedFace['face'] };
  }

  private addToGallery(memberId: string, records: FaceRecord[], accepted: AcceptedFace[]): void {
    records.forEach((record, i) => this.deps.gallery.add(record.id, memberId, accepted[i]!.face.descriptor));
  }
}

function area(face: FaceObservation): number {
  return face.box.width * face.box.height;
}

function toNewFace(face: FaceObservation & { descriptor: Float32Array }, source: FaceSource) {
  const { gate: _gate, passed: _passed, reasons: _reasons, ...quality } = face.quality;
  return { descriptor: face.descriptor, source, quality, detectionScore: face.score };
}
