import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { decodeDescriptor, encodeDescriptor } from '../../src/ledger/descriptorCodec.js';
import { FaceCipher } from '../../src/ledger/faceCipher.js';
import { thrownBy } from '../support/ledgerErrors.js';

function randomDescriptor(): Float32Array {
  return Float32Array.from({ length: 128 }, () => Math.random() * 2 - 1);
}

describe('descriptor codec', () => {
  it('writes 128 little-endian float32 values and reads them back', () => {
    const descriptor = randomDescriptor();
    const bytes = encodeDescriptor(descriptor);
    expect(bytes).toHaveLength(512);
    expect(bytes.readFloatLE(4 * 5)).toBe(descriptor[5]);
    expect(decodeDescriptor(bytes)).toEqual(descriptor);
  });

  it('rejects wrong lengths and non-finite values', () => {
    expect(thrownBy(() => encodeDescriptor(new Float32Array(127))).code).toBe('INVALID_INPUT');
    const withNaN = randomDescriptor();
    withNaN[3] = Number.NaN;
    expect(thrownBy(() => encodeDescriptor(withNaN)).code).toBe('INVALID_INPUT');
  });
});

describe('FaceCipher', () => {
  const cipher = new FaceCipher(randomBytes(32));

  it('round-trips a descriptor and never emits its plaintext bytes', () => {
    const descriptor = randomDescriptor();
    const blob = cipher.seal('m_1', descriptor);
    const plain = encodeDescriptor(descriptor);
    for (let offset = 0; offset + 8 <= plain.length; offset += 8) {
      expect(blob.includes(plain.subarray(offset, offset + 8))).toBe(false);
    }
    expect(cipher.open('f_1', 'm_1', blob)).toEqual(descriptor);
  });

  it('uses a fresh IV for every blob', () => {
    const descriptor = randomDescriptor();
    const a = cipher.seal('m_1', descriptor);
    const b = cipher.seal('m_1', descriptor);
    expect(a.subarray(1, 13).equals(b.subarray(1, 13))).toBe(false);
    expect(a.equals(b)).toBe(false);
  });

  it('detects any flipped bit, a changed version byte, a different member or key', () => {
    const blob = cipher.seal('m_1', randomDescriptor());
    for (const index of [0, 1, 14, 40, blob.length - 1]) {
      const tampered = Buffer.from(blob);
      tampered[index]! ^= 0x01;
      const err = thrownBy(() => cipher.open('f_9', 'm_1', tampered));
      expect(err.code).toBe('FACE_DECRYPT_FAILED');
      expect(err.message).toContain('f_9');
    }
    expect(thrownBy(() => cipher.open('f_9', 'm_2', blob)).code).toBe('FACE_DECRYPT_FAILED');
    expect(thrownBy(() => new FaceCipher(randomBytes(32)).open('f_9', 'm_1', blob)).code).toBe('FACE_DECRYPT_FAILED');
    expect(thrownBy(() => cipher.open('f_9', 'm_1', blob.subarray(0, 20))).code).toBe('FACE_DECRYPT_FAILED');
  });

  it('refuses keys that are not 32 bytes', () => {
    expect(thrownBy(() => new FaceCipher(randomBytes(24))).code).toBe('FACE_KEY_INVALID');
  });
});
