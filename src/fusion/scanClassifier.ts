import { PAYMENT_CHANNELS, type PaymentChannel } from '../ledger/paymentChannels.js';
import { looksLikeMemberQr, verifyMemberQr, type MemberQrRejection } from './memberQrCode.js';

/**
 * What a code read at the lane scanner is. Pure: the caller passes the clock and the
 * member-QR secret.
 *
 * A payment auth code is a one-time bearer token that can charge the customer's wallet, so
 * the result of a payment scan names only its channel: nothing downstream (events, logs,
 * the database) can keep a code it was never given.
 *
 * Order of the checks, and why:
 * 1. Length, before any other work: input comes from an HTTP body or a misbehaving device,
 *    and a megabytes-long string must be turned away without being scanned character by
 *    character by several patterns.
 * 2. Invisible and control characters: a scanner whose prefix/suffix is misconfigured sends
 *    e.g. a Tab or an STX; telling the cashier that is more useful than "unknown".
 * 3. Payment codes, exact digits only. The four formats do not overlap: WeChat Pay is 18
 *    digits from 10–15, Alipay 16–24 digits from 25–30, UnionPay 19 digits from 62, e-CNY
 *    19 digits from 01. They run before the phone check because phone normalisation strips
 *    characters, and a payment code must never be "repaired" into something else.
 * 4. Member QR, recognised by its `ML1.` prefix, then verified.
 * 5. Phone numbers, last and most lenient: 11 digits from 13–19 (never the length of a
 *    payment code), after removing spaces, dashes and a +86/0086/86 country prefix.
 */

export type ScanRejectionReason =
  | 'empty'
  | 'too-long'
  | 'control-characters'
  | 'unknown-format'
  | `member-qr-${MemberQrRejection}`;

export type ScanClassification =
  | { kind: 'payment'; channel: PaymentChannel }
  | { kind: 'member-qr'; memberId: string }
  /** Normalised to the 11 national digits. */
  | { kind: 'phone'; phone: string }
  /** `reason` is stable for code; `message` is written for the cashier. */
  | { kind: 'rejected'; reason: ScanRejectionReason; message: string };

export interface ScanClassifierOptions {
  /** Key that signs this service's member QR codes (see memberQrCode.ts). */
  memberQrSecret: Buffer;
  /** Scan time, epoch milliseconds; member QR expiry is judged against it. */
  nowMs: number;
  /** Longest input looked at; the longest valid code (member QR) is under 120 characters. */
  maxInputLength?: number;
}

export const DEFAULT_MAX_SCAN_INPUT_LENGTH = 512;

// One pattern per channel: a channel added to PAYMENT_CHANNELS does not compile until it has one.
const PAYMENT_FORMATS: Readonly<Record<PaymentChannel, RegExp>> = {
  wechat: /^1[0-5]\d{16}$/,
  alipay: /^(?:2[5-9]|30)\d{14,22}$/,
  unionpay: /^62\d{17}$/,
  ecny: /^01\d{17}$/,
};

const MOBILE_PATTERN = /^1[3-9]\d{9}$/;
// Separators people and exports put inside phone numbers. Dots are left out on purpose:
// they are the member QR's field separator, and `138.1234.5678` is rarer than a typo.
const PHONE_SEPARATORS = /[ \-\u00a0]/g;
const COUNTRY_PREFIX = /^(?:\+86|0086|86)(?=\d{11}$)/;

// C0/C1 controls, DEL, zero-width and bidirectional marks, BOM: none belongs in a code and
// the bidi marks could make a code display differently from what it is.
const INVISIBLE_CHARACTERS = /[\u0000-\u001f\u007f-\u009f\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]/;

const MEMBER_QR_MESSAGES: Record<MemberQrRejection, string> = {
  expired: 'This member QR code has expired. Ask the member to refresh the code on their phone.',
  'bad-signature': 'This member QR code was not issued by this store. Ask for the member app code or a phone number.',
  malformed: 'This looks like a member QR code but is damaged or incomplete. Ask the member to show it again.',
};

export function classifyScan(raw: string, options: ScanClassifierOptions): ScanClassification {
  const maxInputLength = options.maxInputLength ?? DEFAULT_MAX_SCAN_INPUT_LENGTH;
  if (raw.length > maxInputLength) {
    return reject('too-long', `The scan is too long to be a payment, member or phone code (over ${maxInputLength} characters). Scan again.`);
  }
  // Scanners and HTTP clients often end a code with a newline or pad it with spaces.
  const text = raw.trim();
  if (text === '') return reject('empty', 'Nothing was read. Scan again.');
  if (INVISIBLE_CHARACTERS.test(text)) {
    return reject('control-characters', 'The scan contains hidden control characters. Check the scanner’s prefix/suffix settings, then scan again.');
  }

  for (const channel of PAYMENT_CHANNELS) {
    if (PAYMENT_FORMATS[channel].test(text)) return { kind: 'payment', channel };
  }

  if (looksLikeMemberQr(text)) {
    const verdict = verifyMemberQr(text, { secret: options.memberQrSecret, nowMs: options.nowMs });
    if (verdict.ok) return { kind: 'member-qr', memberId: verdict.memberId };
    return reject(`member-qr-${verdict.reason}`, MEMBER_QR_MESSAGES[verdict.reason]);
  }

  const phone = text.replace(PHONE_SEPARATORS, '').replace(COUNTRY_PREFIX, '');
  if (MOBILE_PATTERN.test(phone)) return { kind: 'phone', phone };

  return reject('unknown-format', 'This code is not a WeChat Pay, Alipay, UnionPay or e-CNY payment code, a member QR code or a mobile number.');
}

function reject(reason: ScanRejectionReason, message: string): ScanClassification {
  return { kind: 'rejected', reason, message };
}
