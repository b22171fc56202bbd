import { LedgerError } from './ledgerErrors.js';

/** Length of a face-api descriptor; anything else came from a different model. */
export const DESCRIPTOR_LENGTH = 128;
export const DESCRIPTOR_BYTES = DESCRIPTOR_LENGTH * Float32Array.BYTES_PER_ELEMENT;

/** Serializes a descriptor as 128 little-endian float32 values, independent of host byte order. */
export function encodeDescriptor(descriptor: Float32Array): Buffer {
  assertDescriptor(descriptor);
  const bytes = Buffer.alloc(DESCRIPTOR_BYTES);
  descriptor.forEach((value, i) => bytes.writeFloatLE(value, i * Float32Array.BYTES_PER_ELEMENT));
  return bytes;
}

export function decodeDescriptor(bytes: Buffer): Float32Array {
  if (bytes.length !== DESCRIPTOR_BYTES) {
    throw new LedgerError(
      'INVALID_INPUT',
      `A stored descriptor has ${bytes.length} bytes, expected ${DESCRIPTOR_BYTES}`,
    );
  }
  const descriptor = new Float32Array(DESCRIPTOR_LENGTH);
  for (let i = 0; i < DESCRIPTOR_LENGTH; i++) {
    descriptor[i] = bytes.readFloatLE(i * Float32Array.BYTES_PER_ELEMENT);
  }
  return descriptor;
}

export function assertDescriptor(descriptor: Float32Array): void {
  if (!(descriptor instanceof Float32Array) || descriptor.length !== DESCRIPTOR_LENGTH) {
    throw new LedgerError(
      'INVALID_INPUT',
      `A face descriptor must be a Float32Array of ${DESCRIPTOR_LENGTH} values`,
    );
  }
  if (!descriptor.every(Number.isFinite)) {
    throw new LedgerError('INVALID_INPUT', 'A face descriptor contains NaN or infinite values');
  }
}
