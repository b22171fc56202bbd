import { expect } from 'vitest';
import { LedgerError } from '../../src/ledger/index.js';

/** The LedgerError `fn` throws, so a test can check its code and message; fails when it throws none. */
export function thrownBy(fn: () => unknown): LedgerError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(LedgerError);
    return err as LedgerError;
  }
  throw new Error('expected a LedgerError, nothing was thrown');
}
