import { randomBytes } from 'node:crypto';
import type { CouponRecord } from '../operations/coupons.js';
import type { SqliteDatabase } from './database.js';
import { LedgerError } from './ledgerErrors.js';
import type { RollupRepository } from './rollupRepository.js';
import type { EpochMs } from './types.js';

export type NewCoupon = Omit<CouponRecord, 'couponId' | 'issuedAtMs' | 'redeemed' | 'expiredAtMs'>;

export interface CouponBatchRow {
  batchId: string;
  requestDigest: string;
  filter: unknown;
  terms: unknown;
  issued: number;
  skipped: number;
  actor: string;
  createdAtMs: EpochMs;
}

interface CouponRow {
  coupon_id: string;
  member_id: string;
  source: string;
  source_ref: string;
  title: string;
  amount_off_fen: number | null;
  rate: number | null;
  min_spend_fen: number;
  valid_from_ms: number;
  valid_until_ms: number;
  issued_at_ms: number;
  r_order_id: string | null;
  r_order_fen: number | null;
  r_discount_fen: number | null;
  r_at_ms: number | null;
  expired_at_ms: number | null;
}

// A coupon with what became of it: its redemption and its expiry, from the events.
const SELECT_COUPON = `
  SELECT c.*, r.order_id AS r_order_id, r.order_fen AS r_order_fen, r.discount_fen AS r_discount_fen, r.at_ms AS r_at_ms,
         x.at_ms AS expired_at_ms
    FROM coupons c
    LEFT JOIN coupon_events r ON r.coupon_id = c.coupon_id AND r.kind = 'redeemed'
    LEFT JOIN coupon_events x ON x.coupon_id = c.coupon_id AND x.kind = 'expired'`;

/** Coupon ids are printed on the till and typed by a POS: short, random, no ambiguous letters. */
function newCouponId(): string {
  return `cp_${randomBytes(8).toString('hex')}`;
}

/** SQL for coupons, their append-only events and the admin's batches; the rules live in src/operations/coupons.ts. */
export class CouponRepository {
  readonly #insert;
  readonly #event;
  readonly #get;
  readonly #bySource;
  readonly #forMember;
  readonly #ofOrder;
  readonly #due;
  readonly #batch;
  readonly #addBatch;

  constructor(
    db: SqliteDatabase,
    private readonly clock: () => EpochMs,
    /** The dashboard's daily coupon counts, kept with each event in its transaction. */
    private readonly rollups?: RollupRepository,
  ) {
    this.#insert = db.prepare(`
      INSERT INTO coupons (coupon_id, member_id, source, source_ref, title, amount_off_fen, rate, min_spend_fen, valid_from_ms, valid_until_ms, issued_at_ms)
      VALUES (@couponId, @memberId, @source, @sourceRef, @title, @amountOffFen, @rate, @minSpendFen, @validFromMs, @validUntilMs, @issuedAtMs)
      ON CONFLICT (source, source_ref, member_id) DO NOTHING`);
    this.#event = db.prepare(`
      INSERT INTO coupon_events (coupon_id, member_id, kind, order_id, order_fen, discount_fen, at_ms)
      VALUES (@couponId, @memberId, @kind, @orderId, @orderFen, @discountFen, @atMs)`);
    this.#get = db.prepare<[string], CouponRow>(`${SELECT_COUPON} WHERE c.coupon_id = ?`);
    this.#bySource = db.prepare<[string, string, string], CouponRow>(`${SELECT_COUPON} WHERE c.source = ? AND c.source_ref = ? AND c.member_id = ?`);
    this.#forMember = db.prepare<[string, number], CouponRow>(`${SELECT_COUPON} WHERE c.member_id = ? ORDER BY c.issued_at_ms DESC, c.coupon_id LIMIT ?`);
    this.#ofOrder = db.prepare<[string], CouponRow>(`${SELECT_COUPON} WHERE r.order_id = ?`);
    this.#due = db.prepare<[number, number], { coupon_id: string; member_id: string }>(`
      SELECT c.coupon_id, c.member_id FROM coupons c
       WHERE c.valid_until_ms <= ?
         AND NOT EXISTS (SELECT 1 FROM coupon_events e WHERE e.coupon_id = c.coupon_id AND e.kind IN ('redeemed', 'expired'))
       LIMIT ?`);
    this.#batch = db.prepare<[string], { batch_id: string; request_digest: string; filter_json: string; terms_json: string; issued: number; skipped: number; actor: string; created_at_ms: number }>(
      'SELECT * FROM coupon_batches WHERE batch_id = ?',
    );
    this.#addBatch = db.prepare(`
      INSERT INTO coupon_batches (batch_id, request_digest, filter_json, terms_json, issued, skipped, actor, created_at_ms)
      VALUES (@batchId, @requestDigest, @filter, @terms, @issued, @skipped, @actor, @createdAtMs)`);
  }

  /**
   * Issues a coupon once per (source, sourceRef, member): issuing the same one again returns
   * the coupon issued the first time with `created` false. Call inside a transaction.
   */
  issue(coupon: NewCoupon): { coupon: CouponRecord; created: boolean } {
    const issuedAtMs = this.clock();
    const couponId = newCouponId();
    const { changes } = this.#insert.run({ ...coupon, couponId, issuedAtMs });
    if (changes > 0) {
      this.#addEvent({ couponId, memberId: coupon.memberId, kind: 'issued', orderId: null, orderFen: null, discountFen: null, atMs: issuedAtMs });
    }
    const row = this.#bySource.get(coupon.source, coupon.sourceRef, coupon.memberId)!;
    return { coupon: toCoupon(row), created: changes > 0 };
  }

  get(couponId: string): CouponRecord | undefined {
    const row = this.#get.get(couponId);
    return row && toCoupon(row);
  }

  /** The member's coupons, newest first. */
  forMember(memberId: string, limit: number): CouponRecord[] {
    return this.#forMember.all(memberId, limit).map(toCoupon);
  }

  /** The coupon an order redeemed, if any. */
  ofOrder(orderId: string): CouponRecord | undefined {
    const row = this.#ofOrder.get(orderId);
    return row && toCoupon(row);
  }

  /** Appends the redemption; the unique indexes refuse a second one for the coupon or the order. */
  redeem(input: { couponId: string; memberId: string; orderId: string; orderFen: number; discountFen: number; atMs: EpochMs }): void {
    try {
      this.#addEvent({ ...input, kind: 'redeemed' });
    } catch (err) {
      if ((err as { code?: unknown }).code === 'SQLITE_CONSTRAINT_UNIQUE') {
        throw new LedgerError('COUPON_USED', `Coupon ${input.couponId} was already used or has expired, or order ${input.orderId} already used a coupon.`, { cause: err });
      }
      throw err;
    }
  }

  /** Records the expiry of up to `limit` coupons past their validity and not redeemed; returns how many. */
  expireDue(nowMs: EpochMs, limit: number): number {
    const due = this.#due.all(nowMs, limit);
    for (const c of due) {
      this.#addEvent({ couponId: c.coupon_id, memberId: c.member_id, kind: 'expired', orderId: null, orderFen: null, discountFen: null, atMs: nowMs });
    }
    return due.length;
  }

  /** A redemption carries the sale it was used on: the order less the coupon's discount. */
  #addEvent(event: {
    couponId: string;
    memberId: string;
    kind: 'issued' | 'redeemed' | 'expired';
    orderId: string | null;
    orderFen: number | null;
    discountFen: number | null;
    atMs: EpochMs;
  }): void {
    this.#event.run(event);
    this.rollups?.coupon(event.kind, event.atMs, event.kind === 'redeemed' ? event.orderFen! - event.discountFen! : 0);
  }

  batch(batchId: string): CouponBatchRow | undefined {
    const row = this.#batch.get(batchId);
    if (!row) return undefined;
    return {
      batchId: row.batch_id,
      requestDigest: row.request_digest,
      filter: JSON.parse(row.filter_json),
      terms: JSON.parse(row.terms_json),
      issued: row.issued,
      skipped: row.skipped,
      actor: row.actor,
      createdAtMs: row.created_at_ms,
    };
  }

  addBatch(row: CouponBatchRow): void {
    this.#addBatch.run({ ...row, filter: JSON.stringify(row.filter), terms: JSON.stringify(row.terms) });
  }
}

function toCoupon(row: CouponRow): CouponRecord {
  return {
    couponId: row.coupon_id,
    memberId: row.member_id,
    source: row.source as CouponRecord['source'],
    sourceRef: row.source_ref,
    title: row.title,
    amountOffFen: row.amount_off_fen,
    rate: row.rate,
    minSpendFen: row.min_spend_fen,
    validFromMs: row.valid_from_ms,
    validUntilMs: row.valid_until_ms,
    issuedAtMs: row.issued_at_ms,
    redeemed:
      row.r_order_id === null ? null : { orderId: row.r_order_id, orderFen: row.r_order_fen!, discountFen: row.r_discount_fen!, atMs: row.r_at_ms! },
    expiredAtMs: row.expired_at_ms,
  };
}
