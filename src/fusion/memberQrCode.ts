import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * The service's own member QR: `ML1.<memberId>.<expiry epoch seconds, base36>.<signature>`.
 *
 * It lets a member be recognised without a face or a phone number, so it must be
 * unforgeable (HMAC-SHA256 over everything before the signature, keyed with a secret that
 * never leaves the device) and short-lived (a screenshot passed around stops working once
 * the expiry passes). It is compact because a dense QR is slow to read on a phone screen
 * under till lighting. It is not one-time: within its lifetime the same code can be shown
 * twice, which is why the lifetime is short.
 */

export const MEMBER_QR_PREFIX = 'ML1';

// 16 of the 32 HMAC bytes: 128 bits is far beyond what can be guessed online at a till, and
// 22 base64url characters keep the QR small.
const SIGNATURE_BYTES = 16;
const SIGNATURE_CHARS = 22;
// A short secret would make the HMAC guessable offline from one scanned code.
const MIN_SECRET_BYTES = 16;

// Member ids are `m_` + hex today (ledger/ids.ts); the pattern also keeps `.` out so the
// four fields split unambiguously, and caps the length so the QR stays small.
const MEMBER_ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;
const EXPIRY_PATTERN = /^[0-9a-z]{1,11}$/;
const SIGNATURE_PATTERN = new RegExp(`^[A-Za-z0-9_-]{${SIGNATURE_CHARS}}$`);

export interface IssueMemberQrOptions {
  secret: Buffer;
  /** How long the code stays valid after issue. */
  ttlMs: number;
  /** Issue time, epoch milliseconds (injected so tests and callers share one clock). */
  nowMs: number;
}

export interface VerifyMemberQrOptions {
  secret: Buffer;
  nowMs: number;
}

export type MemberQrRejection = 'malformed' | 'bad-signature' | 'expired';

export type MemberQrVerification =
  | { ok: true; memberId: string; expiresAtMs: number }
  | { ok: false; reason: MemberQrRejection };

export function issueMemberQr(memberId: string, options: IssueMemberQrOptions): string {
  checkSecret(options.secret);
  if (!MEMBER_ID_PATTERN.test(memberId)) {
    throw new RangeError(`member id ${JSON.stringify(memberId)} cannot go into a member QR: use 1–64 letters, digits, _ or -`);
  }
  if (!Number.isFinite(options.ttlMs) || options.ttlMs < 1000) {
    throw new RangeError('member QR ttlMs must be at least 1000: the expiry has one-second resolution');
  }
  const expiryS = Math.floor((options.nowMs + options.ttlMs) / 1000);
  const body = `${MEMBER_QR_PREFIX}.${memberId}.${expiryS.toString(36)}`;
  return `${body}.${sign(body, options.secret).toString('base64url')}`;
}

/** True when the text claims to be a member QR, whether or not it is a valid one. */
export function looksLikeMemberQr(text: string): boolean {
  return text.startsWith(`${MEMBER_QR_PREFIX}.`);
}

export function verifyMemberQr(code: string, options: VerifyMemberQrOptions): MemberQrVerification {
  checkSecret(options.secret);
  const parts = code.split('.');
  if (parts.length !== 4) return { ok: false, reason: 'malformed' };
  const [prefix, memberId, expiry, signature] = parts as [string, string, string, string];
  if (
    prefix !== MEMBER_QR_PREFIX ||
    !MEMBER_ID_PATTERN.test(memberId) ||
    !EXPIRY_PATTERN.test(expiry) ||
    !SIGNATURE_PATTERN.test(signature)
  ) {
    return { ok: false, reason: 'malformed' };
  }
  const presented = Buffer.from(signature, 'base64url');
  // 22 base64url characters carry 132 bits; a code whose last 4 bits differ decodes to the
  // same bytes, so the text must round-trip or two spellings of one code would both pass.
  if (presented.length !== SIGNATURE_BYTES || presented.toString('base64url') !== signature) {
    return { ok: false, reason: 'malformed' };
  }
  const expected = sign(`${prefix}.${memberId}.${expiry}`, options.secret);
  // The signature is checked before the expiry so that "expired" is only ever said of a
  // code this service really issued.
  if (!timingSafeEqual(presented, expected)) return { ok: false, reason: 'bad-signature' };
  const expiresAtMs = parseInt(expiry, 36) * 1000;
  if (options.nowMs >= expiresAtMs) return { ok: false, reason: 'expired' };
  return { ok: true, memberId, expiresAtMs };
}

function sign(body: string, secret: Buffer): Buffer {
  return createHmac('sha256', secret).update(body, 'utf8').digest().subarray(0, SIGNATURE_BYTES);
}

function checkSecret(secret: Buffer): void {
  if (secret.length < MIN_SECRET_BYTES) {
    throw new RangeError(`the member QR secret must be at least ${MIN_SECRET_BYTES} random bytes`);
  }
}
