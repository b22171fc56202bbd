/**
 * The face descriptor the vision room produces and the matching and ledger rooms hold. It is
 * the face model's output, so its shape is defined here, beside the model; this module imports
 * nothing, so any room may use it without pulling in the engine.
 */

/** face-api's recognition net (dlib-style ResNet) describes a face with 128 floats. */
export const DESCRIPTOR_LENGTH = 128;

/**
 * Why `descriptor` is not a face descriptor (a Float32Array of 128 finite numbers), naming it
 * `what`; undefined when it is one. Each room throws its own kind of error with the answer.
 */
export function descriptorProblem(descriptor: unknown, what: string): string | undefined {
  if (!(descriptor instanceof Float32Array)) {
    return `${what} must be a Float32Array of ${DESCRIPTOR_LENGTH} numbers (face-api descriptor)`;
  }
  if (descriptor.length !== DESCRIPTOR_LENGTH) {
    return `${what} has ${descriptor.length} numbers; a face descriptor has ${DESCRIPTOR_LENGTH}`;
  }
  for (let i = 0; i < DESCRIPTOR_LENGTH; i++) {
    if (!Number.isFinite(descriptor[i])) {
      return `${what} holds a non-finite value (${descriptor[i]}) at index ${i}; re-extract the face`;
    }
  }
  return undefined;
}

/** Throws an Error naming `what` unless `descriptor` is a finite 128-float Float32Array. */
export function assertValidDescriptor(descriptor: unknown, what: string): asserts descriptor is Float32Array {
  const problem = descriptorProblem(descriptor, what);
  if (problem !== undefined) throw new Error(problem);
}
