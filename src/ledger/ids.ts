import { randomBytes } from 'node:crypto';

// 64 random bits: unguessable enough that an id seen on a till screen reveals nothing about
// other members, and collisions stay negligible for a single store's member count.
const RANDOM_ID_BYTES = 8;

// The processing log refuses text that looks like a mainland mobile number, and about one hex
// id in 2,000 holds a run of 11 digits that does — which would fail that member's enrollment
// or first payment. Such draws are thrown away; the few bits of randomness lost do not matter.
const DIGIT_RUN = /\d{11}/;

function newId(prefix: string): string {
  for (;;) {
    const id = prefix + randomBytes(RANDOM_ID_BYTES).toString('hex');
    if (!DIGIT_RUN.test(id)) return id;
  }
}

export const newMemberId = (): string => newId('m_');
export const newFaceId = (): string => newId('f_');
export const newConsentId = (): string => newId('c_');
