import { LedgerError } from './ledgerErrors.js';
import { yuanToFen, type Fen } from './money.js';
import type { EpochMs } from './types.js';

/** One tier as settings give it (`membership.tiers`), lowest first. */
export interface TierSetting {
  name: string;
  /** Price multiplier: 0.95 is 5% off. */
  discountRate: number;
  /** Spend within the tier window that reaches this tier. */
  minSpendYuan: number;
}

/** A single recharge of at least `minRechargeYuan` reaches `tier` at once (e.g. 1000 → 黄金). */
export interface RechargeTierRule {
  minRechargeYuan: number;
  tier: string;
}

export interface TierRulesOptions {
  tiers: readonly TierSetting[];
  rechargeTierRules: readonly RechargeTierRule[];
  /** Rolling window of spend (and of recharges) that qualifies for a tier. */
  tierWindowDays: number;
  /** How long a tier is kept once reached before it can drop. */
  tierPeriodDays: number;
}

export interface Tier {
  name: string;
  discountRate: number;
  minSpendFen: Fen;
  /** Position from the lowest (0, the base tier every new member starts in). */
  rank: number;
}

export interface TierRules {
  tiers: readonly Tier[];
  rechargeRules: ReadonlyArray<{ minRechargeFen: Fen; rank: number }>;
  windowMs: number;
  periodMs: number;
}

/** What qualifies a member for a tier right now; both sums come from ledger entries. */
export interface TierEvidence {
  spendInWindowFen: Fen;
  largestRechargeInWindowFen: Fen;
}

export interface TierState {
  rank: number;
  /** Until this moment the tier cannot drop, whatever the evidence says. */
  periodEndAtMs: EpochMs;
}

const MS_PER_DAY = 86_400_000;
const MAX_DAYS = 3_650;
// Thresholds are compared with sums of many payments, so they get their own, larger bound.
const MAX_THRESHOLD_FEN = 10_000_000_000;

export function compileTierRules(opts: TierRulesOptions): TierRules {
  if (opts.tiers.length === 0) invalid('At least one tier is needed; the first is the base tier for new members.');
  const tiers = opts.tiers.map((setting, rank): Tier => {
    if (!(setting.discountRate > 0 && setting.discountRate <= 1)) {
      invalid(`Tier ${setting.name}: discountRate must be above 0 and at most 1 (0.95 is 5% off).`);
    }
    const minSpendFen = yuanToFen(setting.minSpendYuan, {
      label: `minSpendYuan of tier ${setting.name}`,
      maxFen: MAX_THRESHOLD_FEN,
      allowZero: true,
    });
    return { name: setting.name, discountRate: setting.discountRate, minSpendFen, rank };
  });
  tiers.forEach((tier, i) => {
    const previous = tiers[i - 1];
    if (tiers.findIndex((t) => t.name === tier.name) !== i) invalid(`Tier name ${tier.name} appears twice.`);
    if (previous && tier.minSpendFen <= previous.minSpendFen) {
      invalid(`Tiers must be listed from lowest to highest minSpendYuan; ${tier.name} does not exceed ${previous.name}.`);
    }
  });
  const rechargeRules = opts.rechargeTierRules.map((rule) => {
    const rank = tiers.findIndex((t) => t.name === rule.tier);
    if (rank < 0) invalid(`rechargeTierRules names tier ${rule.tier}, which is not in the tier list.`);
    const minRechargeFen = yuanToFen(rule.minRechargeYuan, {
      label: 'minRechargeYuan of a recharge tier rule',
      maxFen: MAX_THRESHOLD_FEN,
    });
    return { minRechargeFen, rank };
  });
  return {
    tiers,
    rechargeRules,
    windowMs: days(opts.tierWindowDays, 'tierWindowDays') * MS_PER_DAY,
    periodMs: days(opts.tierPeriodDays, 'tierPeriodDays') * MS_PER_DAY,
  };
}

/** Entries with `at_ms` after this moment count towards the tier at `nowMs`. */
export function windowStartMs(rules: TierRules, nowMs: EpochMs): EpochMs {
  return nowMs - rules.windowMs;
}

/** The highest tier the evidence reaches, by spend or by a single recharge. */
export function qualifiedRank(rules: TierRules, evidence: TierEvidence): number {
  let rank = 0;
  for (const tier of rules.tiers) if (evidence.spendInWindowFen >= tier.minSpendFen) rank = Math.max(rank, tier.rank);
  for (const rule of rules.rechargeRules) {
    if (evidence.largestRechargeInWindowFen >= rule.minRechargeFen) rank = Math.max(rank, rule.rank);
  }
  return rank;
}

/**
 * After a payment, recharge or refund: a higher tier applies at once and starts a new period;
 * nothing ever lowers a tier here. A refund that takes a member back under a threshold
 * therefore leaves the tier in place until the period ends — the member was promised the tier
 * for the period, and a downgrade at the till for a returned item reads as a penalty. The cost
 * is that spend-then-refund buys at most one period of a tier; `atPeriodEnd` settles it.
 */
export function onActivity(rules: TierRules, state: TierState, qualified: number, nowMs: EpochMs): TierState {
  if (qualified > state.rank) return { rank: qualified, periodEndAtMs: nowMs + rules.periodMs };
  return state;
}

/**
 * The daily check: once a period has ended the tier becomes whatever the evidence reaches now
 * (down, same or up) and a new period starts where the old one ended, so calling this late or
 * twice a day does not shift anyone's periods. Before the end it only upgrades.
 */
export function atPeriodEnd(rules: TierRules, state: TierState, qualified: number, nowMs: EpochMs): TierState {
  if (nowMs < state.periodEndAtMs) return onActivity(rules, state, qualified, nowMs);
  if (qualified > state.rank) return { rank: qualified, periodEndAtMs: nowMs + rules.periodMs };
  const periodsPassed = Math.floor((nowMs - state.periodEndAtMs) / rules.periodMs) + 1;
  return { rank: qualified, periodEndAtMs: state.periodEndAtMs + periodsPassed * rules.periodMs };
}

export function tierByName(rules: TierRules, name: string): Tier | undefined {
  return rules.tiers.find((t) => t.name === name);
}

export function tierAt(rules: TierRules, rank: number): Tier {
  const tier = rules.tiers[rank];
  if (!tier) throw new RangeError(`No tier at rank ${rank}`);
  return tier;
}

function days(value: number, name: string): number {
  if (!Number.isInteger(value) || value < 1 || value > MAX_DAYS) invalid(`${name} must be a whole number of days from 1 to ${MAX_DAYS}.`);
  return value;
}

function invalid(message: string): never {
  throw new LedgerError('INVALID_INPUT', `Membership settings: ${message}`);
}
