import { describe, expect, it } from 'vitest';
import { issueMemberQr } from '../../src/fusion/memberQrCode.js';
import { classifyScan, type ScanClassification } from '../../src/fusion/scanClassifier.js';

const memberQrSecret = Buffer.from('an-example-secret-of-32-bytes-ok', 'utf8');
const NOW_MS = Date.UTC(2025, 5, 1, 12, 0, 0);
const classify = (raw: string, nowMs = NOW_MS): ScanClassification => classifyScan(raw, { memberQrSecret, nowMs });

describe('classifyScan: payment auth codes', () => {
  it.each([
    ['wechat', '101234567890123456'],
    ['wechat', '134567890123456789'],
    ['wechat', '151234567890123456'],
    ['alipay', '2512345678901234'], // 16 digits, the shortest
    ['alipay', '281234567890123456'], // 18 digits, WeChat's length with an Alipay prefix
    ['alipay', '29123456789012345678'],
    ['alipay', '301234567890123456789012'], // 24 digits, the longest
    ['unionpay', '6212345678901234567'],
    ['ecny', '0112345678901234567'],
  ] as const)('%s: %s', (channel, code) => {
    expect(classify(code)).toEqual({ kind: 'payment', channel });
  });

  it('accepts the padding a scanner or HTTP client adds around a code', () => {
    expect(classify('134567890123456789\r\n')).toEqual({ kind: 'payment', channel: 'wechat' });
    expect(classify('  6212345678901234567 ')).toEqual({ kind: 'payment', channel: 'unionpay' });
  });

  it('never returns the auth code itself, nor any long piece of it', () => {
    const codes = ['134567890123456789', '2812345678901234', '301234567890123456789012', '6212345678901234567', '0112345678901234567'];
    for (const code of codes) {
      const json = JSON.stringify(classify(code));
      expect(json).not.toContain(code);
      // No 6-digit window of the code appears either (a partial code still narrows a token).
      expect(json).not.toMatch(/\d{6}/);
    }
  });

  it('does not echo a near-miss payment code in its rejection either', () => {
    for (const code of ['13456789012345678', '1345678901234567890', '62123456789012345', '011234567890123456']) {
      const result = classify(code);
      expect(result.kind).toBe('rejected');
      expect(JSON.stringify(result)).not.toMatch(/\d{6}/);
    }
  });
});

describe('classifyScan: formats that look alike', () => {
  // Every prefix 00–99 at every length 8–26 against the four payment patterns and the phone
  // pattern, written out independently of the classifier: the table shows which shapes are
  // taken, and that no shape is claimed twice, so order among the checks cannot change a result.
  function expected(prefix: number, length: number): string {
    if (length === 18 && prefix >= 10 && prefix <= 15) return 'payment:wechat';
    if (length >= 16 && length <= 24 && prefix >= 25 && prefix <= 30) return 'payment:alipay';
    if (length === 19 && prefix === 62) return 'payment:unionpay';
    if (length === 19 && prefix === 1) return 'payment:ecny';
    if (length === 11 && prefix >= 13 && prefix <= 19) return 'phone';
    if (length === 13 && prefix === 86) return 'phone'; // 86 + a mobile starting with 1
    return 'rejected';
  }

  it('gives each all-digit shape exactly the kind the specification assigns', () => {
    const mismatches: string[] = [];
    for (let prefix = 0; prefix < 100; prefix += 1) {
      for (let length = 8; length <= 26; length += 1) {
        const head = prefix.toString().padStart(2, '0');
        // After "86", a "13" keeps a 13-digit sample a valid +86 mobile number.
        const rest = (head === '86' ? '13' : '') + '4829173650'.repeat(3);
        const code = (head + rest).slice(0, length);
        const result = classify(code);
        const got = result.kind === 'payment' ? `payment:${result.channel}` : result.kind;
        if (got !== expected(prefix, length)) mismatches.push(`${code} → ${got}`);
      }
    }
    expect(mismatches).toEqual([]);
  });

  it('keeps an 18-digit WeChat code that starts like a phone number a payment', () => {
    expect(classify('138123456781234567')).toEqual({ kind: 'payment', channel: 'wechat' });
    expect(classify('13812345678')).toEqual({ kind: 'phone', phone: '13812345678' });
  });

  it('never repairs a payment code with separators into a phone number or a payment', () => {
    expect(classify('1345 6789 0123 4567 89')).toMatchObject({ kind: 'rejected', reason: 'unknown-format' });
    expect(classify('6212-3456-7890-1234-567')).toMatchObject({ kind: 'rejected', reason: 'unknown-format' });
  });
});

describe('classifyScan: member QR', () => {
  const ttlMs = 5 * 60_000;

  it('names the member of a valid code', () => {
    const code = issueMemberQr('m_00ff00ff00ff00ff', { secret: memberQrSecret, ttlMs, nowMs: NOW_MS });
    expect(classify(code)).toEqual({ kind: 'member-qr', memberId: 'm_00ff00ff00ff00ff' });
  });

  it('tells the cashier why an expired, forged or damaged code is refused', () => {
    const code = issueMemberQr('m_00ff00ff00ff00ff', { secret: memberQrSecret, ttlMs, nowMs: NOW_MS });
    const forged = issueMemberQr('m_00ff00ff00ff00ff', { secret: Buffer.alloc(32, 7), ttlMs, nowMs: NOW_MS });
    expect(classify(code, NOW_MS + ttlMs)).toMatchObject({ kind: 'rejected', reason: 'member-qr-expired', message: expect.stringMatching(/expired.*refresh/i) });
    expect(classify(forged)).toMatchObject({ kind: 'rejected', reason: 'member-qr-bad-signature', message: expect.stringMatching(/not issued by this store/) });
    expect(classify(code.slice(0, -3))).toMatchObject({ kind: 'rejected', reason: 'member-qr-malformed', message: expect.stringMatching(/damaged or incomplete/) });
  });
});

describe('classifyScan: phone numbers', () => {
  it.each([
    ['13812345678'],
    ['19912345678'],
    ['+8613812345678'],
    ['+86 138 1234 5678'],
    ['+86-138-1234-5678'],
    ['0086 13812345678'],
    ['8613812345678'],
    ['138-1234-5678'],
  ])('%s', (input) => {
    expect(classify(input)).toEqual({ kind: 'phone', phone: input.includes('199') ? '19912345678' : '13812345678' });
  });

  it.each([['12812345678'], ['1381234567'], ['138123456789'], ['+85213812345678'], ['138.1234.5678']])('rejects %s', (input) => {
    expect(classify(input)).toMatchObject({ kind: 'rejected', reason: 'unknown-format' });
  });
});

describe('classifyScan: rejections', () => {
  it('explains empty, unknown and control-character scans', () => {
    expect(classify('')).toMatchObject({ kind: 'rejected', reason: 'empty', message: expect.stringMatching(/Nothing was read/) });
    expect(classify(' \r\n')).toMatchObject({ kind: 'rejected', reason: 'empty' });
    expect(classify('hello world')).toMatchObject({ kind: 'rejected', reason: 'unknown-format', message: expect.stringMatching(/not a WeChat Pay, Alipay/) });
    expect(classify('https://example.com/qr')).toMatchObject({ kind: 'rejected', reason: 'unknown-format' });
    for (const sneaky of ['1345678901\t23456789', '\u0002134567890123456789\u0003', '134567890\u200b123456789', '\u202e134567890123456789', '1345678901234567\u007f89']) {
      expect(classify(sneaky)).toMatchObject({ kind: 'rejected', reason: 'control-characters', message: expect.stringMatching(/prefix\/suffix/) });
    }
  });

  it('refuses input over the length cap before looking at it, a 10 MB string within milliseconds', () => {
    expect(classify('1'.repeat(513))).toMatchObject({ kind: 'rejected', reason: 'too-long' });
    expect(classifyScan('1'.repeat(100), { memberQrSecret, nowMs: NOW_MS, maxInputLength: 99 })).toMatchObject({ reason: 'too-long' });
    // Patterns that backtrack, or a trim of the whole string, would show up here.
    const huge = `${' '.repeat(5 * 1024 * 1024)}ML1.${'9'.repeat(5 * 1024 * 1024)}`;
    const started = performance.now();
    const result = classify(huge);
    const elapsedMs = performance.now() - started;
    expect(result).toMatchObject({ kind: 'rejected', reason: 'too-long' });
    expect(elapsedMs).toBeLessThan(20);
  });
});
