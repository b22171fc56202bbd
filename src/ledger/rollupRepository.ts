import type { SqliteDatabase } from './database.js';
import type { Fen } from './money.js';
import { addDays, type StoreCalendar } from './storeCalendar.js';
import type { EpochMs } from './types.js';

/** How a member came to be: a first payment (支付即会员), enrolled with a face, added at the admin desk, imported. */
export type NewMemberSource = 'payment' | 'face' | 'admin' | 'import';

/** The per-day sums of rollup_days; the names are the table's columns. */
const DAY_COLUMNS = [
  'member_sales_fen',
  'non_member_sales_fen',
  'member_orders',
  'non_member_orders',
  'new_by_payment',
  'new_by_face',
  'new_by_admin',
  'new_by_import',
  'member_visits',
  'points_issued',
  'points_redeemed',
  'points_expired',
  'points_reversed',
  'stored_issued_fen',
  'stored_redeemed_fen',
  'coupons_issued',
  'coupons_redeemed',
  'coupons_expired',
  'coupon_sales_fen',
] as const;
type DayColumn = (typeof DAY_COLUMNS)[number];

const LANE_COLUMNS = ['recognitions', 'unknown_faces', 'face_linked_payments'] as const;
type LaneColumn = (typeof LANE_COLUMNS)[number];

export interface NonMemberSaleRow {
  order_id: string;
  lane: string;
  channel: string;
  amount_fen: number;
  paid_at_ms: number;
  recorded_at_ms: number;
}

export interface NonMemberRefundRow {
  refund_id: string;
  order_id: string;
  amount_fen: number;
  recorded_at_ms: number;
}

/** A ledger movement as the liability figures see it. */
export interface LiabilityMovement {
  kind: string;
  points?: number;
  storedFen?: Fen;
  atMs: EpochMs;
}

/**
 * Keeps the dashboard's daily sums in step with the ledger. Every method runs inside the caller's
 * transaction (a payment's, a refund's, a recognition's), so a figure and the record it counts
 * commit together or not at all; each is a few primary-key upserts. Also the SQL of sales
 * without a member, which have no ledger entry to hang on.
 */
export class RollupRepository {
  readonly #calendar: StoreCalendar;
  readonly #bumpDay: Map<DayColumn, (day: string, delta: number) => void>;
  readonly #bumpLane: Map<LaneColumn, (day: string, lane: string) => void>;
  readonly #openMemberDay;
  readonly #addMemberDay;
  readonly #bumpHour;
  readonly #bumpMonthVisits;
  readonly #bumpMonthOrders;
  readonly #memberDaysNear;
  readonly #bumpWeekWindow;
  readonly #getSale;
  readonly #insertSale;
  readonly #getRefund;
  readonly #refundedForSale;
  readonly #insertRefund;

  constructor(db: SqliteDatabase, calendar: StoreCalendar) {
    this.#calendar = calendar;
    this.#bumpDay = new Map(
      DAY_COLUMNS.map((column) => {
        const statement = db.prepare<[string, number]>(
          `INSERT INTO rollup_days (day, ${column}) VALUES (?, ?)
           ON CONFLICT (day) DO UPDATE SET ${column} = ${column} + excluded.${column}`,
        );
        return [column, (day: string, delta: number) => void statement.run(day, delta)];
      }),
    );
    this.#bumpLane = new Map(
      LANE_COLUMNS.map((column) => {
        const statement = db.prepare<[string, string]>(
          `INSERT INTO rollup_lane_days (day, lane, ${column}) VALUES (?, ?, 1)
           ON CONFLICT (day, lane) DO UPDATE SET ${column} = ${column} + 1`,
        );
        return [column, (day: string, lane: string) => void statement.run(day, lane)];
      }),
    );
    this.#openMemberDay = db.prepare<[string, string]>('INSERT OR IGNORE INTO rollup_member_days (day, member_id) VALUES (?, ?)');
    this.#addMemberDay = db.prepare<[number, number, string, string]>(
      'UPDATE rollup_member_days SET orders = orders + ?, sales_fen = sales_fen + ? WHERE day = ? AND member_id = ?',
    );
    this.#bumpHour = db.prepare<[string, number]>(
      `INSERT INTO rollup_visit_hours (day, hour, visits) VALUES (?, ?, 1)
       ON CONFLICT (day, hour) DO UPDATE SET visits = visits + 1`,
    );
    this.#bumpMonthVisits = db.prepare<[string, string]>(
      `INSERT INTO rollup_member_months (member_id, month, visits) VALUES (?, ?, 1)
       ON CONFLICT (member_id, month) DO UPDATE SET visits = visits + 1`,
    );
    this.#bumpMonthOrders = db.prepare<[string, string, number]>(
      `INSERT INTO rollup_member_months (member_id, month, orders) VALUES (?, ?, ?)
       ON CONFLICT (member_id, month) DO UPDATE SET orders = orders + excluded.orders`,
    );
    this.#memberDaysNear = db.prepare<[string, string, string], { day: string; orders: number }>(
      'SELECT day, orders FROM rollup_member_days WHERE member_id = ? AND day >= ? AND day <= ?',
    );
    this.#bumpWeekWindow = db.prepare<[string, number, number]>(
      `INSERT INTO rollup_week_windows (day, buyers, repeaters) VALUES (?, ?, ?)
       ON CONFLICT (day) DO UPDATE SET buyers = buyers + excluded.buyers, repeaters = repeaters + excluded.repeaters`,
    );
    this.#getSale = db.prepare<[string], NonMemberSaleRow>('SELECT * FROM non_member_sales WHERE order_id = ?');
    this.#insertSale = db.prepare<[NonMemberSaleRow]>(
      `INSERT INTO non_member_sales (order_id, lane, channel, amount_fen, paid_at_ms, recorded_at_ms)
       VALUES (@order_id, @lane, @channel, @amount_fen, @paid_at_ms, @recorded_at_ms)`,
    );
    this.#getRefund = db.prepare<[string], NonMemberRefundRow>('SELECT * FROM non_member_refunds WHERE refund_id = ?');
    this.#refundedForSale = db.prepare<[string], { fen: number }>(
      'SELECT COALESCE(SUM(amount_fen), 0) AS fen FROM non_member_refunds WHERE order_id = ?',
    );
    this.#insertRefund = db.prepare<[NonMemberRefundRow]>(
      `INSERT INTO non_member_refunds (refund_id, order_id, amount_fen, recorded_at_ms)
       VALUES (@refund_id, @order_id, @amount_fen, @recorded_at_ms)`,
    );
  }

  memberJoined(source: NewMemberSource, atMs: EpochMs): void {
    this.#day(`new_by_${source}`, this.#calendar.dateOf(atMs), 1);
  }

  /**
   * A member bought: `fen` of sales on the day of `atMs`; `newOrder` when this is the order's
   * first movement (a payment, or a stored-value deduction for an order not paid otherwise).
   */
  memberSale(memberId: string, fen: Fen, atMs: EpochMs, newOrder: boolean): void {
    const day = this.#visit(memberId, atMs);
    const orders = newOrder ? 1 : 0;
    this.#addToMemberDay(memberId, day, orders, fen);
    this.#day('member_sales_fen', day, fen);
    if (orders) this.#day('member_orders', day, orders);
  }

  /** Part of a member's sale refunded; `orderGoneAtMs`, when it was refunded in full, is when the order was counted. */
  memberRefund(memberId: string, fen: Fen, paidAtMs: EpochMs, orderGoneAtMs: EpochMs | undefined): void {
    const day = this.#calendar.dateOf(paidAtMs);
    this.#openDay(day, memberId);
    this.#addToMemberDay(memberId, day, 0, -fen);
    this.#day('member_sales_fen', day, -fen);
    if (orderGoneAtMs !== undefined) {
      const orderDay = this.#calendar.dateOf(orderGoneAtMs);
      this.#openDay(orderDay, memberId);
      this.#addToMemberDay(memberId, orderDay, -1, 0);
      this.#day('member_orders', orderDay, -1);
    }
  }

  nonMemberSaleCounted(fen: Fen, paidAtMs: EpochMs): void {
    const day = this.#calendar.dateOf(paidAtMs);
    this.#day('non_member_sales_fen', day, fen);
    this.#day('non_member_orders', day, 1);
  }

  nonMemberRefundCounted(fen: Fen, paidAtMs: EpochMs, orderGone: boolean): void {
    const day = this.#calendar.dateOf(paidAtMs);
    this.#day('non_member_sales_fen', day, -fen);
    if (orderGone) this.#day('non_member_orders', day, -1);
  }

  /** Points and stored value given, spent, expired or taken back: the liability the shop carries. */
  liability(movement: LiabilityMovement): void {
    const day = this.#calendar.dateOf(movement.atMs);
    const points = movement.points ?? 0;
    const storedFen = movement.storedFen ?? 0;
    switch (movement.kind) {
      // Opening balances brought by an import are issued on the day of the import.
      case 'points-earn':
      case 'opening-points':
        return this.#day('points_issued', day, points);
      case 'points-redeem':
        return this.#day('points_redeemed', day, -points);
      case 'points-expire':
        return this.#day('points_expired', day, -points);
      case 'points-reverse':
        return this.#day('points_reversed', day, -points);
      case 'recharge':
      case 'recharge-bonus':
      case 'opening-stored':
        return this.#day('stored_issued_fen', day, storedFen);
      case 'deduct':
        return this.#day('stored_redeemed_fen', day, -storedFen);
      default:
        return undefined;
    }
  }

  /** A member named by face at a lane: a recognition there, and a visit. */
  recognized(lane: string, memberId: string, atMs: EpochMs): void {
    this.#lane('recognitions', lane, atMs);
    this.#visit(memberId, atMs);
  }

  unknownFace(lane: string, atMs: EpochMs): void {
    this.#lane('unknown_faces', lane, atMs);
  }

  /** A payment whose payer was the face at the scanner: confirmed, linked, or a cash customer named by face. */
  faceLinkedPayment(lane: string, atMs: EpochMs): void {
    this.#lane('face_linked_payments', lane, atMs);
  }

  /** Coupons: `salesFen` is the sale a redeemed coupon was used on. */
  coupon(event: 'issued' | 'redeemed' | 'expired', atMs: EpochMs, salesFen: Fen = 0): void {
    const day = this.#calendar.dateOf(atMs);
    this.#day(`coupons_${event}`, day, 1);
    if (salesFen !== 0) this.#day('coupon_sales_fen', day, salesFen);
  }

  nonMemberSale(orderId: string): NonMemberSaleRow | undefined {
    return this.#getSale.get(orderId);
  }

  addNonMemberSale(row: NonMemberSaleRow): void {
    this.#insertSale.run(row);
  }

  nonMemberRefund(refundId: string): NonMemberRefundRow | undefined {
    return this.#getRefund.get(refundId);
  }

  nonMemberRefundedFen(orderId: string): Fen {
    return this.#refundedForSale.get(orderId)?.fen ?? 0;
  }

  addNonMemberRefund(row: NonMemberRefundRow): void {
    this.#insertRefund.run(row);
  }

  /** The member's first appearance that day opens the day's row and counts a visit at that hour. */
  #visit(memberId: string, atMs: EpochMs): string {
    const { date, hour } = this.#calendar.at(atMs);
    if (this.#openDay(date, memberId)) {
      this.#day('member_visits', date, 1);
      this.#bumpHour.run(date, hour);
    }
    return date;
  }

  /** Opens the member's row for the day if it has none (counting it in the member's month); true when it did. */
  #openDay(day: string, memberId: string): boolean {
    if (this.#openMemberDay.run(day, memberId).changes !== 1) return false;
    this.#bumpMonthVisits.run(memberId, day.slice(0, 7));
    return true;
  }

  /**
   * Adds orders and sales to the member's (open) day, and a change of orders to the member's
   * month and to the seven seven-day windows that hold the day: each window's buyers and
   * repeaters move when the member's orders in it cross 1 or 2.
   */
  #addToMemberDay(memberId: string, day: string, orders: number, fen: Fen): void {
    if (orders !== 0) {
      this.#bumpMonthOrders.run(memberId, day.slice(0, 7), orders);
      const near = this.#memberDaysNear.all(memberId, addDays(day, -6), addDays(day, 6));
      for (let back = 0; back < 7; back++) {
        const start = addDays(day, -back);
        const end = addDays(start, 6);
        let before = 0;
        for (const row of near) if (row.day >= start && row.day <= end) before += row.orders;
        const after = before + orders;
        const buyers = Number(after >= 1) - Number(before >= 1);
        const repeaters = Number(after >= 2) - Number(before >= 2);
        if (buyers !== 0 || repeaters !== 0) this.#bumpWeekWindow.run(start, buyers, repeaters);
      }
    }
    this.#addMemberDay.run(orders, fen, day, memberId);
  }

  #day(column: DayColumn, day: string, delta: number): void {
    if (delta !== 0) this.#bumpDay.get(column)!(day, delta);
  }

  #lane(column: LaneColumn, lane: string, atMs: EpochMs): void {
    this.#bumpLane.get(column)!(this.#calendar.dateOf(atMs), lane);
  }
}
