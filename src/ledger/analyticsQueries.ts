import type { SqliteDatabase } from './database.js';
import type { LocalDate } from './storeCalendar.js';
import type { EpochMs } from './types.js';

/** One day's sums as rollup_days holds them (camelCase). */
export interface DaySums {
  memberSalesFen: number;
  nonMemberSalesFen: number;
  memberOrders: number;
  nonMemberOrders: number;
  newByPayment: number;
  newByFace: number;
  newByAdmin: number;
  newByImport: number;
  memberVisits: number;
  pointsIssued: number;
  pointsRedeemed: number;
  pointsExpired: number;
  pointsReversed: number;
  storedIssuedFen: number;
  storedRedeemedFen: number;
  couponsIssued: number;
  couponsRedeemed: number;
  couponsExpired: number;
  couponSalesFen: number;
}

export interface DayRow extends DaySums {
  day: LocalDate;
}

/** What the period's members did, from their days at the shop. */
export interface MemberPeriodFigures {
  /** Members with a visit (a purchase or a recognition). */
  active: number;
  /** Members with at least one purchase, and with at least two. */
  buyers: number;
  repeaters: number;
  /** Members by visits in the period: 1, 2, 3–5, 6 or more. */
  visits1: number;
  visits2: number;
  visits3to5: number;
  visits6plus: number;
}

export interface LaneSums {
  lane: string;
  recognitions: number;
  unknownFaces: number;
  faceLinkedPayments: number;
}

export interface RecencyCounts {
  days0to30: number;
  days31to60: number;
  days61to180: number;
  over180: number;
  never: number;
}

const SUMS = `
  COALESCE(SUM(member_sales_fen), 0) AS memberSalesFen, COALESCE(SUM(non_member_sales_fen), 0) AS nonMemberSalesFen,
  COALESCE(SUM(member_orders), 0) AS memberOrders, COALESCE(SUM(non_member_orders), 0) AS nonMemberOrders,
  COALESCE(SUM(new_by_payment), 0) AS newByPayment, COALESCE(SUM(new_by_face), 0) AS newByFace,
  COALESCE(SUM(new_by_admin), 0) AS newByAdmin, COALESCE(SUM(new_by_import), 0) AS newByImport,
  COALESCE(SUM(member_visits), 0) AS memberVisits,
  COALESCE(SUM(points_issued), 0) AS pointsIssued, COALESCE(SUM(points_redeemed), 0) AS pointsRedeemed,
  COALESCE(SUM(points_expired), 0) AS pointsExpired, COALESCE(SUM(points_reversed), 0) AS pointsReversed,
  COALESCE(SUM(stored_issued_fen), 0) AS storedIssuedFen, COALESCE(SUM(stored_redeemed_fen), 0) AS storedRedeemedFen,
  COALESCE(SUM(coupons_issued), 0) AS couponsIssued, COALESCE(SUM(coupons_redeemed), 0) AS couponsRedeemed,
  COALESCE(SUM(coupons_expired), 0) AS couponsExpired, COALESCE(SUM(coupon_sales_fen), 0) AS couponSalesFen`;

const DAY_FIELDS = `
  day, member_sales_fen AS memberSalesFen, non_member_sales_fen AS nonMemberSalesFen,
  member_orders AS memberOrders, non_member_orders AS nonMemberOrders,
  new_by_payment AS newByPayment, new_by_face AS newByFace, new_by_admin AS newByAdmin, new_by_import AS newByImport,
  member_visits AS memberVisits, points_issued AS pointsIssued, points_redeemed AS pointsRedeemed,
  points_expired AS pointsExpired, points_reversed AS pointsReversed,
  stored_issued_fen AS storedIssuedFen, stored_redeemed_fen AS storedRedeemedFen,
  coupons_issued AS couponsIssued, coupons_redeemed AS couponsRedeemed, coupons_expired AS couponsExpired,
  coupon_sales_fen AS couponSalesFen`;

/**
 * The dashboard's reads: sums over the rollup tables for a range of store-local dates
 * (`from` inclusive, `to` exclusive), and counts over the members' current segments and tiers.
 * None of them reads ledger_entries.
 */
export class AnalyticsQueries {
  readonly #sums;
  readonly #days;
  readonly #members;
  readonly #weeklyRepeat;
  readonly #lanes;
  readonly #hours;
  readonly #rfmMembers;
  readonly #rfmSales;
  readonly #lifecycles;
  readonly #tiers;
  readonly #memberCount;
  readonly #recency;

  constructor(db: SqliteDatabase) {
    this.#sums = db.prepare<[string, string], DaySums>(`SELECT ${SUMS} FROM rollup_days WHERE day >= ? AND day < ?`);
    this.#days = db.prepare<[string, string], DayRow>(`SELECT ${DAY_FIELDS} FROM rollup_days WHERE day >= ? AND day < ? ORDER BY day`);
    this.#members = db.prepare<[string, string], MemberPeriodFigures>(
      `SELECT COUNT(*) AS active, COALESCE(SUM(orders >= 1), 0) AS buyers, COALESCE(SUM(orders >= 2), 0) AS repeaters,
              COALESCE(SUM(visits = 1), 0) AS visits1, COALESCE(SUM(visits = 2), 0) AS visits2,
              COALESCE(SUM(visits BETWEEN 3 AND 5), 0) AS visits3to5, COALESCE(SUM(visits >= 6), 0) AS visits6plus
       FROM (SELECT member_id, SUM(orders) AS orders, COUNT(*) AS visits
             FROM rollup_member_days WHERE day >= ? AND day < ? GROUP BY member_id)`,
    );
    // Weeks counted from the range's first day, so the last one may be short.
    this.#weeklyRepeat = db.prepare<[{ from: string; to: string }], { week: number; buyers: number; repeaters: number }>(
      `SELECT week, SUM(orders >= 1) AS buyers, SUM(orders >= 2) AS repeaters
       FROM (SELECT CAST((julianday(day) - julianday(@from)) / 7 AS INTEGER) AS week, member_id, SUM(orders) AS orders
             FROM rollup_member_days WHERE day >= @from AND day < @to GROUP BY week, member_id)
       GROUP BY week ORDER BY week`,
    );
    this.#lanes = db.prepare<[string, string], LaneSums>(
      `SELECT lane, SUM(recognitions) AS recognitions, SUM(unknown_faces) AS unknownFaces,
              SUM(face_linked_payments) AS faceLinkedPayments
       FROM rollup_lane_days WHERE day >= ? AND day < ? GROUP BY lane ORDER BY lane`,
    );
    this.#hours = db.prepare<[string, string], { day: string; hour: number; visits: number }>(
      'SELECT day, hour, visits FROM rollup_visit_hours WHERE day >= ? AND day < ?',
    );
    this.#rfmMembers = db.prepare<[], { rfm: string; members: number }>(
      'SELECT rfm, COUNT(*) AS members FROM member_segments GROUP BY rfm',
    );
    this.#rfmSales = db.prepare<[string, string], { rfm: string; salesFen: number }>(
      `SELECT s.rfm AS rfm, SUM(d.sales_fen) AS salesFen
       FROM rollup_member_days d JOIN member_segments s ON s.member_id = d.member_id
       WHERE d.day >= ? AND d.day < ? GROUP BY s.rfm`,
    );
    this.#lifecycles = db.prepare<[], { lifecycle: string; members: number }>(
      'SELECT lifecycle, COUNT(*) AS members FROM member_segments GROUP BY lifecycle',
    );
    this.#tiers = db.prepare<[], { tier: string; members: number }>(
      'SELECT tier_name AS tier, COUNT(*) AS members FROM member_tiers GROUP BY tier_name',
    );
    this.#memberCount = db.prepare<[], { n: number }>('SELECT COUNT(*) AS n FROM members');
    this.#recency = db.prepare<[{ d31: number; d61: number; d181: number }], RecencyCounts>(
      `SELECT COALESCE(SUM(last_purchase_at_ms > @d31), 0) AS days0to30,
              COALESCE(SUM(last_purchase_at_ms <= @d31 AND last_purchase_at_ms > @d61), 0) AS days31to60,
              COALESCE(SUM(last_purchase_at_ms <= @d61 AND last_purchase_at_ms > @d181), 0) AS days61to180,
              COALESCE(SUM(last_purchase_at_ms <= @d181), 0) AS over180,
              COALESCE(SUM(last_purchase_at_ms IS NULL), 0) AS never
       FROM member_segments`,
    );
  }

  sums(from: LocalDate, to: LocalDate): DaySums {
    return this.#sums.get(from, to)!;
  }

  days(from: LocalDate, to: LocalDate): DayRow[] {
    return this.#days.all(from, to);
  }

  /** Every day's sums before `to`: what was issued and spent up to then, for the outstanding liability. */
  sumsBefore(to: LocalDate): DaySums {
    return this.#sums.get('0000-00-00', to)!;
  }

  members(from: LocalDate, to: LocalDate): MemberPeriodFigures {
    return this.#members.get(from, to)!;
  }

  weeklyRepeat(from: LocalDate, to: LocalDate): Array<{ week: number; buyers: number; repeaters: number }> {
    return this.#weeklyRepeat.all({ from, to });
  }

  lanes(from: LocalDate, to: LocalDate): LaneSums[] {
    return this.#lanes.all(from, to);
  }

  visitHours(from: LocalDate, to: LocalDate): Array<{ day: string; hour: number; visits: number }> {
    return this.#hours.all(from, to);
  }

  /** Members per RFM segment now, and the sales of the period by the segment its members are in now. */
  rfm(from: LocalDate, to: LocalDate): { members: Map<string, number>; salesFen: Map<string, number> } {
    return {
      members: new Map(this.#rfmMembers.all().map((r) => [r.rfm, r.members])),
      salesFen: new Map(this.#rfmSales.all(from, to).map((r) => [r.rfm, r.salesFen])),
    };
  }

  lifecycles(): Map<string, number> {
    return new Map(this.#lifecycles.all().map((r) => [r.lifecycle, r.members]));
  }

  /** Members per stored tier; members who never paid have no tier row yet. */
  tiers(): { byTier: Map<string, number>; members: number } {
    return { byTier: new Map(this.#tiers.all().map((r) => [r.tier, r.members])), members: this.#memberCount.get()!.n };
  }

  /** Members by whole days since their last purchase as of `asOfMs` (segments' last purchase): 0–30, 31–60, 61–180, more. */
  recency(asOfMs: EpochMs): RecencyCounts {
    const day = 86_400_000;
    return this.#recency.get({ d31: asOfMs - 31 * day, d61: asOfMs - 61 * day, d181: asOfMs - 181 * day })!;
  }
}
