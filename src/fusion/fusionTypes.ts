import type { PresentTrackWithFrames } from '../matching/trackerTypes.js';
import type { Box } from '../vision/visionTypes.js';

/** A rectangle in frame-relative units: 0–1 of the frame's width and height. */
export interface NormalizedRect {
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface FrameSize {
  widthPx: number;
  heightPx: number;
}

export interface LaneFusionOptions {
  /** Faces seen this long before or after a scan are candidates for the payer. */
  scanWindowMs: number;
  /** A payment pairs with a scan at most this long before it. */
  paymentWindowMs: number;
  /** The largest face must be at least this many times the next largest's area to win alone. */
  dominantAreaRatioMin: number;
  /** Detections a track needs before it may be linked, so a one-frame false detection never is. */
  minFramesSeen: number;
  /** Where the paying customer stands, relative to the frame; a face centred outside it is never the payer. */
  cashierZone: NormalizedRect;
}

/** The lane's tracker seen from fusion: tracks seen within `windowMs` before `nowMs`, never descriptors. */
export type TracksProvider = (nowMs: number, windowMs: number) => readonly PresentTrackWithFrames[];

export interface LaneFusionInit {
  /** From the `checkout` settings; their defaults live in the settings schema only. */
  options: LaneFusionOptions;
  tracksAt: TracksProvider;
  /** The camera's frame size; required when the cashier zone is not the whole frame. */
  frameSize?: FrameSize;
}

/**
 * What fusion keeps of a classified scan: the kind, for payment codes the channel, and for the
 * service's own member QR the member it names (a random id: a cash sale right after it is that
 * member's). A classifier result fits; whatever else it carries (a phone number) is not kept,
 * and the raw code never reaches this stage — a payment auth code is a one-time bearer token.
 */
export interface HeldScanClassification {
  kind: string;
  channel?: string;
  memberId?: string;
}

/** Who a cash customer is, when the lane can tell unambiguously. */
export type CashCustomer =
  | { kind: 'member'; memberId: string; via: 'member-qr' }
  | { kind: 'member'; memberId: string; via: 'face'; trackId: string }
  | { kind: 'none'; reason: 'no-face' | 'ambiguous' | 'unknown-face' };

export interface FusionScan {
  atMs: number;
  classification: HeldScanClassification;
}

export interface FusionPayment {
  orderId: string;
  atMs: number;
  memberId: string;
  /** The payer was unknown and has just become a member. */
  memberWasCreated: boolean;
  /** The member already has an enrolled face. */
  memberHasFace: boolean;
}

/** A face track as the attribution rule sees it. */
export type FusionCandidate = Pick<
  PresentTrackWithFrames,
  'trackId' | 'box' | 'boxAreaPx' | 'memberId' | 'framesSeen'
>;

export interface AttributionRule {
  dominantAreaRatioMin: number;
  minFramesSeen: number;
  /** The cashier zone in pixels; undefined means the whole frame. */
  cashierZonePx: Box | undefined;
}

export type AttributionFailure = 'no-face' | 'ambiguous';

export type Attribution = { kind: 'payer'; track: FusionCandidate } | { kind: 'none'; reason: AttributionFailure };

export type NoLinkReason = 'no-face' | 'ambiguous' | 'outside-window' | 'no-scan' | 'member-has-face';

export type FusionDecision =
  /** An unknown face paid for a member without a face: the caller runs the consent flow. */
  | { kind: 'link-face'; trackId: string; memberId: string }
  /** The face at the scanner was already named as the payer: the payment confirms who it is. */
  | { kind: 'confirmed'; trackId: string; memberId: string }
  /** The face matched one member while another paid: no merge, flagged for review. */
  | { kind: 'conflict'; trackId: string; faceMemberId: string; payerMemberId: string }
  | { kind: 'no-link'; reason: NoLinkReason };

export interface FusionStats {
  byKind: Record<FusionDecision['kind'], number>;
  noLinkByReason: Record<NoLinkReason, number>;
}
