/** Plain data returned by the ledger; nothing here depends on the database driver. */

/** Milliseconds since the Unix epoch, as stored in every `*_at_ms` column. */
export type EpochMs = number;

export interface Member {
  id: string;
  name: string;
  /** Mainland mobile number, 11 digits, or null when the member gave none. */
  phone: string | null;
  createdAtMs: EpochMs;
  updatedAtMs: EpochMs;
}

/** A member's tier as the tills show it (the till event contract uses this type too). */
export interface TierView {
  name: string;
  /** Price multiplier, e.g. 0.9 for 10 % off. */
  discountRate: number;
}

/**
 * How a member came to the shop, as the processing log's member.create entry says:
 * a first payment (支付即会员, written by the membership ledger), the admin page or API,
 * the command line's enroll, the demo seeding, or an import from the shop's previous system.
 */
export type MemberSource = 'payment' | 'admin' | 'cli' | 'demo' | 'import';

export type FaceSource = 'cli' | 'admin-upload' | 'lane-capture' | 'chain';

/** Quality measurements from the vision stage, stored as JSON and returned unchanged. */
export type FaceQuality = Record<string, unknown>;

/** A stored face without its descriptor: descriptors only leave the ledger via `loadAll`. */
export interface FaceRecord {
  id: string;
  memberId: string;
  source: FaceSource;
  quality: FaceQuality | null;
  detectionScore: number | null;
  createdAtMs: EpochMs;
}

export interface GalleryFace {
  faceId: string;
  memberId: string;
  descriptor: Float32Array;
}

/** face: this store may recognize the member's face; chain-face: every branch of the chain may (sent only encrypted with the chain face key). */
export type ConsentKind = 'face' | 'chain-face';

export type ConsentMethod = 'written' | 'verbal-at-till' | 'app' | 'signage';

export interface Consent {
  id: string;
  memberId: string;
  kind: ConsentKind;
  method: ConsentMethod;
  grantedAtMs: EpochMs;
  /** Till lane where consent was given, when it was given at a till. */
  lane: string | null;
  /** Staff member who recorded the consent. */
  staff: string | null;
  withdrawnAtMs: EpochMs | null;
}

export type AuditAction =
  | 'member.create'
  | 'member.delete'
  | 'face.enroll'
  | 'face.delete'
  | 'consent.grant'
  | 'consent.withdraw'
  | 'match'
  | 'export'
  // Membership ledger: amounts and member ids only, never payer ids.
  | 'payment'
  | 'refund'
  | 'recharge'
  | 'deduct'
  | 'points.redeem'
  // Campaigns: points a rule gave, an admin's coupon batch, saved rules, a member's marketing choices.
  | 'points.award'
  | 'coupon.batch'
  | 'campaign.rules'
  | 'member.marketing'
  // Checkout: a face that matched one member stood at the scanner while another paid.
  | 'review.flag'
  | 'consent.decline'
  // An admin token used over HTTP; written at most once per token per security.loginAuditWindowMs.
  | 'login'
  // Entries past security.auditRetentionDays about to be deleted: cutoff and count, written first.
  | 'audit.purge'
  // Members and balances brought from the shop's previous system (memberlens import).
  | 'import'
  // A message to a segment queued for the shop's SMS / WeChat provider: campaign, template, counts.
  | 'message.campaign';

export type AuditDetails = Record<string, unknown>;

export interface AuditEntry {
  id: number;
  atMs: EpochMs;
  /** Who acted: an admin user, a staff id, a lane (`lane:1`) or `system`. */
  actor: string;
  action: AuditAction;
  /** Member or face id the action concerned. */
  subject: string | null;
  details: AuditDetails | null;
}
