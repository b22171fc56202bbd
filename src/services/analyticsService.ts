import { addDays, daysBetween, weekdayOf, type DaySums, type LocalDate, type MemberStore } from '../ledger/index.js';
import { LIFECYCLES, RFM_SEGMENTS } from '../operations/segments.js';
import type { DetailsView, OverviewView, PeriodFigures, SeriesDay, SeriesView } from './analyticsView.js';
import type { SegmentService } from './segmentService.js';

/** A range of store-local dates, `to` exclusive, as the routes validated it. */
export interface Period {
  from: LocalDate;
  to: LocalDate;
}


const VISIT_BUCKETS = ['1', '2', '3-5', '6+'] as const satisfies ReadonlyArray<DetailsView['visitFrequency'][number]['visits']>;

/**
 * The owner's dashboard: what membership does for the shop, from the ledger's daily rollups
 * (never the ledger itself). Periods are store-local dates; the previous period is the one of
 * equal length that ends where this one starts.
 */
export class AnalyticsService {
  constructor(
    private readonly deps: {
      store: Pick<MemberStore, 'analytics' | 'calendar'>;
      segments: Pick<SegmentService, 'fillMissing'>;
      /** Tier names from lowest to highest (membership.tiers); members who never paid are in the lowest. */
      tierNames: readonly string[];
      clock?: () => number;
    },
  ) {}

  get timeZone(): string {
    return this.deps.store.calendar.timeZone;
  }

  overview(period: Period): OverviewView {
    const length = daysBetween(period.from, period.to);
    const previous = { from: addDays(period.from, -length), to: period.from };
    return { ...this.figures(period), timeZone: this.timeZone, previous: this.figures(previous) };
  }

  /** One entry per day of the period (days without activity as zeros) and the repeat rate per week from `from`. */
  series(period: Period): SeriesView {
    const { analytics } = this.deps.store;
    const rows = new Map(analytics.days(period.from, period.to).map((row) => [row.day, row]));
    const days: SeriesDay[] = [];
    for (let date = period.from; date < period.to; date = addDays(date, 1)) {
      const row = rows.get(date);
      days.push({
        date,
        salesFen: { members: row?.memberSalesFen ?? 0, nonMembers: row?.nonMemberSalesFen ?? 0 },
        orders: { members: row?.memberOrders ?? 0, nonMembers: row?.nonMemberOrders ?? 0 },
        newMembers: {
          byPayment: row?.newByPayment ?? 0,
          byFace: row?.newByFace ?? 0,
          byAdmin: row?.newByAdmin ?? 0,
          byImport: row?.newByImport ?? 0,
        },
        memberVisits: row?.memberVisits ?? 0,
      });
    }
    const weeks = new Map(analytics.weeklyRepeat(period.from, period.to).map((w) => [w.week, w]));
    const repeatRateByWeek = [];
    for (let week = 0, from = period.from; from < period.to; week++, from = addDays(from, 7)) {
      const w = weeks.get(week);
      const to = addDays(from, 7) < period.to ? addDays(from, 7) : period.to;
      repeatRateByWeek.push({ from, to, buyingMembers: w?.buyers ?? 0, repeatRate: ratio(w?.repeaters ?? 0, w?.buyers ?? 0) });
    }
    return { from: period.from, to: period.to, timeZone: this.timeZone, days, repeatRateByWeek };
  }

  /** Everything else the dashboard page draws: segments, tiers, recency, visit frequency and hours, lanes, liability. */
  details(period: Period): DetailsView {
    const { analytics } = this.deps.store;
    // Members who joined since the last full pass have no stored segment yet.
    this.deps.segments.fillMissing();
    const rfm = analytics.rfm(period.from, period.to);
    const rfmSalesTotal = [...rfm.salesFen.values()].reduce((a, b) => a + b, 0);
    const lifecycles = analytics.lifecycles();
    const tiers = analytics.tiers();
    const storedTiers = [...tiers.byTier.values()].reduce((a, b) => a + b, 0);
    const members = analytics.members(period.from, period.to);
    const sums = analytics.sums(period.from, period.to);
    const before = analytics.sumsBefore(period.to);
    const heatmap: number[][] = Array.from({ length: 7 }, () => new Array<number>(24).fill(0));
    for (const { day, hour, visits } of analytics.visitHours(period.from, period.to)) heatmap[weekdayOf(day)]![hour]! += visits;
    return {
      from: period.from,
      to: period.to,
      timeZone: this.timeZone,
      rfm: RFM_SEGMENTS.map((segment) => ({
        segment,
        members: rfm.members.get(segment) ?? 0,
        salesFen: rfm.salesFen.get(segment) ?? 0,
        salesShare: ratio(rfm.salesFen.get(segment) ?? 0, rfmSalesTotal),
      })),
      lifecycle: LIFECYCLES.map((lifecycle) => ({ lifecycle, members: lifecycles.get(lifecycle) ?? 0 })),
      tiers: this.deps.tierNames.map((tier, rank) => ({
        tier,
        members: (tiers.byTier.get(tier) ?? 0) + (rank === 0 ? tiers.members - storedTiers : 0),
      })),
      // As of the period's end (to the day; hours of time zone do not move whole-day buckets
      // much), or now when it has not ended yet.
      recency: analytics.recency(Math.min(this.now(), Date.parse(`${period.to}T00:00:00Z`))),
      visitFrequency: VISIT_BUCKETS.map((visits, i) => ({
        visits,
        members: [members.visits1, members.visits2, members.visits3to5, members.visits6plus][i]!,
      })),
      lanes: analytics.lanes(period.from, period.to).map((lane) => ({ ...lane, facesSeen: lane.recognitions + lane.unknownFaces })),
      // Rows Monday (0) to Sunday (6), columns the local hour 0–23.
      visitHeatmap: heatmap,
      liability: {
        points: {
          issued: sums.pointsIssued,
          redeemed: sums.pointsRedeemed,
          expired: sums.pointsExpired,
          reversed: sums.pointsReversed,
          outstanding: before.pointsIssued - before.pointsRedeemed - before.pointsExpired - before.pointsReversed,
        },
        storedValueFen: {
          issued: sums.storedIssuedFen,
          redeemed: sums.storedRedeemedFen,
          outstanding: before.storedIssuedFen - before.storedRedeemedFen,
        },
      },
    };
  }

  private figures(period: Period): PeriodFigures {
    const { analytics } = this.deps.store;
    const sums: DaySums = analytics.sums(period.from, period.to);
    const members = analytics.members(period.from, period.to);
    const total = sums.memberSalesFen + sums.nonMemberSalesFen;
    const newMembers = {
      byPayment: sums.newByPayment,
      byFace: sums.newByFace,
      byAdmin: sums.newByAdmin,
      byImport: sums.newByImport,
    };
    return {
      from: period.from,
      to: period.to,
      salesFen: { total, members: sums.memberSalesFen, nonMembers: sums.nonMemberSalesFen },
      memberShareOfSales: ratio(sums.memberSalesFen, total),
      orders: { total: sums.memberOrders + sums.nonMemberOrders, members: sums.memberOrders, nonMembers: sums.nonMemberOrders },
      averageTicketFen: {
        members: sums.memberOrders > 0 ? Math.round(sums.memberSalesFen / sums.memberOrders) : null,
        nonMembers: sums.nonMemberOrders > 0 ? Math.round(sums.nonMemberSalesFen / sums.nonMemberOrders) : null,
      },
      repeatRate: ratio(members.repeaters, members.buyers),
      activeMembers: members.active,
      buyingMembers: members.buyers,
      newMembers: { total: newMembers.byPayment + newMembers.byFace + newMembers.byAdmin + newMembers.byImport, ...newMembers },
      memberVisits: sums.memberVisits,
      coupons: { issued: sums.couponsIssued, redeemed: sums.couponsRedeemed, expired: sums.couponsExpired, salesFen: sums.couponSalesFen },
    };
  }

  private now(): number {
    return (this.deps.clock ?? Date.now)();
  }
}

function ratio(part: number, whole: number): number | null {
  return whole > 0 ? part / whole : null;
}
