import { UserError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { ChainApplyOutcome, ChainFeedEvent, Consent, FaceSource, MarketingPreferences, Member, MemberSource, MemberStore } from '../ledger/index.js';
import type { EnrollmentImage, EnrollmentResult, FaceConsent, Enrollment } from '../matching/enrollment.js';
import type { Gallery } from '../matching/gallery.js';
import { decideMatch, type MatchPolicy } from '../matching/matcher.js';
import type { TierView } from '../push/tillEvents.js';
import type { TillNotifier } from '../push/tillNotifier.js';

/** A member as the till shows them. */
export interface MemberView {
  memberId: string;
  name: string;
  tier: TierView;
  points: number;
  /** Stored value in yuan. */
  balance: number;
}

export interface MemberServiceDeps {
  store: MemberStore;
  gallery: Pick<Gallery, 'add' | 'remove' | 'removeMember' | 'search' | 'faces' | 'has'>;
  /** Checks photos before anything is written. */
  enrollment: Pick<Enrollment, 'screen'>;
  /** Whether a face is named as a member (confirmed visits keep only faces still named as theirs). */
  matchPolicy: MatchPolicy;
  /** Whether a face may already be another member's (enrollment refuses it then). */
  sameFacePolicy: MatchPolicy;
  till: TillNotifier;
  /** When a confirmed visit's face is kept as one more enrolled face (`matching` settings). */
  visitFaces: { facesPerMemberMax: number; facesTooAlikeDistance: number };
  /** The lanes stop naming a member whose faces are gone, from their next frame on. */
  forgetOnLanes: (memberId: string) => void;
  log: Logger;
}

export interface NewMemberInput {
  name: string;
  phone?: string | null;
  actor: string;
  /** How the member came to the shop, for the processing log. */
  source?: MemberSource;
}

/**
 * The one owner of members, faces and consent. Every change goes to the database first, then
 * the in-memory gallery and the lanes follow, then the tills are told — whoever asked: an admin
 * route, the command line, the checkout's face capture, the demo seeding, or another process
 * that wrote to the database (see followChangesByOthers). A crash between the steps never leaves
 * a gallery face without its row.
 */
export class MemberService {
  constructor(private readonly deps: MemberServiceDeps) {}

  view(memberId: string): MemberView | undefined {
    const { store } = this.deps;
    const member = store.members.get(memberId);
    if (!member) return undefined;
    const summary = store.membership.memberSummary(memberId);
    return { memberId, name: member.name, tier: summary.tier, points: summary.points, balance: summary.balanceYuan };
  }

  /** A member without a face (they can still be found by payment, member QR or phone). */
  createMember(input: NewMemberInput): Member {
    return this.deps.store.enrollMember({ actor: input.actor, name: input.name, phone: input.phone ?? null, source: input.source }).member;
  }

  /** A new member with faces; nothing is written unless at least one photo is accepted. */
  async enrollMember(input: NewMemberInput & { consent: FaceConsent; images: EnrollmentImage[]; source: FaceSource }): Promise<EnrollmentResult> {
    if (input.images.length === 0) throw new UserError("Give at least one photo of the member's face.", 'no-images');
    const { accepted, rejected } = await this.deps.enrollment.screen(input.images, undefined);
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
      faces: accepted.map(({ face }) => ({ ...face, source: input.source })),
    });
    enrolled.faces.forEach((record, i) => this.deps.gallery.add(record.id, enrolled.member.id, accepted[i]!.face.descriptor));
    return { member: enrolled.member, faces: enrolled.faces, rejected };
  }

  /** More faces for a member who has given (or now gives) face consent. */
  async addFaces(input: { memberId: string; consent?: FaceConsent; images: EnrollmentImage[]; source: FaceSource; actor: string }): Promise<EnrollmentResult> {
    const { store, gallery } = this.deps;
    const member = this.requireMember(input.memberId);
    if (!input.consent && !store.consents.activeFaceConsent(member.id)) {
      throw new UserError(
        'This member has not consented to face recognition. Record their consent (method and staff) with the photo.',
        'consent-required',
      );
    }
    const { accepted, rejected } = await this.deps.enrollment.screen(input.images, member.id);
    if (accepted.length === 0) return { member, faces: [], rejected };
    const faces = store.inTransaction(() => {
      if (input.consent && !store.consents.activeFaceConsent(member.id)) store.grantFaceConsent(member.id, input.consent, input.actor);
      return accepted.map(({ face }) => store.enrollFace({ memberId: member.id, ...face, source: input.source }, input.actor));
    });
    faces.forEach((record, i) => gallery.add(record.id, member.id, accepted[i]!.face.descriptor));
    return { member, faces, rejected };
  }

  /**
   * A face captured at the till, enrolled once the customer consented (or under signage
   * consent). Refused when the face already belongs to another member.
   */
  enrollCapturedFace(input: { memberId: string; descriptor: Float32Array; consent: FaceConsent & { lane: string }; actor: string }): string {
    const { store, gallery, sameFacePolicy } = this.deps;
    // The capture passed the enrollment gate, so it is a large face: the largest faces' bound applies.
    const match = decideMatch(gallery.search(input.descriptor), sameFacePolicy, Infinity);
    if (match.kind === 'member' && match.memberId !== input.memberId) {
      throw new UserError('This face already belongs to another member; nothing was enrolled. Check the member on the admin page.', 'enrolled-as-other-member');
    }
    const face = store.inTransaction(() => {
      if (!store.consents.activeFaceConsent(input.memberId)) store.grantFaceConsent(input.memberId, input.consent, input.actor);
      return store.enrollFace({ memberId: input.memberId, descriptor: input.descriptor, source: 'lane-capture', quality: null, detectionScore: null }, input.actor);
    });
    gallery.add(face.id, input.memberId, input.descriptor);
    const view = this.view(input.memberId)!;
    this.deps.till.toLane(input.consent.lane, 'member:enrolled', { memberId: view.memberId, name: view.name, tier: view.tier, via: 'face' });
    return face.id;
  }

  /**
   * A face seen at the till that a payment just confirmed (the face was named as the payer) is
   * kept as one more enrolled face — another day, light and angle than the enrollment photo —
   * while the member has fewer than `facesPerMemberMax` faces and consent to face recognition,
   * and only when it is still named as them at the strictest threshold and is no near-copy of a
   * face they have. Returns the new face id, or undefined when it was not kept.
   */
  addConfirmedVisitFace(input: { memberId: string; descriptor: Float32Array; lane: string }): string | undefined {
    const { store, gallery, matchPolicy, visitFaces } = this.deps;
    if (!store.consents.activeFaceConsent(input.memberId)) return undefined;
    if (store.faces.listForMember(input.memberId).length >= visitFaces.facesPerMemberMax) return undefined;
    const match = decideMatch(gallery.search(input.descriptor), matchPolicy, Infinity);
    if (match.kind !== 'member' || match.memberId !== input.memberId || match.distance < visitFaces.facesTooAlikeDistance) return undefined;
    const face = store.enrollFace({ memberId: input.memberId, descriptor: input.descriptor, source: 'lane-capture', quality: null, detectionScore: null }, `lane:${input.lane}`);
    gallery.add(face.id, input.memberId, input.descriptor);
    return face.id;
  }

  /** The customer said no at the till: the processing log keeps that they were asked; the face was never stored. */
  recordFaceConsentDeclined(input: { memberId: string; lane: string; actor: string }): void {
    this.deps.store.audit.record({ actor: input.actor, action: 'consent.decline', subject: input.memberId, details: { lane: input.lane } });
  }

  /** Erases the member with every face and consent; false when there was no such member. */
  /**
   * A member's marketing choices: opting out of marketing (no campaign rule fires, no message
   * goes out) and a birthday month-day given with their agreement (null forgets it). The
   * processing log records what changed, never the date itself.
   */
  setMarketingPreferences(
    memberId: string,
    change: { marketingOptOut?: boolean; birthday?: { monthDay: string } | null },
    actor: string,
  ): MarketingPreferences {
    const { store } = this.deps;
    return store.inTransaction(() => {
      this.requireMember(memberId);
      const now = Date.now();
      if (change.marketingOptOut !== undefined) store.campaigns.setMarketingOptOut(memberId, change.marketingOptOut, now);
      if (change.birthday !== undefined) store.campaigns.setBirthday(memberId, change.birthday && { monthDay: change.birthday.monthDay, agreedAtMs: now }, now);
      store.audit.record({
        actor,
        action: 'member.marketing',
        subject: memberId,
        details: {
          ...(change.marketingOptOut === undefined ? {} : { marketingOptOut: change.marketingOptOut }),
          ...(change.birthday === undefined ? {} : { birthday: change.birthday === null ? 'forgotten' : 'given with agreement' }),
        },
      });
      return store.campaigns.preferences(memberId)!;
    });
  }

  deleteMember(memberId: string, actor: string): boolean {
    const { deleted } = this.deps.store.deleteMember(memberId, actor);
    if (deleted) this.memberGone(memberId);
    return deleted;
  }

  /** Deletes one face of the member; false when the member has no such face. */
  deleteFace(memberId: string, faceId: string, actor: string): boolean {
    const face = this.deps.store.faces.get(faceId);
    if (!face || face.memberId !== memberId) return false;
    this.deps.store.deleteFace(faceId, actor);
    this.deps.gallery.remove(faceId);
    if (this.deps.store.faces.listForMember(memberId).length === 0) this.deps.forgetOnLanes(memberId);
    return true;
  }

  /** Withdrawing face consent deletes the member's faces at once; the member and their ledger stay. */
  withdrawFaceConsent(memberId: string, actor: string): number {
    this.requireMember(memberId);
    const { deletedFaceIds } = this.deps.store.withdrawFaceConsent(memberId, actor);
    for (const faceId of deletedFaceIds) this.deps.gallery.remove(faceId);
    this.deps.forgetOnLanes(memberId);
    return deletedFaceIds.length;
  }

  /**
   * Brings the gallery, the lanes and the tills in step with faces and members that another
   * process (the command line) added or erased: an erased person becomes a stranger at once,
   * a face enrolled from the command line is recognized without a restart.
   */
  followChangesByOthers(): { facesAdded: number; facesRemoved: number; membersErased: number } {
    const { store, gallery, log } = this.deps;
    const stored = new Map(store.faces.listIds().map((f) => [f.faceId, f.memberId]));
    const touched = new Set<string>();
    let facesRemoved = 0;
    for (const { faceId, memberId } of [...gallery.faces()]) {
      if (stored.get(faceId) === memberId) continue;
      gallery.remove(faceId);
      touched.add(memberId);
      facesRemoved++;
    }
    let facesAdded = 0;
    for (const faceId of stored.keys()) {
      if (gallery.has(faceId)) continue;
      const face = store.faces.load(faceId);
      if (!face) continue;
      gallery.add(face.faceId, face.memberId, face.descriptor);
      face.descriptor.fill(0);
      facesAdded++;
    }
    let membersErased = 0;
    for (const memberId of touched) {
      if (store.members.get(memberId)) {
        this.deps.forgetOnLanes(memberId);
      } else {
        this.memberGone(memberId);
        membersErased++;
      }
    }
    if (facesAdded + facesRemoved > 0) log.info({ facesAdded, facesRemoved, membersErased }, 'gallery follows member changes made by another process');
    return { facesAdded, facesRemoved, membersErased };
  }

  /**
   * The member agrees to be recognized by face at every branch (after this store's face
   * consent): their faces go to the other branches sealed with the chain face key.
   */
  grantChainFaceConsent(memberId: string, consent: FaceConsent, actor: string): { consent: Consent; sharedFaces: number } {
    this.requireMember(memberId);
    return this.deps.store.grantChainFaceConsent(memberId, consent, actor);
  }

  /**
   * Applies a page of the chain HQ's feed (other branches' members, entries and erasures) with
   * its cursor in one transaction; `perMember` runs in it for each member that changed. A
   * member erased at another branch leaves the gallery, the lanes and the tills here too.
   */
  applyChainFeed(events: readonly ChainFeedEvent[], cursor: string, perMember: (memberId: string) => void): ChainApplyOutcome {
    const outcome = this.deps.store.applyChainFeed(events, cursor, perMember);
    for (const face of outcome.facesAdded) {
      this.deps.gallery.add(face.faceId, face.memberId, face.descriptor);
      face.descriptor.fill(0);
    }
    for (const face of outcome.facesRemoved) this.deps.gallery.remove(face.faceId);
    for (const memberId of new Set(outcome.facesRemoved.map((f) => f.memberId))) this.deps.forgetOnLanes(memberId);
    for (const memberId of outcome.erased) this.memberGone(memberId);
    return outcome;
  }

  private memberGone(memberId: string): void {
    this.deps.gallery.removeMember(memberId);
    this.deps.forgetOnLanes(memberId);
    this.deps.till.toAllLanes('member:deleted', { memberId });
  }

  private requireMember(memberId: string): Member {
    const member = this.deps.store.members.get(memberId);
    if (!member) throw new UserError(`No member ${memberId}.`, 'member-not-found');
    return member;
  }
}
