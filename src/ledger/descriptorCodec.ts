import { DESCRIPTOR_LENGTH, descriptorProblem } from '../vision/faceDescriptor.js';
import { LedgerError } from './ledgerErrors.js';

const DESCRIPTOR_BYTES = DESCRIPTOR_LENGTH * Float32Array.BYTES_PER_ELEMENT;

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

function assertDescriptor(descriptor: Float32Array): void {
  const problem = descriptorProblem(descriptor, 'The descriptor to store');
  if (problem !== undefined) throw new LedgerError('INVALID_INPUT', problem);
}
