// No imports: the dashboard page compiles against this file too (tsconfig.web.json).

/** Store-local date `YYYY-MM-DD`. */
export type LocalDateText = string;

/** The overview's figures for one period; the names are a public contract (PRODUCT.md, Round 2 additions). */
export interface PeriodFigures {
  from: LocalDateText;
  to: LocalDateText;
  salesFen: { total: number; members: number; nonMembers: number };
  /** Members' share of sales, 0–1; null without sales. */
  memberShareOfSales: number | null;
  orders: { total: number; members: number; nonMembers: number };
  /** Sales per order; null without orders. */
  averageTicketFen: { members: number | null; nonMembers: number | null };
  /** Members with ≥ 2 purchases ÷ members with ≥ 1; null when nobody bought. */
  repeatRate: number | null;
  /** Members who came (bought, or were recognized at a till). */
  activeMembers: number;
  /** Members who bought at least once. */
  buyingMembers: number;
  newMembers: { total: number; byPayment: number; byFace: number; byAdmin: number; byImport: number };
  memberVisits: number;
  /** Coupons issued, redeemed and expired in the period, and the sales (after the discount) the redeemed ones were used on. */
  coupons: { issued: number; redeemed: number; expired: number; salesFen: number };
}

/** `GET /api/analytics/overview`. */
export interface OverviewView extends PeriodFigures {
  timeZone: string;
  previous: PeriodFigures;
}

export interface SeriesDay {
  date: LocalDateText;
  salesFen: { members: number; nonMembers: number };
  orders: { members: number; nonMembers: number };
  newMembers: { byPayment: number; byFace: number; byAdmin: number; byImport: number };
  memberVisits: number;
}

/** `GET /api/analytics/series`: every day of the period, and the repeat rate per week from `from`. */
export interface SeriesView {
  from: LocalDateText;
  to: LocalDateText;
  timeZone: string;
  days: SeriesDay[];
  repeatRateByWeek: Array<{ from: LocalDateText; to: LocalDateText; buyingMembers: number; repeatRate: number | null }>;
}

/** `GET /api/analytics/details`: what else the dashboard draws. */
export interface DetailsView {
  from: LocalDateText;
  to: LocalDateText;
  timeZone: string;
  /** Members per RFM segment now, and the period's sales of the members now in it. */
  rfm: Array<{ segment: string; members: number; salesFen: number; salesShare: number | null }>;
  lifecycle: Array<{ lifecycle: string; members: number }>;
  tiers: Array<{ tier: string; members: number }>;
  /** Members by whole days since their last purchase. */
  recency: { days0to30: number; days31to60: number; days61to180: number; over180: number; never: number };
  /** Members by visits in the period. */
  visitFrequency: Array<{ visits: '1' | '2' | '3-5' | '6+'; members: number }>;
  lanes: Array<{ lane: string; facesSeen: number; recognitions: number; unknownFaces: number; faceLinkedPayments: number }>;
  /** Member visits, rows Monday (0) to Sunday (6), columns the local hour 0–23. */
  visitHeatmap: number[][];
  liability: {
    points: { issued: number; redeemed: number; expired: number; reversed: number; outstanding: number };
    storedValueFen: { issued: number; redeemed: number; outstanding: number };
  };
}
