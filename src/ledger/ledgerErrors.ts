import { UserError } from '../core/errors.js';

/**
 * Errors thrown by the ledger. Each carries a stable `code` so the admin API can map it to a
 * status without parsing messages. Messages never contain phone numbers, names or face data,
 * because callers log them.
 */
export type LedgerErrorCode =
  | 'DATABASE_UNREADABLE'
  | 'DATABASE_TOO_NEW'
  | 'FACE_KEY_INVALID'
  | 'FACE_DECRYPT_FAILED'
  | 'CONSENT_REQUIRED'
  | 'MEMBER_NOT_FOUND'
  | 'PHONE_TAKEN'
  | 'INVALID_INPUT'
  | 'AUDIT_DETAILS_REJECTED'
  | 'BACKUP_INVALID'
  | 'MIGRATION_BACKUP_FAILED'
  | 'PAYER_SECRET_INVALID'
  | 'ORDER_CONFLICT'
  | 'ORDER_NOT_FOUND'
  | 'REFUND_CONFLICT'
  | 'REFUND_EXCEEDS_PAYMENT'
  | 'RECHARGE_CONFLICT'
  | 'INSUFFICIENT_BALANCE'
  | 'INSUFFICIENT_POINTS'
  | 'CONFIRMATION_REQUIRED'
  | 'CHAIN_STORE_MISMATCH'
  | 'CHAIN_NOT_JOINED'
  | 'CHAIN_LOT_UNKNOWN'
  | 'CHAIN_FACE_KEY_MISSING'
  | 'COUPON_NOT_FOUND'
  | 'COUPON_USED'
  | 'COUPON_EXPIRED'
  | 'COUPON_NOT_YET_VALID'
  | 'COUPON_OTHER_MEMBER'
  | 'COUPON_MIN_SPEND'
  | 'BATCH_CONFLICT'

  | 'OPENING_EXISTS';

export class LedgerError extends UserError {
  declare readonly code: LedgerErrorCode;
  override readonly name = 'LedgerError';

  constructor(code: LedgerErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, code);
    if (options?.cause !== undefined) this.cause = options.cause;
  }
}
