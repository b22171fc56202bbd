import { describe, expect, it } from 'vitest';
import { UserError } from '../../src/core/errors.js';
import { cleanFreeText, escapeControls, freeTextProblem } from '../../src/core/freeText.js';

const FORBIDDEN = [
  ...Array.from({ length: 0x20 }, (_, i) => i),
  ...Array.from({ length: 0x21 }, (_, i) => 0x7f + i),
  0x061c, 0x200e, 0x200f, 0x202a, 0x202b, 0x202c, 0x202d, 0x202e, 0x2066, 0x2067, 0x2068, 0x2069,
];

describe('free text', () => {
  it('refuses every control and bidi-control character, wherever it stands', () => {
    for (const code of FORBIDDEN) {
      const c = String.fromCodePoint(code);
      for (const text of [c, `a${c}`, `${c}a`, `周${c}艾米`]) {
        expect(freeTextProblem(text), `U+${code.toString(16)}`).toContain(`(U+${code.toString(16).toUpperCase().padStart(4, '0')}); remove it`);
      }
    }
    expect(freeTextProblem('\u0000')).toBe('contains a control character (U+0000); remove it and send plain text');
    expect(freeTextProblem('\u202e')).toBe('contains a bidirectional-control character (U+202E); remove it and send plain text');
  });

  it('accepts letters of any script, emoji and the characters next to the forbidden ranges', () => {
    for (const text of ['Amy', '周艾米', 'Zoë O\'Brien-Łukasz', 'محمد', 'שלום', '😀', ' ', '\u00a0', '\u200d', '\u2029', '\u2070', '\u202f', '\u061b']) {
      expect(freeTextProblem(text), JSON.stringify(text)).toBeUndefined();
    }
  });

  it('stores text trimmed and NFC-composed, and names the field when it refuses', () => {
    expect(cleanFreeText('  e\u0301  ', '--name')).toBe('\u00e9');
    expect(cleanFreeText('\u1100\u1161', '--name')).toBe('\uac00');
    expect(() => cleanFreeText('a\u0000b', '--label')).toThrow(UserError);
    expect(() => cleanFreeText('a\u0000b', '--label')).toThrow('--label contains a control character (U+0000); remove it and send plain text.');
  });

  it('writes forbidden characters out when quoting text back', () => {
    expect(escapeControls('No member a\u0000b\u202e.')).toBe('No member a\\u0000b\\u202e.');
    expect(escapeControls('周艾米')).toBe('周艾米');
  });
});
