import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { decodeDescriptor, encodeDescriptor } from './descriptorCodec.js';
import { LedgerError } from './ledgerErrors.js';

/** Bumped when the blob layout or algorithm changes, so old blobs stay readable. */
const BLOB_VERSION = 1;
const KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const HEADER_BYTES = 1 + IV_BYTES + TAG_BYTES;

/**
 * Encrypts face descriptors for storage with AES-256-GCM.
 * Blob layout: version (1 byte) | IV (12) | auth tag (16) | ciphertext.
 * The member id and version are authenticated, so a blob copied onto another member's row,
 * or a downgraded version byte, fails to decrypt instead of matching the wrong person.
 */
export class FaceCipher {
  readonly #key: Buffer;

  constructor(key: Buffer) {
    if (key.length !== KEY_BYTES) {
      throw new LedgerError('FACE_KEY_INVALID', `The face key must be ${KEY_BYTES} bytes, got ${key.length}`);
    }
    this.#key = Buffer.from(key);
  }

  seal(memberId: string, descriptor: Float32Array): Buffer {
    const plaintext = encodeDescriptor(descriptor);
    // A fresh random IV per blob: GCM loses confidentiality and integrity if an IV ever repeats.
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.#key, iv, { authTagLength: TAG_BYTES });
    cipher.setAAD(additionalData(BLOB_VERSION, memberId));
    const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
    plaintext.fill(0);
    return Buffer.concat([Buffer.from([BLOB_VERSION]), iv, cipher.getAuthTag(), ciphertext]);
  }

  open(faceId: string, memberId: string, blob: Buffer): Float32Array {
    const version = blob[0];
    if (blob.length <= HEADER_BYTES || version !== BLOB_VERSION) {
      throw decryptError(faceId, `unknown blob format (version ${String(version)}, ${blob.length} bytes)`);
    }
    const iv = blob.subarray(1, 1 + IV_BYTES);
    const tag = blob.subarray(1 + IV_BYTES, HEADER_BYTES);
    let plaintext: Buffer;
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.#key, iv, { authTagLength: TAG_BYTES });
      decipher.setAAD(additionalData(version, memberId));
      decipher.setAuthTag(tag);
      plaintext = Buffer.concat([decipher.update(blob.subarray(HEADER_BYTES)), decipher.final()]);
    } catch (err) {
      throw decryptError(faceId, 'authentication failed', err);
    }
    try {
      return decodeDescriptor(plaintext);
    } finally {
      plaintext.fill(0);
    }
  }
}

function additionalData(version: number, memberId: string): Buffer {
  return Buffer.concat([Buffer.from([version]), Buffer.from(memberId, 'utf8')]);
}

function decryptError(faceId: string, reason: string, cause?: unknown): LedgerError {
  return new LedgerError(
    'FACE_DECRYPT_FAILED',
    `Cannot decrypt face ${faceId}: ${reason}. Either the face key (MEMBERLENS_FACE_KEY or the ` +
      'key file) is not the one this database was written with, or the stored row was altered. ' +
      'Restore the original key; if the row itself is damaged, delete the face and enroll it again.',
    { cause },
  );
}
