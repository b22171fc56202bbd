import { LedgerError } from './ledgerErrors.js';

// Face descriptors are 128 numbers; shorter vectors (boxes, landmarks subsets, scores) are
// harmless, so the cut sits well below a descriptor and well above anything else we log.
const MAX_NUMBER_ARRAY_LENGTH = 63;

// Compared against key names lower-cased with '_' and '-' removed, as substrings, so
// `phoneNumber`, `payer_id` and `faceEmbedding` are all caught.
const FORBIDDEN_KEY_PARTS = ['descriptor', 'embedding', 'phone', 'payerid', 'buyeruserid'];

const MAINLAND_MOBILE = /(?<!\d)1[3-9]\d{9}(?!\d)/;

/**
 * Throws unless `value` is safe for the processing log, which must never hold biometric data,
 * phone numbers or payer ids (PIPL Art. 28; the log outlives the members it mentions).
 */
export function assertAuditSafe(value: unknown, path = 'details'): void {
  if (typeof value === 'string') {
    if (MAINLAND_MOBILE.test(value)) reject(path, 'contains what looks like a mobile number');
    return;
  }
  if (value === null || typeof value !== 'object') return;
  if (ArrayBuffer.isView(value) || value instanceof ArrayBuffer) {
    reject(path, 'is binary data or a typed array');
  }
  if (Array.isArray(value)) {
    const numbers = value.filter((item) => typeof item === 'number').length;
    if (numbers > MAX_NUMBER_ARRAY_LENGTH) reject(path, `is an array of ${numbers} numbers`);
    value.forEach((item, i) => assertAuditSafe(item, `${path}[${i}]`));
    return;
  }
  for (const [key, item] of Object.entries(value)) {
    const normalized = key.toLowerCase().replace(/[_-]/g, '');
    if (FORBIDDEN_KEY_PARTS.some((part) => normalized.includes(part))) {
      reject(`${path}.${key}`, 'has a name reserved for biometric data, phone numbers or payer ids');
    }
    assertAuditSafe(item, `${path}.${key}`);
  }
}

function reject(path: string, reason: string): never {
  throw new LedgerError(
    'AUDIT_DETAILS_REJECTED',
    `Audit entry rejected: ${path} ${reason}. The processing log must not hold face data, ` +
      'phone numbers or payer ids; log the member or face id instead.',
  );
}
