import { createHmac, hkdfSync } from 'node:crypto';
import { LedgerError } from './ledgerErrors.js';
import { PAYMENT_CHANNELS, type PaymentChannel } from './paymentChannels.js';

const MIN_SECRET_BYTES = 32;
const MAX_FIELD_LENGTH = 128;
// An Alipay buyer_user_id (2088 + 12 digits) names the Alipay account itself, the same under
// every merchant app; newer Alipay open_ids and WeChat openids are only unique per app id.
const ALIPAY_USER_ID = /^2088\d{12}$/;
const PAYER_KEY_INFO = 'memberlens payer identity v1';

/**
 * Derives the payer-key secret from the face key, so a deployment has one secret to back up.
 * HKDF with its own label keeps the two uses independent: knowing payer keys tells nothing
 * about the AES key that protects faces.
 */
export function derivePayerKeySecret(faceKey: Buffer): Buffer {
  return Buffer.from(hkdfSync('sha256', faceKey, Buffer.alloc(0), PAYER_KEY_INFO, MIN_SECRET_BYTES));
}

/**
 * Turns (channel, app id, payer id) into the key the ledger stores instead of the payer id.
 * A keyed HMAC rather than a plain hash: payer ids come from a small, structured space
 * (2088 + 12 digits), so an unkeyed hash of a copied database could be reversed by trying them.
 */
export class PayerIdentity {
  readonly #secret: Buffer;

  constructor(secret: Buffer) {
    if (secret.length < MIN_SECRET_BYTES) {
      throw new LedgerError(
        'PAYER_SECRET_INVALID',
        `The payer-key secret must be at least ${MIN_SECRET_BYTES} bytes; derive it from the face key ` +
          'with derivePayerKeySecret() or generate one with `openssl rand -hex 32`.',
      );
    }
    this.#secret = Buffer.from(secret);
  }

  /** Hex HMAC-SHA256 of `channel \n scope \n payerId`; throws INVALID_INPUT on a malformed identity. */
  keyFor(channel: string, appId: string, payerId: string): string {
    const checkedChannel = checkChannel(channel);
    const id = checkField(payerId, 'payer id');
    const scope = checkedChannel === 'alipay' && ALIPAY_USER_ID.test(id) ? '' : checkField(appId, 'app id');
    return createHmac('sha256', this.#secret).update(`${checkedChannel}\n${scope}\n${id}`, 'utf8').digest('hex');
  }
}

export function checkChannel(channel: string): PaymentChannel {
  if (!(PAYMENT_CHANNELS as readonly string[]).includes(channel)) {
    throw new LedgerError('INVALID_INPUT', `Unknown payment channel; expected one of ${PAYMENT_CHANNELS.join(', ')}.`);
  }
  return channel as PaymentChannel;
}

function checkField(value: string, label: string): string {
  // No trimming or case folding: ids are opaque, and a normalized id could merge two payers.
  // The message never repeats the value, because callers log these errors.
  if (typeof value !== 'string' || value.length === 0 || value.length > MAX_FIELD_LENGTH || /[\s\u0000-\u001f]/.test(value)) {
    throw new LedgerError('INVALID_INPUT', `The ${label} must be 1 to ${MAX_FIELD_LENGTH} characters without spaces.`);
  }
  return value;
}
