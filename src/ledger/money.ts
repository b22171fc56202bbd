import { LedgerError } from './ledgerErrors.js';

/** Integer fen (分): 1 yuan = 100 fen. Inside the ledger every amount of money is one of these. */
export type Fen = number;

const FEN_PER_YUAN = 100;
// Plain decimal with at most two places. Exponent forms and more places are refused rather
// than rounded: a rounded payment would silently disagree with the payment provider's record.
const YUAN_TEXT = /^(\d+)(?:\.(\d{1,2}))?$/;

export interface YuanToFenOptions {
  /** What the amount is, for the error message ("payment amount"). */
  label: string;
  maxFen: Fen;
  /** Zero is refused unless allowed (thresholds may be 0, money movements may not). */
  allowZero?: boolean;
}

/**
 * Converts a yuan amount as received in JSON (a number such as 19.9 or a string "19.90") to
 * integer fen without going through floating-point multiplication.
 */
export function yuanToFen(amountYuan: number | string, opts: YuanToFenOptions): Fen {
  const text = typeof amountYuan === 'number' ? numberText(amountYuan) : amountYuan.trim();
  const match = text === undefined ? null : YUAN_TEXT.exec(text);
  if (!match) {
    throw new LedgerError(
      'INVALID_INPUT',
      `The ${opts.label} must be a positive amount in yuan with at most 2 decimals (e.g. 19.90).`,
    );
  }
  const fen = Number(match[1]) * FEN_PER_YUAN + Number((match[2] ?? '').padEnd(2, '0'));
  if (!Number.isSafeInteger(fen) || fen > opts.maxFen) {
    throw new LedgerError(
      'INVALID_INPUT',
      `The ${opts.label} of ${text} yuan is above the configured maximum of ${fenToYuan(opts.maxFen)} yuan; ` +
        'check the amount, or raise the maximum in settings if the store really takes such amounts.',
    );
  }
  if (fen === 0 && !opts.allowZero) {
    throw new LedgerError('INVALID_INPUT', `The ${opts.label} must be more than 0 yuan.`);
  }
  return fen;
}

export function fenToYuan(fen: Fen): number {
  return fen / FEN_PER_YUAN;
}

function numberText(value: number): string | undefined {
  // String(1e21) is "1e+21" and String(-1) has a sign; both fail the pattern, as they should.
  return Number.isFinite(value) ? String(value) : undefined;
}
