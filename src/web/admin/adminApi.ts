import type { Consent, ConsentMethod, FaceRecord, Member } from '../../ledger/types.js';
import type { DetailsView, OverviewView, PeriodFigures, SeriesView } from '../../services/analyticsView.js';
import type { OperatingPointView } from '../../services/operatingPointView.js';

export type { DetailsView, OperatingPointView, OverviewView, PeriodFigures, SeriesView };

/** A period of store-local dates, `to` exclusive. */
export interface Period {
  from: string;
  to: string;
}

/** A coupon as `POST /api/coupons/batches` takes it: yuan and days. */
export interface CouponTerms {
  title: string;
  amountOffYuan: number;
  minSpendYuan: number;
  validDays: number;
}

/** `POST /api/coupons/batches`. */
export interface CouponBatchAnswer {
  batchId: string;
  issued: number;
  skipped: number;
  optedOut: number;
  duplicate: boolean;
}

export type { ConsentMethod, FaceRecord, Member };

/**
 * Mirrors `MemberSummary` in src/ledger/membershipLedger.ts, which cannot be imported here
 * because it pulls in the database layer.
 */
export interface MembershipSummary {
  tier: { name: string; discountRate: number };
  points: number;
  balanceYuan: number;
  spendInWindowYuan: number;
}

/** `GET /api/members/:id`: the member with what the admin decides enrollment on. */
export interface MemberDetail extends Member {
  faces: FaceRecord[];
  faceConsent: Consent | null;
  /** Absent from a service older than the membership ledger. */
  membership?: MembershipSummary;
  /** Absent from a service older than the face-coverage check. */
  faceCoverage?: FaceCoverage;
}

/** Mirrors `FaceCoverage` in src/services/faceCoverage.ts: whether the member's faces are enough to name them. */
export interface FaceCoverage {
  faces: number;
  warning: 'no-face' | 'single-face' | 'faces-too-alike' | null;
  message: string | null;
}

/** `DELETE /api/members/:id/consent`. */
export interface ConsentWithdrawal {
  memberId: string;
  deletedFaces: number;
}

/**
 * One entry of `GET /api/reviews`: at a till, the face at the scanner was recognized as one
 * member while another member paid. `memberId` is the payer.
 */
export interface Review {
  /** ISO time the payment was flagged. */
  at: string;
  memberId: string;
  orderId: string;
  lane: string;
  faceMemberId: string;
  payerMemberId: string;
}

/** The processing log as the service names the file. */
export interface AuditExport {
  blob: Blob;
  filename: string;
}

/** `GET /api/members/:id/qr`. */
export interface MemberQr {
  code: string;
  /** ISO time the code stops working. */
  expiresAt: string;
}

/** Mirrors `LaneView` in src/lanes/laneDirectory.ts, which cannot be imported here because it pulls in the service's modules. */
export interface LaneView {
  id: string;
  camera: { kind: string; state: string; detail?: string; framesIn: number; framesDropped: number };
  scanner: { kind: string; state: string; detail?: string; scansIn: number; scansDropped: number };
  connectedTills: number;
}

export interface RejectedImage {
  label: string;
  reason: string;
  message: string;
}

/** Both the 201 (some faces enrolled) and the 422 (none usable) answers of a face upload. */
export interface EnrollAnswer {
  faces: FaceRecord[];
  rejected: RejectedImage[];
}

/** What the admin recorded about the member's consent; both are needed the first time only. */
export interface ConsentInput {
  consentMethod?: ConsentMethod;
  staff?: string;
}

/**
 * An answer that is not a success. `message` is the service's own sentence, shown to the
 * admin unchanged because it says what to do; `code` is empty when the answer carried none.
 */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** A segment filter as the member list, coupon batches and messages take it; absent = any. */
export interface SegmentFilter {
  lifecycle?: string;
  rfm?: string;
  tag?: string;
}

/** `GET /api/segments`: members per lifecycle, RFM segment and (most used) tag. */
export interface SegmentCounts {
  members: number;
  lifecycle: Record<string, number>;
  rfm: Record<string, number>;
  tags: Array<{ tag: string; members: number }>;
}

/** `POST /api/messages/campaigns` and `GET /api/messages/campaigns/:id`: delivery counts per status. */
export interface CampaignAnswer {
  campaignId: string;
  counts: Record<'pending' | 'sent' | 'failed' | 'opted-out' | 'no-phone', number>;
  duplicate?: boolean;
}

/** `GET /api/campaigns/rules`: the rules in force, as a tree of plain values the editor walks. */
export interface CampaignRulesView {
  rules: Record<string, Record<string, unknown>>;
  source: 'settings' | 'saved' | 'chain';
  updatedAt: string | null;
  updatedBy: string | null;
  /** With source chain: the version of the chain's rules, set by its owner at HQ. */
  chainVersion?: number;
}

/** Network failures, where there is no service answer to show. */
export class NetworkError extends Error {}

/** The REST API as the admin page uses it; every call sends the admin token. */
export class AdminApi {
  constructor(private readonly token: string) {}

  async searchMembers(query: string): Promise<Member[]> {
    const params = new URLSearchParams();
    if (query) params.set('query', query);
    const answer = await this.call<{ members: Member[] }>('GET', `/api/members?${params}`);
    return answer.members;
  }

  getMember(id: string): Promise<MemberDetail> {
    return this.call('GET', `/api/members/${encodeURIComponent(id)}`);
  }

  createMember(input: { name: string; phone?: string }): Promise<Member> {
    return this.call('POST', '/api/members', jsonBody(input));
  }

  async deleteMember(id: string): Promise<void> {
    await this.call('DELETE', `/api/members/${encodeURIComponent(id)}`);
  }

  enrollFromPhotos(memberId: string, photos: readonly File[], consent: ConsentInput): Promise<EnrollAnswer> {
    const form = new FormData();
    for (const photo of photos) form.append('photo', photo, photo.name);
    // Absent rather than empty: the service validates any field that is present.
    if (consent.consentMethod) form.append('consentMethod', consent.consentMethod);
    if (consent.staff) form.append('staff', consent.staff);
    return this.enroll(memberId, { body: form });
  }

  enrollFromLane(memberId: string, lane: string, consent: ConsentInput): Promise<EnrollAnswer> {
    return this.enroll(memberId, jsonBody({ fromLane: lane, ...consent }));
  }

  /** A signed, short-lived member QR (`ML1.…`) the member can show at any till instead of a face or phone number. */
  memberQr(memberId: string): Promise<MemberQr> {
    return this.call('GET', `/api/members/${encodeURIComponent(memberId)}/qr`);
  }

  async deleteFace(memberId: string, faceId: string): Promise<void> {
    await this.call('DELETE', `/api/members/${encodeURIComponent(memberId)}/faces/${encodeURIComponent(faceId)}`);
  }

  /** Withdraws the member's face consent; the service deletes their face data at once. */
  withdrawConsent(memberId: string): Promise<ConsentWithdrawal> {
    return this.call('DELETE', `/api/members/${encodeURIComponent(memberId)}/consent`);
  }

  segmentCounts(): Promise<SegmentCounts> {
    return this.call('GET', '/api/segments');
  }

  /** The first `limit` members of a segment, newest first. */
  async membersOf(filter: SegmentFilter, limit: number): Promise<Member[]> {
    const params = new URLSearchParams({ limit: String(limit) });
    for (const [key, value] of Object.entries(filter)) if (value) params.set(key, value);
    const answer = await this.call<{ members: Member[] }>('GET', `/api/members?${params}`);
    return answer.members;
  }

  /** One coupon to every member of the segment (who has not opted out of marketing), once per batch id. */
  issueCouponBatch(batchId: string, segment: SegmentFilter, coupon: CouponTerms): Promise<CouponBatchAnswer> {
    return this.call('POST', '/api/coupons/batches', jsonBody({ batchId, segment, coupon }));
  }

  sendMessage(campaignId: string, segment: SegmentFilter, template: string, text: string): Promise<CampaignAnswer> {
    return this.call('POST', '/api/messages/campaigns', jsonBody({ campaignId, segment, template, text }));
  }

  messageCampaign(campaignId: string): Promise<CampaignAnswer> {
    return this.call('GET', `/api/messages/campaigns/${encodeURIComponent(campaignId)}?limit=1`);
  }

  campaignRules(): Promise<CampaignRulesView> {
    return this.call('GET', '/api/campaigns/rules');
  }

  saveCampaignRules(rules: CampaignRulesView['rules']): Promise<CampaignRulesView> {
    return this.call('PUT', '/api/campaigns/rules', jsonBody(rules));
  }

  async reviews(): Promise<Review[]> {
    const answer = await this.call<{ reviews: Review[] }>('GET', '/api/reviews');
    return answer.reviews;
  }

  /** The whole processing log as CSV, read into memory: it needs the token, so a plain link cannot fetch it. */
  async exportAudit(): Promise<AuditExport> {
    const response = await this.request('GET', '/api/audit.csv', {});
    if (!response.ok) throw failure(response.status, await response.json().catch(() => undefined));
    let blob: Blob;
    try {
      blob = await response.blob();
    } catch (err) {
      // The service cuts the body off when the export breaks midway; half a log must not be saved as the log.
      throw new NetworkError(err instanceof Error ? err.message : String(err));
    }
    return { blob, filename: attachmentName(response.headers.get('content-disposition')) ?? 'memberlens-audit.csv' };
  }

  operatingPoint(): Promise<OperatingPointView> {
    return this.call('GET', '/api/recognition/operating-point');
  }

  overview(period: Period): Promise<OverviewView> {
    return this.call('GET', `/api/analytics/overview?${new URLSearchParams({ ...period })}`);
  }

  series(period: Period): Promise<SeriesView> {
    return this.call('GET', `/api/analytics/series?${new URLSearchParams({ ...period })}`);
  }

  details(period: Period): Promise<DetailsView> {
    return this.call('GET', `/api/analytics/details?${new URLSearchParams({ ...period })}`);
  }

  async lanes(): Promise<LaneView[]> {
    const answer = await this.call<{ lanes: LaneView[] }>('GET', '/api/lanes');
    return answer.lanes;
  }

  private async enroll(memberId: string, init: RequestInit): Promise<EnrollAnswer> {
    const { status, body } = await this.send('POST', `/api/members/${encodeURIComponent(memberId)}/faces`, init);
    // A 422 carrying the rejection list is an answer, not a failure: it says why each photo was not used.
    if ((status === 201 || status === 422) && isEnrollAnswer(body)) return body;
    throw failure(status, body);
  }

  private async call<T>(method: string, url: string, init: RequestInit = {}): Promise<T> {
    const { status, body } = await this.send(method, url, init);
    if (status >= 200 && status < 300) return body as T;
    throw failure(status, body);
  }

  private async send(method: string, url: string, init: RequestInit): Promise<{ status: number; body: unknown }> {
    const response = await this.request(method, url, init);
    const body: unknown = response.status === 204 ? undefined : await response.json().catch(() => undefined);
    return { status: response.status, body };
  }

  private async request(method: string, url: string, init: RequestInit): Promise<Response> {
    try {
      return await fetch(url, {
        ...init,
        method,
        headers: { ...(init.headers as Record<string, string> | undefined), authorization: `Bearer ${this.token}` },
      });
    } catch (err) {
      throw new NetworkError(err instanceof Error ? err.message : String(err));
    }
  }
}

/** The file name from `Content-Disposition: attachment; filename="…"` (express's `res.attachment`). */
function attachmentName(header: string | null): string | undefined {
  const encoded = header?.match(/filename\*=UTF-8''([^;]+)/i)?.[1];
  if (encoded) {
    try {
      return decodeURIComponent(encoded);
    } catch {
      // Fall through to the plain name.
    }
  }
  // Quoted only when the name needs it.
  return header?.match(/filename=(?:"([^"]+)"|([^;\s]+))/i)?.slice(1).find(Boolean);
}

function failure(status: number, body: unknown): ApiError {
  const error = (body as { error?: { code?: unknown; message?: unknown } } | undefined)?.error;
  const message = typeof error?.message === 'string' ? error.message : '';
  return new ApiError(status, typeof error?.code === 'string' ? error.code : '', message);
}

function jsonBody(value: unknown): RequestInit {
  return { body: JSON.stringify(value), headers: { 'content-type': 'application/json' } };
}

function isEnrollAnswer(body: unknown): body is EnrollAnswer {
  return typeof body === 'object' && body !== null && Array.isArray((body as EnrollAnswer).rejected);
}
