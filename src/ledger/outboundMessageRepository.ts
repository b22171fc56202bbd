import type { SqliteDatabase } from './database.js';
import type { EpochMs } from './types.js';

/** Where a message to one member stands: waiting to be sent (or re-sent), sent, given up, or never sent. */
export const MESSAGE_STATUSES = ['pending', 'sent', 'failed', 'opted-out', 'no-phone'] as const;
export type MessageStatus = (typeof MESSAGE_STATUSES)[number];

export interface OutboundCampaign {
  campaignId: string;
  template: string;
  text: string;
  /** The segment filter the campaign went to, as JSON. */
  audience: string;
  actor: string;
  createdAtMs: EpochMs;
}

/** One message as logged: who, which template, when, and how its delivery went — never the phone. */
export interface OutboundMessage {
  id: string;
  campaignId: string;
  memberId: string;
  template: string;
  status: MessageStatus;
  attempts: number;
  nextAttemptAtMs: EpochMs | null;
  lastError: string | null;
  queuedAtMs: EpochMs;
  sentAtMs: EpochMs | null;
  updatedAtMs: EpochMs;
}

interface MessageRow {
  id: string;
  campaign_id: string;
  member_id: string;
  template: string;
  status: MessageStatus;
  attempts: number;
  next_attempt_at_ms: number | null;
  last_error: string | null;
  queued_at_ms: number;
  sent_at_ms: number | null;
  updated_at_ms: number;
}

/**
 * The outbound message log: campaigns to a segment and one row per member and campaign, whose
 * id (campaign and member) makes queueing the same campaign again a no-op.
 */
export class OutboundMessageRepository {
  readonly #getCampaign;
  readonly #addCampaign;
  readonly #queue;
  readonly #due;
  readonly #get;
  readonly #sent;
  readonly #retry;
  readonly #failed;
  readonly #notSent;
  readonly #counts;
  readonly #ofCampaign;

  constructor(db: SqliteDatabase) {
    this.#getCampaign = db.prepare<[string], { campaign_id: string; template: string; text: string; audience: string; actor: string; created_at_ms: number }>(
      'SELECT * FROM outbound_campaigns WHERE campaign_id = ?',
    );
    this.#addCampaign = db.prepare<[string, string, string, string, string, number]>(
      'INSERT INTO outbound_campaigns (campaign_id, template, text, audience, actor, created_at_ms) VALUES (?, ?, ?, ?, ?, ?)',
    );
    this.#queue = db.prepare<[string, string, string, string, MessageStatus, number | null, number, number]>(
      `INSERT OR IGNORE INTO outbound_messages (id, campaign_id, member_id, template, status, next_attempt_at_ms, queued_at_ms, updated_at_ms)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    this.#due = db.prepare<[number, number], MessageRow>(
      `SELECT * FROM outbound_messages WHERE status = 'pending' AND next_attempt_at_ms <= ? ORDER BY next_attempt_at_ms, id LIMIT ?`,
    );
    this.#get = db.prepare<[string], MessageRow>('SELECT * FROM outbound_messages WHERE id = ?');
    this.#sent = db.prepare<[number, number, string]>(
      `UPDATE outbound_messages SET status = 'sent', attempts = attempts + 1, next_attempt_at_ms = NULL, last_error = NULL,
         sent_at_ms = ?, updated_at_ms = ? WHERE id = ? AND status = 'pending'`,
    );
    this.#retry = db.prepare<[number, string, number, string]>(
      `UPDATE outbound_messages SET attempts = attempts + 1, next_attempt_at_ms = ?, last_error = ?, updated_at_ms = ?
       WHERE id = ? AND status = 'pending'`,
    );
    this.#failed = db.prepare<[string, number, string]>(
      `UPDATE outbound_messages SET status = 'failed', attempts = attempts + 1, next_attempt_at_ms = NULL, last_error = ?, updated_at_ms = ?
       WHERE id = ? AND status = 'pending'`,
    );
    this.#notSent = db.prepare<[MessageStatus, number, string]>(
      `UPDATE outbound_messages SET status = ?, next_attempt_at_ms = NULL, updated_at_ms = ? WHERE id = ? AND status = 'pending'`,
    );
    this.#counts = db.prepare<[string], { status: MessageStatus; n: number }>(
      'SELECT status, count(*) AS n FROM outbound_messages WHERE campaign_id = ? GROUP BY status',
    );
    this.#ofCampaign = db.prepare<[string, string, number], MessageRow>(
      'SELECT * FROM outbound_messages WHERE campaign_id = ? AND member_id > ? ORDER BY member_id LIMIT ?',
    );
  }

  campaign(campaignId: string): OutboundCampaign | undefined {
    const row = this.#getCampaign.get(campaignId);
    return row && { campaignId: row.campaign_id, template: row.template, text: row.text, audience: row.audience, actor: row.actor, createdAtMs: row.created_at_ms };
  }

  addCampaign(campaign: OutboundCampaign): void {
    this.#addCampaign.run(campaign.campaignId, campaign.template, campaign.text, campaign.audience, campaign.actor, campaign.createdAtMs);
  }

  /** Queues one member's message; false when the campaign already had it. */
  queue(input: { id: string; campaignId: string; memberId: string; template: string; status: MessageStatus; atMs: EpochMs }): boolean {
    const next = input.status === 'pending' ? input.atMs : null;
    return this.#queue.run(input.id, input.campaignId, input.memberId, input.template, input.status, next, input.atMs, input.atMs).changes > 0;
  }

  /** Pending messages whose time has come, oldest first. */
  due(nowMs: EpochMs, limit: number): OutboundMessage[] {
    return this.#due.all(nowMs, limit).map(toMessage);
  }

  get(id: string): OutboundMessage | undefined {
    const row = this.#get.get(id);
    return row && toMessage(row);
  }

  markSent(id: string, atMs: EpochMs): void {
    this.#sent.run(atMs, atMs, id);
  }

  markRetry(id: string, nextAttemptAtMs: EpochMs, error: string, atMs: EpochMs): void {
    this.#retry.run(nextAttemptAtMs, error, atMs, id);
  }

  markFailed(id: string, error: string, atMs: EpochMs): void {
    this.#failed.run(error, atMs, id);
  }

  /** A pending message that must not go out after all: the member opted out, or has no phone now. */
  markNotSent(id: string, status: 'opted-out' | 'no-phone', atMs: EpochMs): void {
    this.#notSent.run(status, atMs, id);
  }

  /** How many of the campaign's messages are in each state. */
  statusCounts(campaignId: string): Record<MessageStatus, number> {
    const counts = Object.fromEntries(MESSAGE_STATUSES.map((s) => [s, 0])) as Record<MessageStatus, number>;
    for (const row of this.#counts.all(campaignId)) counts[row.status] = row.n;
    return counts;
  }

  /** The campaign's messages in member id order, after `afterMemberId`. */
  messagesOf(campaignId: string, afterMemberId: string, limit: number): OutboundMessage[] {
    return this.#ofCampaign.all(campaignId, afterMemberId, limit).map(toMessage);
  }
}

function toMessage(row: MessageRow): OutboundMessage {
  return {
    id: row.id,
    campaignId: row.campaign_id,
    memberId: row.member_id,
    template: row.template,
    status: row.status,
    attempts: row.attempts,
    nextAttemptAtMs: row.next_attempt_at_ms,
    lastError: row.last_error,
    queuedAtMs: row.queued_at_ms,
    sentAtMs: row.sent_at_ms,
    updatedAtMs: row.updated_at_ms,
  };
}
