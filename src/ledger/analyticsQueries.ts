import type { SqliteDatabase } from './database.js';
import { addDays, type LocalDate } from './storeCalendar.js';
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

const MEMBER_FIGURES = `
  COUNT(*) AS active, COALESCE(SUM(orders >= 1), 0) AS buyers, COALESCE(SUM(orders >= 2), 0) AS repeaters,
  COALESCE(SUM(visits = 1), 0) AS visits1, COALESCE(SUM(visits = 2), 0) AS visits2,
  COALESCE(SUM(visits BETWEEN 3 AND 5), 0) AS visits3to5, COALESCE(SUM(visits >= 6), 0) AS visits6plus`;

/**
 * A period whose member-days are at least this share of all the store has are grouped from the
 * member-months: their member-first scan reads every month of the history, so it only beats
 * sorting the period's own member-days when the period holds most of them.
 */
const MONTHS_FROM_SHARE = 0.5;

/** A period and the whole months around it: `headFrom` the first month's first day, `tailTo` the day after the last month. */
interface MonthSpan {
  from: LocalDate;
  to: LocalDate;
  headFrom: LocalDate;
  tailTo: LocalDate;
  fromMonth: string;
  toMonth: string;
}

/** The first day of the month after `date`'s. */
function nextMonthStart(date: LocalDate): LocalDate {
  const d = new Date(`${date.slice(0, 7)}-01T00:00:00Z`);
  d.setUTCMonth(d.getUTCMonth() + 1);
  return d.toISOString().slice(0, 10);
}

/**
 * The dashboard's reads: sums over the rollup tables for a range of store-local dates
 * (`from` inclusive, `to` exclusive), and counts over the members' current segments and tiers.
 * None of them reads ledger_entries.
 */
export class AnalyticsQueries {
  readonly #sums;
  readonly #days;
  readonly #membersByDays;
  readonly #membersByMonths;
  readonly #edgeCorrection;
  readonly #edgeDays;
  readonly #membersAllMonths;
  readonly #memberDaysSpan;
  readonly #memberDaysIn;
  readonly #weekWindows;
  readonly #shortWeek;
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
    this.#membersByDays = db.prepare<[string, string], MemberPeriodFigures>(
      `SELECT ${MEMBER_FIGURES}
       FROM (SELECT member_id, SUM(orders) AS orders, COUNT(*) AS visits
             FROM rollup_member_days WHERE day >= ? AND day < ? GROUP BY member_id)`,
    );
    // Member-first keys: the GROUP BY streams through the months in key order, no sort.
    this.#membersByMonths = db.prepare<[string, string], MemberPeriodFigures>(
      `SELECT ${MEMBER_FIGURES}
       FROM (SELECT member_id, SUM(orders) AS orders, SUM(visits) AS visits
             FROM rollup_member_months WHERE month >= ? AND month < ? GROUP BY member_id)`,
    );
    this.#membersAllMonths = db.prepare<[], MemberPeriodFigures>(
      `SELECT ${MEMBER_FIGURES}
       FROM (SELECT member_id, SUM(orders) AS orders, SUM(visits) AS visits FROM rollup_member_months GROUP BY member_id)`,
    );
    this.#memberDaysSpan = db.prepare<[], { first: string | null; last: string | null }>(
      // Apart, so each is one look at an end of the key (together they would scan every row).
      'SELECT (SELECT MIN(day) FROM rollup_member_days) AS first, (SELECT MAX(day) FROM rollup_member_days) AS last',
    );
    // What taking the months' days outside the period off changes, member by member: only the
    // members seen on those days are read, each by its key, instead of joining every member.
    this.#edgeCorrection = db.prepare<[MonthSpan], MemberPeriodFigures>(
      `SELECT COALESCE(SUM(g_v - e_v > 0), 0) - COUNT(*) AS active,
              COALESCE(SUM(g_o - e_o >= 1) - SUM(g_o >= 1), 0) AS buyers,
              COALESCE(SUM(g_o - e_o >= 2) - SUM(g_o >= 2), 0) AS repeaters,
              COALESCE(SUM(g_v - e_v = 1) - SUM(g_v = 1), 0) AS visits1,
              COALESCE(SUM(g_v - e_v = 2) - SUM(g_v = 2), 0) AS visits2,
              COALESCE(SUM(g_v - e_v BETWEEN 3 AND 5) - SUM(g_v BETWEEN 3 AND 5), 0) AS visits3to5,
              COALESCE(SUM(g_v - e_v >= 6) - SUM(g_v >= 6), 0) AS visits6plus
       FROM (SELECT e.e_o AS e_o, e.e_v AS e_v, SUM(m.orders) AS g_o, SUM(m.visits) AS g_v
             FROM (SELECT member_id, SUM(orders) AS e_o, COUNT(*) AS e_v FROM rollup_member_days
                   WHERE (day >= @headFrom AND day < @from) OR (day >= @to AND day < @tailTo) GROUP BY member_id) e
             JOIN rollup_member_months m ON m.member_id = e.member_id AND m.month >= @fromMonth AND m.month < @toMonth
             GROUP BY e.member_id)`,
    );
    this.#edgeDays = db.prepare<[MonthSpan], { n: number }>(
      `SELECT EXISTS (SELECT 1 FROM rollup_member_days WHERE day >= @headFrom AND day < @from)
           OR EXISTS (SELECT 1 FROM rollup_member_days WHERE day >= @to AND day < @tailTo) AS n`,
    );
    this.#memberDaysIn = db.prepare<[string, string], { n: number }>(
      'SELECT COALESCE(SUM(member_visits), 0) AS n FROM rollup_days WHERE day >= ? AND day < ?',
    );
    this.#weekWindows = db.prepare<[string, string], { day: string; buyers: number; repeaters: number }>(
      'SELECT day, buyers, repeaters FROM rollup_week_windows WHERE day >= ? AND day < ?',
    );
    this.#shortWeek = db.prepare<[string, string], { buyers: number; repeaters: number }>(
      `SELECT COALESCE(SUM(orders >= 1), 0) AS buyers, COALESCE(SUM(orders >= 2), 0) AS repeaters
       FROM (SELECT member_id, SUM(orders) AS orders FROM rollup_member_days WHERE day >= ? AND day < ? GROUP BY member_id)`,
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
      // Each member's sales summed first, so a segment is looked up once per member, not per day.
      `SELECT s.rfm AS rfm, SUM(d.salesFen) AS salesFen
       FROM (SELECT member_id, SUM(sales_fen) AS salesFen FROM rollup_member_days WHERE day >= ? AND day < ? GROUP BY member_id) d
       JOIN member_segments s ON s.member_id = d.member_id
       GROUP BY s.rfm`,
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

  /**
   * From the member-days, or for a period holding most of the store's history (MONTHS_FROM_SHARE)
   * from the member-months, less the days of their first and last month outside the period.
   */
  members(from: LocalDate, to: LocalDate): MemberPeriodFigures {
    const inPeriod = this.#memberDaysIn.get(from, to)!.n;
    if (inPeriod === 0 || inPeriod < MONTHS_FROM_SHARE * this.#memberDaysIn.get('0000-00-00', '9999-99-99')!.n) {
      return this.#membersByDays.get(from, to)!;
    }
    const tailTo = nextMonthStart(addDays(to, -1));
    const span: MonthSpan = { from, to, headFrom: `${from.slice(0, 7)}-01`, tailTo, fromMonth: from.slice(0, 7), toMonth: tailTo.slice(0, 7) };
    // A period holding the whole history needs no month picked out: the scan skips the test.
    const history = this.#memberDaysSpan.get()!;
    if (history.first !== null && history.last !== null && from <= history.first && to > history.last) return this.#membersAllMonths.get()!;
    const months = this.#membersByMonths.get(span.fromMonth, span.toMonth)!;
    if (this.#edgeDays.get(span)!.n === 0) return months;
    const correction = this.#edgeCorrection.get(span)!;
    return Object.fromEntries(
      Object.entries(months).map(([name, count]) => [name, count + correction[name as keyof MemberPeriodFigures]]),
    ) as unknown as MemberPeriodFigures;
  }

  /**
   * Buying and repeating members per week from `from` (weeks numbered from 0): whole weeks from
   * the maintained seven-day windows, a short last week from its days.
   */
  weeklyRepeat(from: LocalDate, to: LocalDate): Array<{ week: number; buyers: number; repeaters: number }> {
    const windows = new Map(this.#weekWindows.all(from, to).map((w) => [w.day, w]));
    const weeks = [];
    for (let week = 0, start = from; start < to; week++, start = addDays(start, 7)) {
      const end = addDays(start, 7);
      const counts = end <= to ? windows.get(start) : this.#shortWeek.get(start, to);
      weeks.push({ week, buyers: counts?.buyers ?? 0, repeaters: counts?.repeaters ?? 0 });
    }
    return weeks;
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
