/**
 * The till event contract: the names and payloads the service pushes to cashier screens over
 * Socket.IO (namespace `/till`, one room per lane). Both ends use these types; it imports only
 * types, from ledger modules that import nothing, so the till page's build compiles it too.
 */

import type { PaymentChannel } from '../ledger/paymentChannels.js';
import type { TierView } from '../ledger/types.js';

// The till page and the stages that build events take the tier view from the contract.
export type { TierView };

export const TILL_NAMESPACE = '/till';

/** Fields every till event carries. `eventId` lets the till drop a duplicate delivery. */
export interface TillEventBase {
  eventId: string;
  lane: string;
  /** ISO 8601 time the service produced the event. */
  at: string;
}

/** What a counter prompt is about; the names are a public contract. */
export const PROMPT_KINDS = ['birthday', 'dormant-welcome', 'near-tier', 'points-expiring', 'recharge-offer', 'coupon-available', 'referral', 'check-in'] as const;
export type PromptKind = (typeof PROMPT_KINDS)[number];

/**
 * Something the cashier can say or do for the member now, from a campaign rule: never private
 * data (no birth date, no phone). A prompt fires once per visit.
 */
export interface TillPrompt {
  kind: PromptKind;
  /** What the cashier says aloud, zh-CN, e.g. "73天未到店，送您¥10回归券". */
  message: string;
  /** The same in English, for the till's language switch. */
  messageEn: string;
  /** A coupon of the member's the cashier can apply to the order with one tap. */
  couponId?: string;
  /** The money the prompt is about, in fen: a coupon's amount off, the spend to the next tier, a recharge. */
  amountFen?: number;
}

export interface MemberRecognized extends TillEventBase {
  memberId: string;
  name: string;
  tier: TierView;
  points: number;
  /** Stored value in yuan. */
  balance: number;
  /** 0–1, from descriptor distance and agreement over frames. */
  confidence: number;
  /** URL of the member's enrolled thumbnail, when there is one. */
  thumbnailUrl?: string;
  /** Campaign prompts for this visit; empty when there are none or they were already shown this visit. */
  prompts: TillPrompt[];
}

export interface FaceUnknown extends TillEventBase {
  trackId: string;
}

export interface MemberLeft extends TillEventBase {
  trackId: string;
  memberId?: string;
}

export interface CameraStatus extends TillEventBase {
  state: 'starting' | 'running' | 'retrying' | 'stopped' | 'failed';
  detail?: string;
  framesIn: number;
  framesDropped: number;
}

/** The lane's code scanner: whether the cashier can rely on it, and what to do when not. */
export interface ScannerStatus extends TillEventBase {
  state: 'starting' | 'running' | 'retrying' | 'stopped' | 'failed';
  detail?: string;
}

export interface MemberDeleted extends TillEventBase {
  memberId: string;
}

/** What the lane scanner read — never the code itself: a payment code is a one-time bearer token. */
export interface ScanClassified extends TillEventBase {
  kind: 'payment' | 'member-qr' | 'phone' | 'rejected';
  channel?: PaymentChannel;
  /** For member-qr and a phone number that belongs to a member. */
  memberId?: string;
  name?: string;
  tier?: TierView;
  points?: number;
  balance?: number;
  /** For a rejected scan: what the cashier should do. */
  message?: string;
  /** For a member: campaign prompts for this visit (see MemberRecognized). */
  prompts?: TillPrompt[];
}

/** A first-time payer became a member (支付即会员), or a member's face was enrolled. */
export interface MemberEnrolled extends TillEventBase {
  memberId: string;
  name: string;
  tier: TierView;
  /** 'payment': created by a first payment; 'face': their face was enrolled with consent. */
  via: 'payment' | 'face';
}

export interface PaymentLinked extends TillEventBase {
  orderId: string;
  memberId: string;
  name: string;
  tier: TierView;
  /** Yuan paid. */
  amount: number;
  pointsEarned: number;
  points: number;
  balance: number;
  /** How the face at the scanner relates to the payer. */
  face: 'confirmed' | 'consent-requested' | 'enrolled' | 'no-link' | 'conflict';
  /** The coupon this payment used, when it used one. */
  coupon?: { couponId: string; title: string; discountYuan: number };
  /** What the payment earned from campaigns: a join gift, 满X送券, a referral reward, a recharge offer. */
  prompts: TillPrompt[];
}

export interface TierChanged extends TillEventBase {
  memberId: string;
  name: string;
  from: TierView;
  to: TierView;
}

/** The till asks the customer; the cashier records the answer with POST /api/lanes/:lane/consents/:requestId. */
export interface ConsentRequested extends TillEventBase {
  requestId: string;
  memberId: string;
  name: string;
  /** ISO time after which the captured face is discarded unanswered. */
  expiresAt: string;
}

/** Events from the service to a till; the till acknowledges each one through the callback. */
export interface TillServerToClientEvents {
  'member:recognized': (event: MemberRecognized, ack: () => void) => void;
  'face:unknown': (event: FaceUnknown, ack: () => void) => void;
  'member:left': (event: MemberLeft, ack: () => void) => void;
  'camera:status': (event: CameraStatus, ack: () => void) => void;
  'scanner:status': (event: ScannerStatus, ack: () => void) => void;
  'member:deleted': (event: MemberDeleted, ack: () => void) => void;
  'scan:classified': (event: ScanClassified, ack: () => void) => void;
  'member:enrolled': (event: MemberEnrolled, ack: () => void) => void;
  'payment:linked': (event: PaymentLinked, ack: () => void) => void;
  'tier:changed': (event: TierChanged, ack: () => void) => void;
  'consent:requested': (event: ConsentRequested, ack: () => void) => void;
}

export type TillEventName = keyof TillServerToClientEvents;

/**
 * Sent to each lane now and then without an acknowledgement. Socket.IO resumes a dropped till
 * only from the last unacknowledged packet it received, and every event above is acknowledged,
 * so without this mark a till would never be resumed. The till page needs no handler for it.
 */
export interface SessionMark {
  lane: string;
  at: string;
}

export interface TillSessionEvents {
  'session:mark': (mark: SessionMark) => void;
}

/** Everything a till socket can receive: the events above plus the session marks. */
export type TillSocketEvents = TillServerToClientEvents & TillSessionEvents;
export type TillEventPayload<E extends TillEventName> = Parameters<TillServerToClientEvents[E]>[0];

/** Nothing flows from till to service yet except acknowledgements. */
export type TillClientToServerEvents = Record<string, never>;

/** What a till sends in the Socket.IO handshake `auth` field. */
export interface TillHandshakeAuth {
  token: string;
  lane: string;
}
