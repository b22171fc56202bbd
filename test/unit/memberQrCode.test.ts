import { describe, expect, it } from 'vitest';
import { issueMemberQr, looksLikeMemberQr, verifyMemberQr } from '../../src/fusion/memberQrCode.js';

const secret = Buffer.from('0123456789abcdef0123456789abcdef', 'utf8');
const otherSecret = Buffer.from('fedcba9876543210fedcba9876543210', 'utf8');
const T0 = Date.UTC(2025, 5, 1, 12, 0, 0);
const FIVE_MINUTES_MS = 5 * 60_000;

const issue = (memberId = 'm_0123456789abcdef') => issueMemberQr(memberId, { secret, ttlMs: FIVE_MINUTES_MS, nowMs: T0 });

describe('member QR code', () => {
  it('is ML1.<member>.<expiry s base36>.<22-char base64url signature>', () => {
    const code = issue();
    expect(code).toMatch(/^ML1\.m_0123456789abcdef\.[0-9a-z]+\.[A-Za-z0-9_-]{22}$/);
    const expiry = code.split('.')[2]!;
    expect(parseInt(expiry, 36) * 1000).toBe(T0 + FIVE_MINUTES_MS);
    expect(code.length).toBeLessThan(120);
    expect(looksLikeMemberQr(code)).toBe(true);
  });

  it('verifies to its member id until it expires', () => {
    const code = issue();
    expect(verifyMemberQr(code, { secret, nowMs: T0 })).toEqual({ ok: true, memberId: 'm_0123456789abcdef', expiresAtMs: T0 + FIVE_MINUTES_MS });
    expect(verifyMemberQr(code, { secret, nowMs: T0 + FIVE_MINUTES_MS - 1 })).toMatchObject({ ok: true });
    expect(verifyMemberQr(code, { secret, nowMs: T0 + FIVE_MINUTES_MS })).toEqual({ ok: false, reason: 'expired' });
    expect(verifyMemberQr(code, { secret, nowMs: T0 + 24 * 3600_000 })).toEqual({ ok: false, reason: 'expired' });
  });

  it('refuses a code signed with another secret, even an expired one, as a bad signature', () => {
    const foreign = issueMemberQr('m_0123456789abcdef', { secret: otherSecret, ttlMs: FIVE_MINUTES_MS, nowMs: T0 });
    expect(verifyMemberQr(foreign, { secret, nowMs: T0 })).toEqual({ ok: false, reason: 'bad-signature' });
    // "expired" would confirm the code as genuine; a forgery is reported as one whatever its date.
    expect(verifyMemberQr(foreign, { secret, nowMs: T0 + 3600_000 })).toEqual({ ok: false, reason: 'bad-signature' });
  });

  it('refuses a code whose member or expiry was changed after signing', () => {
    const [prefix, , expiry, signature] = issue().split('.') as [string, string, string, string];
    const otherMember = `${prefix}.m_fedcba9876543210.${expiry}.${signature}`;
    expect(verifyMemberQr(otherMember, { secret, nowMs: T0 })).toEqual({ ok: false, reason: 'bad-signature' });
    const later = (parseInt(expiry, 36) + 86_400).toString(36);
    const extended = `${prefix}.m_0123456789abcdef.${later}.${signature}`;
    expect(verifyMemberQr(extended, { secret, nowMs: T0 + FIVE_MINUTES_MS })).toEqual({ ok: false, reason: 'bad-signature' });
  });

  it('calls truncated, padded or re-spelled codes malformed', () => {
    const code = issue();
    const malformed = [
      code.slice(0, -1),
      code.slice(0, code.lastIndexOf('.')),
      `${code}.x`,
      `${code}=`,
      code.replace('ML1.', 'ML2.'),
      code.replace('ML1.', 'ml1.'),
      code.replace('m_0123456789abcdef', 'm_0123.456789abcdef'),
      code.replace('m_0123456789abcdef', ''),
      'ML1...',
      '',
    ];
    for (const text of malformed) expect(verifyMemberQr(text, { secret, nowMs: T0 }), text).toEqual({ ok: false, reason: 'malformed' });

    // The last of 22 base64url characters carries 2 signature bits and 4 unused ones; a
    // second spelling of the same bytes must not verify, or codes would not be unique.
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const last = code.at(-1)!;
    const sibling = alphabet[alphabet.indexOf(last) ^ 1]!;
    const respelled = code.slice(0, -1) + sibling;
    expect(Buffer.from(respelled.split('.')[3]!, 'base64url')).toEqual(Buffer.from(code.split('.')[3]!, 'base64url'));
    expect(verifyMemberQr(respelled, { secret, nowMs: T0 })).toEqual({ ok: false, reason: 'malformed' });
  });

  it('refuses to issue with a short secret, an unusable member id or a sub-second lifetime', () => {
    expect(() => issueMemberQr('m_1', { secret: Buffer.alloc(8), ttlMs: FIVE_MINUTES_MS, nowMs: T0 })).toThrow(/at least 16/);
    expect(() => verifyMemberQr(issue(), { secret: Buffer.alloc(8), nowMs: T0 })).toThrow(/at least 16/);
    expect(() => issueMemberQr('m.1', { secret, ttlMs: FIVE_MINUTES_MS, nowMs: T0 })).toThrow(/cannot go into a member QR/);
    expect(() => issueMemberQr('x'.repeat(65), { secret, ttlMs: FIVE_MINUTES_MS, nowMs: T0 })).toThrow(/cannot go into a member QR/);
    expect(() => issueMemberQr('m_1', { secret, ttlMs: 500, nowMs: T0 })).toThrow(/ttlMs/);
  });
});
