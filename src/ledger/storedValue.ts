import { LedgerError } from './ledgerErrors.js';
import { yuanToFen, type Fen } from './money.js';

/** 充100送10 is `{ minYuan: 100, bonusYuan: 10 }`. */
export interface RechargeBonusRule {
  minYuan: number;
  bonusYuan: number;
}

export interface CompiledBonusRule {
  minFen: Fen;
  bonusFen: Fen;
}

export const DEDUCT_CONFIRMATION_METHODS = ['till-confirm', 'pin'] as const;
export type DeductConfirmationMethod = (typeof DEDUCT_CONFIRMATION_METHODS)[number];

/**
 * The member's consent to spend their stored value. The ledger records it; checking the PIN or
 * the tap on the customer-facing screen is the till's job, before it calls `deduct`.
 */
export interface DeductConfirmation {
  method: DeductConfirmationMethod;
  /** Staff member at the till when the member confirmed. */
  staff: string;
}

const MAX_STAFF_LENGTH = 100;

export function compileBonusRules(rules: readonly RechargeBonusRule[], maxFen: Fen): CompiledBonusRule[] {
  return rules.map((rule) => ({
    minFen: yuanToFen(rule.minYuan, { label: 'minYuan of a recharge bonus rule', maxFen }),
    bonusFen: yuanToFen(rule.bonusYuan, { label: 'bonusYuan of a recharge bonus rule', maxFen }),
  }));
}

/**
 * The one bonus that applies to a recharge: the largest among the rules the amount reaches.
 * Rules do not add up or repeat (recharging 200 under 充100送10 gives 10, not 20), because
 * stores list tiers of offers (充100送10, 充500送80) and mean only the best of them.
 */
export function rechargeBonusFen(rules: readonly CompiledBonusRule[], amountFen: Fen): Fen {
  return rules.reduce((best, rule) => (amountFen >= rule.minFen ? Math.max(best, rule.bonusFen) : best), 0);
}

export function checkDeductConfirmation(confirmation: DeductConfirmation | undefined | null): DeductConfirmation {
  if (!confirmation || !(DEDUCT_CONFIRMATION_METHODS as readonly string[]).includes(confirmation.method)) {
    throw new LedgerError(
      'CONFIRMATION_REQUIRED',
      'Stored value is only deducted with the member\'s confirmation: ask the member to confirm on the till ' +
        `(method ${DEDUCT_CONFIRMATION_METHODS.join(' or ')}) and send it with the staff id.`,
    );
  }
  const staff = typeof confirmation.staff === 'string' ? confirmation.staff.trim() : '';
  if (staff.length === 0 || staff.length > MAX_STAFF_LENGTH) {
    throw new LedgerError('CONFIRMATION_REQUIRED', 'A stored-value deduction needs the id of the staff member who took the confirmation.');
  }
  return { method: confirmation.method, staff };
}
