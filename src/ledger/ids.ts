import { randomBytes } from 'node:crypto';

// 64 random bits: unguessable enough that an id seen on a till screen reveals nothing about
// other members, and collisions stay negligible for a single store's member count.
const RANDOM_ID_BYTES = 8;

function newId(prefix: string): string {
  return prefix + randomBytes(RANDOM_ID_BYTES).toString('hex');
}

export const newMemberId = (): string => newId('m_');
export const newFaceId = (): string => newId('f_');
export const newConsentId = (): string => newId('c_');
