import { describe, expect, it } from 'vitest';
import { assertAuditSafe } from '../../src/ledger/auditDetailsGuard.js';

const rejected = (value: unknown) => expect(() => assertAuditSafe(value)).toThrow(/Audit entry rejected/);
const accepted = (value: unknown) => expect(() => assertAuditSafe(value)).not.toThrow();

describe('audit details guard', () => {
  it('rejects number arrays of descriptor size anywhere in the details', () => {
    rejected({ vector: Array.from({ length: 64 }, (_, i) => i / 64) });
    rejected({ nested: { deeper: [Array.from({ length: 128 }, () => 0.5)] } });
    accepted({ box: [10, 20, 30, 40], scores: Array.from({ length: 63 }, () => 0.1) });
  });

  it('rejects typed arrays and buffers of any size', () => {
    rejected({ vector: new Float32Array(4) });
    rejected({ raw: Buffer.from('ab') });
  });

  it('rejects keys reserved for biometric data, phone numbers and payer ids', () => {
    for (const key of ['descriptor', 'embedding', 'faceEmbedding', 'phone', 'phoneNumber', 'payerId', 'payer_id', 'buyer_user_id']) {
      rejected({ [key]: 'x' });
      rejected({ outer: [{ [key]: null }] });
    }
  });

  it('rejects strings holding a mainland mobile number', () => {
    rejected({ note: 'customer 13912345678 asked' });
    rejected('13912345678');
    accepted({ note: 'order 2139123456789' });
  });

  it('accepts ordinary processing details', () => {
    accepted(null);
    accepted({ memberId: 'm_0123456789abcdef', lane: 'lane-2', confidence: 0.93, deletedFaceIds: ['f_1', 'f_2'] });
  });
});
