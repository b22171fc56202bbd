import { LedgerError } from './ledgerErrors.js';
import type { Fen } from './money.js';
import type { EpochMs } from './types.js';

export interface PointsRulesOptions {
  /** Points per yuan actually paid; a multiple of 0.01. */
  pointsPerYuan: number;
  /** Points expire this many days after the payment that earned them. */
  pointsExpiryDays: number;
}

export interface PointsRules {
  /** The earn rate scaled to an integer so earning is exact integer arithmetic. */
  pointsPerHundredYuan: number;
  expiryMs: number;
}

/** What is left of one earn entry, oldest first when handed to `planDraw`. */
export interface OpenLot {
  lotEntryId: number;
  remaining: number;
}

export interface LotDraw {
  lotEntryId: number;
  points: number;
}

const MS_PER_DAY = 86_400_000;
const FEN_PER_HUNDRED_YUAN = 10_000;
const MAX_POINTS_PER_YUAN = 100;
const MAX_EXPIRY_DAYS = 3_650;

export function compilePointsRules(opts: PointsRulesOptions): PointsRules {
  const rate = opts.pointsPerYuan;
  const perHundred = Math.round(rate * 100);
  if (!(rate >= 0 && rate <= MAX_POINTS_PER_YUAN) || Math.abs(perHundred - rate * 100) > 1e-6) {
    invalid(`pointsPerYuan must be from 0 to ${MAX_POINTS_PER_YUAN} in steps of 0.01.`);
  }
  const expiryDays = opts.pointsExpiryDays;
  if (!Number.isInteger(expiryDays) || expiryDays < 1 || expiryDays > MAX_EXPIRY_DAYS) {
    invalid(`pointsExpiryDays must be a whole number of days from 1 to ${MAX_EXPIRY_DAYS}.`);
  }
  return { pointsPerHundredYuan: perHundred, expiryMs: expiryDays * MS_PER_DAY };
}

/** Points for an amount paid; fractions of a point are dropped. */
export function pointsForFen(rules: PointsRules, fen: Fen): number {
  return Math.floor((fen * rules.pointsPerHundredYuan) / FEN_PER_HUNDRED_YUAN);
}

/** Lots earned at or before this moment have expired at `nowMs`. */
export function expiryCutoffMs(rules: PointsRules, nowMs: EpochMs): EpochMs {
  return nowMs - rules.expiryMs;
}

/**
 * Points to take back for one refund: the order keeps the share of its points that its
 * unrefunded amount stands for. Working from cumulative refunds makes the parts of a
 * refunded-in-pieces order add up to exactly the points it earned, with no rounding drift.
 * Uses the points the order actually earned, so a later change of earn rate does not matter.
 */
export function pointsToReverse(
  pointsEarned: number,
  paidFen: Fen,
  refundedBeforeFen: Fen,
  refundFen: Fen,
): number {
  const kept = (refundedFen: Fen): number => Math.floor((pointsEarned * (paidFen - refundedFen)) / paidFen);
  return kept(refundedBeforeFen) - kept(refundedBeforeFen + refundFen);
}

/**
 * Takes `points` from the lots in the order given (oldest first for FIFO). Returns what was
 * drawn; the caller decides whether drawing less than asked is an error.
 */
export function planDraw(lots: readonly OpenLot[], points: number): { draws: LotDraw[]; drawn: number } {
  const draws: LotDraw[] = [];
  let left = points;
  for (const lot of lots) {
    if (left === 0) break;
    const take = Math.min(lot.remaining, left);
    if (take > 0) draws.push({ lotEntryId: lot.lotEntryId, points: take });
    left -= take;
  }
  return { draws, drawn: points - left };
}

function invalid(message: string): never {
  throw new LedgerError('INVALID_INPUT', `Membership settings: ${message}`);
}
