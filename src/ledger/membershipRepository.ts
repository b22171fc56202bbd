import type { SqliteDatabase } from './database.js';
import type { Fen } from './money.js';
import type { OpenLot } from './pointsRules.js';
import type { EpochMs } from './types.js';

export const LEDGER_ENTRY_KINDS = [
  'spend',
  'refund',
  'points-earn',
  'points-redeem',
  'points-expire',
  'points-reverse',
  'recharge',
  'recharge-bonus',
  'deduct',
  // Balances a member brought from the shop's previous system (memberlens import members).
  'opening-points',
  'opening-stored',
] as const;
export type LedgerEntryKind = (typeof LEDGER_ENTRY_KINDS)[number];

/** One append-only ledger line. Each of the three movements is signed; most are 0. */
export interface LedgerEntry {
  id: number;
  memberId: string;
  kind: LedgerEntryKind;
  spendFen: Fen;
  points: number;
  storedFen: Fen;
  orderId: string | null;
  /** Refund id or recharge id, for entries that belong to one. */
  refId: string | null;
  /** The points-earn entry a points consumption draws from. */
  lotEntryId: number | null;
  /** When the entry counts: payment time for spend and its refunds, earn time for points. */
  atMs: EpochMs;
  recordedAtMs: EpochMs;
}

export type NewLedgerEntry = Pick<LedgerEntry, 'memberId' | 'kind' | 'atMs'> &
  Partial<Pick<LedgerEntry, 'spendFen' | 'points' | 'storedFen' | 'orderId' | 'refId' | 'lotEntryId'>>;

/** All-time sums per member, as cached in member_balances or recomputed from the entries. */
export interface MemberBalances {
  lifetimeSpendFen: Fen;
  points: number;
  storedFen: Fen;
}

export interface LotState extends OpenLot {
  earnedAtMs: EpochMs;
}

export interface PaymentRow {
  order_id: string;
  member_id: string;
  lane: string;
  channel: string;
  payer_digest: string;
  amount_fen: number;
  paid_at_ms: number;
  member_created: number;
  discount_rate_applied: number;
  points_earned: number;
  tier_before: string;
  tier_after: string;
  recorded_at_ms: number;
}

export interface RefundRow {
  refund_id: string;
  order_id: string;
  member_id: string;
  amount_fen: number;
  points_reversed: number;
  points_short: number;
  tier_name: string;
  qualified_tier: string;
  recorded_at_ms: number;
}

export interface RechargeRow {
  recharge_id: string;
  member_id: string;
  amount_fen: number;
  bonus_fen: number;
  tier_before: string;
  tier_after: string;
  actor: string;
  recorded_at_ms: number;
}

export interface DeductionRow {
  order_id: string;
  member_id: string;
  amount_fen: number;
  confirmation_method: string;
  staff: string;
  recorded_at_ms: number;
}

export interface RedemptionRow {
  order_id: string;
  member_id: string;
  points: number;
  recorded_at_ms: number;
}

export interface TierRow {
  member_id: string;
  tier_name: string;
  period_end_at_ms: number;
  updated_at_ms: number;
}

interface EntryRow {
  id: number;
  member_id: string;
  kind: string;
  spend_fen: number;
  points: number;
  stored_fen: number;
  order_id: string | null;
  ref_id: string | null;
  lot_entry_id: number | null;
  at_ms: number;
  recorded_at_ms: number;
}

interface LotRow {
  lot_entry_id: number;
  member_id: string;
  earned_at_ms: number;
  remaining: number;
}

/** SQL for the membership ledger. No rules live here: the ledger service decides, this writes. */
export class MembershipRepository {
  readonly #db: SqliteDatabase;
  readonly #insertEntry;
  readonly #entriesOfMember;
  readonly #entriesOfOrder;
  readonly #sumsFromEntries;
  readonly #cachedBalances;
  readonly #writeBalances;
  readonly #spendSince;
  readonly #largestRechargeSince;
  readonly #openLots;
  readonly #openLotsEarnedAfter;
  readonly #orderLot;
  readonly #expiredLots;
  readonly #ownOpenLots;
  readonly #lotsFromEntries;
  readonly #cachedLots;
  readonly #writeLot;
  readonly #getPayer;
  readonly #insertPayer;
  readonly #renameMember;
  readonly #getTier;
  readonly #upsertTier;
  readonly #tiersEndingBy;
  readonly #getPayment;
  readonly #insertPayment;
  readonly #getRefund;
  readonly #refundedForOrder;
  readonly #insertRefund;
  readonly #getRecharge;
  readonly #insertRecharge;
  readonly #getDeduction;
  readonly #insertDeduction;
  readonly #getRedemption;
  readonly #insertRedemption;

  constructor(db: SqliteDatabase) {
    this.#db = db;
    this.#insertEntry = db.prepare<
      [string, string, number, number, number, string | null, string | null, number | null, number, number]
    >(
      `INSERT INTO ledger_entries
         (member_id, kind, spend_fen, points, stored_fen, order_id, ref_id, lot_entry_id, at_ms, recorded_at_ms)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    this.#entriesOfMember = db.prepare<[string], EntryRow>('SELECT * FROM ledger_entries WHERE member_id = ? ORDER BY id');
    this.#entriesOfOrder = db.prepare<[string], EntryRow>('SELECT * FROM ledger_entries WHERE order_id = ? ORDER BY id');
    this.#sumsFromEntries = db.prepare<[string], { spend: number; points: number; stored: number }>(
      `SELECT COALESCE(SUM(spend_fen), 0) AS spend, COALESCE(SUM(points), 0) AS points,
              COALESCE(SUM(stored_fen), 0) AS stored
       FROM ledger_entries WHERE member_id = ?`,
    );
    this.#cachedBalances = db.prepare<[string], { spend: number; points: number; stored: number }>(
      'SELECT lifetime_spend_fen AS spend, points, stored_fen AS stored FROM member_balances WHERE member_id = ?',
    );
    this.#writeBalances = db.prepare<[string, number, number, number]>(
      `INSERT INTO member_balances (member_id, lifetime_spend_fen, points, stored_fen) VALUES (?, ?, ?, ?)
       ON CONFLICT (member_id) DO UPDATE SET lifetime_spend_fen = excluded.lifetime_spend_fen,
         points = excluded.points, stored_fen = excluded.stored_fen`,
    );
    this.#spendSince = db.prepare<[string, number], { fen: number }>(
      'SELECT COALESCE(SUM(spend_fen), 0) AS fen FROM ledger_entries WHERE member_id = ? AND at_ms > ?',
    );
    this.#largestRechargeSince = db.prepare<[string, number], { fen: number }>(
      `SELECT COALESCE(MAX(stored_fen), 0) AS fen FROM ledger_entries
       WHERE member_id = ? AND at_ms > ? AND kind = 'recharge'`,
    );
    // Oldest first, the lot id breaking ties between lots earned in the same millisecond.
    this.#openLots = db.prepare<[string], LotRow>(
      `SELECT * FROM points_lots WHERE member_id = ? AND remaining > 0 ORDER BY earned_at_ms, lot_entry_id`,
    );
    this.#openLotsEarnedAfter = db.prepare<[string, number], LotRow>(
      `SELECT * FROM points_lots WHERE member_id = ? AND remaining > 0 AND earned_at_ms > ?
       ORDER BY earned_at_ms, lot_entry_id`,
    );
    this.#orderLot = db.prepare<[string], LotRow>(
      `SELECT l.* FROM points_lots l JOIN ledger_entries e ON e.id = l.lot_entry_id
       WHERE e.kind = 'points-earn' AND e.order_id = ?`,
    );
    // Only lots earned at this store (gid IS NULL): in a chain each branch expires and
    // reverses its own lots, so two branches never draw the same lot down twice.
    this.#expiredLots = db.prepare<[number], LotRow>(
      `SELECT l.* FROM points_lots l JOIN ledger_entries e ON e.id = l.lot_entry_id
       WHERE l.remaining > 0 AND l.earned_at_ms <= ? AND e.gid IS NULL ORDER BY l.earned_at_ms, l.lot_entry_id`,
    );
    this.#ownOpenLots = db.prepare<[string], LotRow>(
      `SELECT l.* FROM points_lots l JOIN ledger_entries e ON e.id = l.lot_entry_id
       WHERE l.member_id = ? AND l.remaining > 0 AND e.gid IS NULL ORDER BY l.earned_at_ms, l.lot_entry_id`,
    );
    this.#lotsFromEntries = db.prepare<[string], LotRow>(
      `SELECT e.id AS lot_entry_id, e.member_id, e.at_ms AS earned_at_ms,
              e.points + COALESCE((SELECT SUM(c.points) FROM ledger_entries c WHERE c.lot_entry_id = e.id), 0) AS remaining
       FROM ledger_entries e WHERE e.member_id = ? AND e.kind IN ('points-earn', 'opening-points') ORDER BY e.id`,
    );
    this.#cachedLots = db.prepare<[string], LotRow>('SELECT * FROM points_lots WHERE member_id = ? ORDER BY lot_entry_id');
    this.#writeLot = db.prepare<[number, string, number, number]>(
      `INSERT INTO points_lots (lot_entry_id, member_id, earned_at_ms, remaining) VALUES (?, ?, ?, ?)
       ON CONFLICT (lot_entry_id) DO UPDATE SET remaining = excluded.remaining`,
    );
    this.#getPayer = db.prepare<[string], { member_id: string }>(
      'SELECT member_id FROM payer_identities WHERE payer_key = ?',
    );
    this.#insertPayer = db.prepare<[string, string, string, number]>(
      'INSERT INTO payer_identities (payer_key, member_id, channel, created_at_ms) VALUES (?, ?, ?, ?)',
    );
    this.#renameMember = db.prepare<[string, number, string]>('UPDATE members SET name = ?, updated_at_ms = ? WHERE id = ?');
    this.#getTier = db.prepare<[string], TierRow>('SELECT * FROM member_tiers WHERE member_id = ?');
    this.#upsertTier = db.prepare<[string, string, number, number]>(
      `INSERT INTO member_tiers (member_id, tier_name, period_end_at_ms, updated_at_ms) VALUES (?, ?, ?, ?)
       ON CONFLICT (member_id) DO UPDATE SET tier_name = excluded.tier_name,
         period_end_at_ms = excluded.period_end_at_ms, updated_at_ms = excluded.updated_at_ms`,
    );
    this.#tiersEndingBy = db.prepare<[number], TierRow>(
      'SELECT * FROM member_tiers WHERE period_end_at_ms <= ? ORDER BY period_end_at_ms, member_id',
    );
    this.#getPayment = db.prepare<[string], PaymentRow>('SELECT * FROM payments WHERE order_id = ?');
    this.#insertPayment = db.prepare<[PaymentRow]>(
      `INSERT INTO payments (order_id, member_id, lane, channel, payer_digest, amount_fen, paid_at_ms, member_created,
         discount_rate_applied, points_earned, tier_before, tier_after, recorded_at_ms)
       VALUES (@order_id, @member_id, @lane, @channel, @payer_digest, @amount_fen, @paid_at_ms, @member_created,
         @discount_rate_applied, @points_earned, @tier_before, @tier_after, @recorded_at_ms)`,
    );
    this.#getRefund = db.prepare<[string], RefundRow>('SELECT * FROM refunds WHERE refund_id = ?');
    this.#refundedForOrder = db.prepare<[string], { fen: number }>(
      'SELECT COALESCE(SUM(amount_fen), 0) AS fen FROM refunds WHERE order_id = ?',
    );
    this.#insertRefund = db.prepare<[RefundRow]>(
      `INSERT INTO refunds (refund_id, order_id, member_id, amount_fen, points_reversed, points_short, tier_name,
         qualified_tier, recorded_at_ms)
       VALUES (@refund_id, @order_id, @member_id, @amount_fen, @points_reversed, @points_short, @tier_name,
         @qualified_tier, @recorded_at_ms)`,
    );
    this.#getRecharge = db.prepare<[string], RechargeRow>('SELECT * FROM recharges WHERE recharge_id = ?');
    this.#insertRecharge = db.prepare<[RechargeRow]>(
      `INSERT INTO recharges (recharge_id, member_id, amount_fen, bonus_fen, tier_before, tier_after, actor, recorded_at_ms)
       VALUES (@recharge_id, @member_id, @amount_fen, @bonus_fen, @tier_before, @tier_after, @actor, @recorded_at_ms)`,
    );
    this.#getDeduction = db.prepare<[string], DeductionRow>('SELECT * FROM deductions WHERE order_id = ?');
    this.#insertDeduction = db.prepare<[DeductionRow]>(
      `INSERT INTO deductions (order_id, member_id, amount_fen, confirmation_method, staff, recorded_at_ms)
       VALUES (@order_id, @member_id, @amount_fen, @confirmation_method, @staff, @recorded_at_ms)`,
    );
    this.#getRedemption = db.prepare<[string], RedemptionRow>('SELECT * FROM redemptions WHERE order_id = ?');
    this.#insertRedemption = db.prepare<[RedemptionRow]>(
      `INSERT INTO redemptions (order_id, member_id, points, recorded_at_ms)
       VALUES (@order_id, @member_id, @points, @recorded_at_ms)`,
    );
  }

  /**
   * Runs `fn` in a write transaction taken at BEGIN IMMEDIATE, so the reads that decide (is
   * this order new? what is the balance?) and the writes that follow see no other writer in
   * between — across connections and processes too. Inside an open transaction it nests as a
   * savepoint of that one.
   */
  write<T>(fn: () => T): T {
    return this.#db.transaction(fn).immediate();
  }

  addEntry(entry: NewLedgerEntry, recordedAtMs: EpochMs): number {
    const result = this.#insertEntry.run(
      entry.memberId,
      entry.kind,
      entry.spendFen ?? 0,
      entry.points ?? 0,
      entry.storedFen ?? 0,
      entry.orderId ?? null,
      entry.refId ?? null,
      entry.lotEntryId ?? null,
      entry.atMs,
      recordedAtMs,
    );
    return Number(result.lastInsertRowid);
  }

  entries(memberId: string): LedgerEntry[] {
    return this.#entriesOfMember.all(memberId).map(toEntry);
  }

  orderEntries(orderId: string): LedgerEntry[] {
    return this.#entriesOfOrder.all(orderId).map(toEntry);
  }

  cachedBalances(memberId: string): MemberBalances {
    const row = this.#cachedBalances.get(memberId);
    return { lifetimeSpendFen: row?.spend ?? 0, points: row?.points ?? 0, storedFen: row?.stored ?? 0 };
  }

  balancesFromEntries(memberId: string): MemberBalances {
    const row = this.#sumsFromEntries.get(memberId);
    return { lifetimeSpendFen: row?.spend ?? 0, points: row?.points ?? 0, storedFen: row?.stored ?? 0 };
  }

  writeBalances(memberId: string, balances: MemberBalances): void {
    this.#writeBalances.run(memberId, balances.lifetimeSpendFen, balances.points, balances.storedFen);
  }

  spendSince(memberId: string, sinceMs: EpochMs): Fen {
    return this.#spendSince.get(memberId, sinceMs)?.fen ?? 0;
  }

  largestRechargeSince(memberId: string, sinceMs: EpochMs): Fen {
    return this.#largestRechargeSince.get(memberId, sinceMs)?.fen ?? 0;
  }

  /** Open lots, oldest first; with `earnedAfterMs`, only those not yet expired. */
  openLots(memberId: string, earnedAfterMs?: EpochMs): OpenLot[] {
    const rows =
      earnedAfterMs === undefined ? this.#openLots.all(memberId) : this.#openLotsEarnedAfter.all(memberId, earnedAfterMs);
    return rows.map(toLot);
  }

  orderLot(orderId: string): OpenLot | undefined {
    const row = this.#orderLot.get(orderId);
    return row && toLot(row);
  }

  /** Open lots earned at this store (not at another branch of the chain), oldest first. */
  ownOpenLots(memberId: string): OpenLot[] {
    return this.#ownOpenLots.all(memberId).map(toLot);
  }

  expiredLots(earnedByMs: EpochMs): Array<OpenLot & { memberId: string }> {
    return this.#expiredLots.all(earnedByMs).map((row) => ({ ...toLot(row), memberId: row.member_id }));
  }

  /** Every lot of the member with what the entries say is left of it. */
  lotsFromEntries(memberId: string): LotState[] {
    return this.#lotsFromEntries.all(memberId).map(toLotState);
  }

  cachedLots(memberId: string): LotState[] {
    return this.#cachedLots.all(memberId).map(toLotState);
  }

  writeLot(memberId: string, lot: LotState): void {
    this.#writeLot.run(lot.lotEntryId, memberId, lot.earnedAtMs, lot.remaining);
  }

  payerMember(payerKey: string): string | undefined {
    return this.#getPayer.get(payerKey)?.member_id;
  }

  linkPayer(payerKey: string, memberId: string, channel: string, atMs: EpochMs): void {
    this.#insertPayer.run(payerKey, memberId, channel, atMs);
  }

  renameMember(memberId: string, name: string, atMs: EpochMs): void {
    this.#renameMember.run(name, atMs, memberId);
  }

  tier(memberId: string): TierRow | undefined {
    return this.#getTier.get(memberId);
  }

  writeTier(memberId: string, tierName: string, periodEndAtMs: EpochMs, atMs: EpochMs): void {
    this.#upsertTier.run(memberId, tierName, periodEndAtMs, atMs);
  }

  tiersEndingBy(nowMs: EpochMs): TierRow[] {
    return this.#tiersEndingBy.all(nowMs);
  }

  payment(orderId: string): PaymentRow | undefined {
    return this.#getPayment.get(orderId);
  }

  addPayment(row: PaymentRow): void {
    this.#insertPayment.run(row);
  }

  refund(refundId: string): RefundRow | undefined {
    return this.#getRefund.get(refundId);
  }

  refundedFen(orderId: string): Fen {
    return this.#refundedForOrder.get(orderId)?.fen ?? 0;
  }

  addRefund(row: RefundRow): void {
    this.#insertRefund.run(row);
  }

  recharge(rechargeId: string): RechargeRow | undefined {
    return this.#getRecharge.get(rechargeId);
  }

  addRecharge(row: RechargeRow): void {
    this.#insertRecharge.run(row);
  }

  deduction(orderId: string): DeductionRow | undefined {
    return this.#getDeduction.get(orderId);
  }

  addDeduction(row: DeductionRow): void {
    this.#insertDeduction.run(row);
  }

  redemption(orderId: string): RedemptionRow | undefined {
    return this.#getRedemption.get(orderId);
  }

  addRedemption(row: RedemptionRow): void {
    this.#insertRedemption.run(row);
  }
}

function toEntry(row: EntryRow): LedgerEntry {
  return {
    id: row.id,
    memberId: row.member_id,
    kind: row.kind as LedgerEntryKind,
    spendFen: row.spend_fen,
    points: row.points,
    storedFen: row.stored_fen,
    orderId: row.order_id,
    refId: row.ref_id,
    lotEntryId: row.lot_entry_id,
    atMs: row.at_ms,
    recordedAtMs: row.recorded_at_ms,
  };
}

function toLotState(row: LotRow): LotState {
  return { lotEntryId: row.lot_entry_id, remaining: row.remaining, earnedAtMs: row.earned_at_ms };
}

function toLot(row: LotRow): OpenLot {
  return { lotEntryId: row.lot_entry_id, remaining: row.remaining };
}
