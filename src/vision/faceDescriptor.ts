/** face-api's recognition net (dlib-style ResNet) describes a face with 128 floats. */
export const DESCRIPTOR_LENGTH = 128;

/** Throws an Error naming `what` unless `descriptor` is a finite 128-float Float32Array. */
export function assertValidDescriptor(descriptor: unknown, what: string): asserts descriptor is Float32Array {
  if (!(descriptor instanceof Float32Array)) {
    throw new Error(`${what} must be a Float32Array of ${DESCRIPTOR_LENGTH} numbers (face-api descriptor)`);
  }
  if (descriptor.length !== DESCRIPTOR_LENGTH) {
    throw new Error(`${what} has ${descriptor.length} numbers; a face descriptor has ${DESCRIPTOR_LENGTH}`);
  }
  for (let i = 0; i < DESCRIPTOR_LENGTH; i++) {
    if (!Number.isFinite(descriptor[i])) {
      throw new Error(`${what} holds a non-finite value (${descriptor[i]}) at index ${i}; re-extract the face`);
    }
  }
}
