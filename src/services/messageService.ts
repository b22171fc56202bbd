import { createHash } from 'node:crypto';
import type { MessagingSettings } from '../config/settingsSchema.js';
import { UserError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { MemberStore, MessageStatus, OutboundMessage, SegmentFilter } from '../ledger/index.js';
import type { MessageProvider } from '../messaging/providerWebhook.js';
import type { SegmentService } from './segmentService.js';

export interface CampaignRequest {
  campaignId: string;
  segment: SegmentFilter;
  /** The provider's template code. */
  template: string;
  /** The message; `{name}` is replaced by the member's name. */
  text: string;
  actor: string;
}

export interface CampaignView {
  campaignId: string;
  template: string;
  text: string;
  segment: SegmentFilter;
  createdAt: string;
  /** Messages per delivery status: pending, sent, failed, opted-out, no-phone. */
  counts: Record<MessageStatus, number>;
}

export interface MessageServiceDeps {
  /** `campaigns` holds the member's marketing opt-out, checked when the campaign is queued and again just before sending. */
  store: Pick<MemberStore, 'inTransaction' | 'members' | 'messages' | 'audit' | 'campaigns'>;
  /** Members who joined since the last full pass get their segment before the audience is taken. */
  segments: Pick<SegmentService, 'fillMissing'>;
  /** Undefined while messaging.providerUrl is not set: nothing can be sent. */
  provider: MessageProvider | undefined;
  settings: Pick<MessagingSettings, 'maxAttempts' | 'retryBaseDelayMs' | 'retryMaxDelayMs'>;
  log: Logger;
  clock?: () => number;
}

/** Members read per query when the audience is taken, and messages sent per delivery run. */
const PAGE = 500;
const DUE_PER_RUN = 50;

/**
 * Messages from the shop to a segment of its members through the shop's own SMS / WeChat
 * provider: the one owner of that rule. A campaign is queued whole, one logged message per
 * member (members who opted out of marketing, or have no phone, are logged as not sent);
 * delivery runs apart from the request, retries with exponential backoff, and gives up after
 * messaging.maxAttempts. The same campaign id queues nothing twice. The log holds who, which
 * template, when and the delivery status; a phone number appears only in the request to the
 * provider, never in the database log or a log line.
 */
export class MessageService {
  readonly #clock: () => number;

  constructor(private readonly deps: MessageServiceDeps) {
    this.#clock = deps.clock ?? Date.now;
  }

  get enabled(): boolean {
    return this.deps.provider !== undefined;
  }

  /** Queues the campaign for every member of the segment; `duplicate` when this campaign id was sent before with the same content. */
  sendToSegment(request: CampaignRequest): CampaignView & { duplicate: boolean } {
    const { store, segments } = this.deps;
    if (!this.enabled) {
      throw new UserError('No message provider is set: set messaging.providerUrl and messaging.webhookSecret in the settings, then restart.', 'messaging-off');
    }
    const audience = JSON.stringify(audienceOf(request.segment));
    if (request.segment.lifecycle !== undefined || request.segment.rfm !== undefined) segments.fillMissing();
    return store.inTransaction(() => {
      const existing = store.messages.campaign(request.campaignId);
      if (existing) {
        if (existing.template !== request.template || existing.text !== request.text || existing.audience !== audience) {
          throw new UserError(
            `Campaign ${request.campaignId} was already sent with another template, text or segment; give a new campaign its own id.`,
            'campaign-conflict',
          );
        }
        return { ...this.campaign(request.campaignId)!, duplicate: true };
      }
      const now = this.#clock();
      store.messages.addCampaign({ campaignId: request.campaignId, template: request.template, text: request.text, audience, actor: request.actor, createdAtMs: now });
      for (let offset = 0; ; offset += PAGE) {
        const page = store.members.list({ ...request.segment, limit: PAGE, offset });
        for (const member of page) {
          const status: MessageStatus = this.optedOut(member.id) ? 'opted-out' : member.phone === null ? 'no-phone' : 'pending';
          store.messages.queue({ id: messageIdOf(request.campaignId, member.id), campaignId: request.campaignId, memberId: member.id, template: request.template, status, atMs: now });
        }
        if (page.length < PAGE) break;
      }
      const view = this.campaign(request.campaignId)!;
      store.audit.record({
        actor: request.actor,
        action: 'message.campaign',
        subject: null,
        details: {
          campaignId: request.campaignId,
          template: request.template,
          lifecycle: request.segment.lifecycle ?? null,
          rfm: request.segment.rfm ?? null,
          // The tag is free text an admin typed; like the member export, the log keeps only that there was one.
          byTag: request.segment.tag !== undefined,
          queued: view.counts.pending,
          optedOut: view.counts['opted-out'],
          // Not "no-phone": the log refuses any key that names a phone, whatever it holds.
          withoutNumber: view.counts['no-phone'],
        },
      });
      return { ...view, duplicate: false };
    });
  }

  campaign(campaignId: string): CampaignView | undefined {
    const { messages } = this.deps.store;
    const campaign = messages.campaign(campaignId);
    if (!campaign) return undefined;
    return {
      campaignId,
      template: campaign.template,
      text: campaign.text,
      segment: JSON.parse(campaign.audience) as SegmentFilter,
      createdAt: new Date(campaign.createdAtMs).toISOString(),
      counts: messages.statusCounts(campaignId),
    };
  }

  /** The member's marketing opt-out, checked when the campaign is queued and again just before sending. */
  private optedOut(memberId: string): boolean {
    return this.deps.store.campaigns.preferences(memberId)?.marketingOptOut ?? false;
  }

  /** The campaign's messages as logged, in member id order after `afterMemberId`. */
  messagesOf(campaignId: string, afterMemberId: string, limit: number): OutboundMessage[] {
    return this.deps.store.messages.messagesOf(campaignId, afterMemberId, limit);
  }

  /**
   * Sends the messages that are due, one at a time, until none is left or `signal` stops it.
   * Returns how many requests were made. Run by OutboundMessagesStage.
   */
  async deliverDue(signal?: AbortSignal): Promise<number> {
    const { store, provider, log } = this.deps;
    if (!provider) return 0;
    let requests = 0;
    for (;;) {
      const due = store.messages.due(this.#clock(), DUE_PER_RUN);
      if (due.length === 0) return requests;
      for (const message of due) {
        if (signal?.aborted) return requests;
        const member = store.members.get(message.memberId);
        const campaign = store.messages.campaign(message.campaignId);
        if (!member || !campaign) {
          store.messages.markFailed(message.id, 'member deleted before sending', this.#clock());
          continue;
        }
        // Opting out takes effect for messages still waiting, too.
        if (this.optedOut(member.id) || member.phone === null) {
          store.messages.markNotSent(message.id, member.phone === null ? 'no-phone' : 'opted-out', this.#clock());
          continue;
        }
        requests++;
        const outcome = await provider.send(
          {
            messageId: message.id,
            campaignId: message.campaignId,
            template: message.template,
            text: campaign.text.replaceAll('{name}', member.name),
            member: { id: member.id, name: member.name, phone: member.phone },
          },
          signal,
        );
        this.#record(message, outcome);
        const after = store.messages.get(message.id)!;
        const fields = { messageId: message.id, campaignId: message.campaignId, memberId: member.id, attempts: after.attempts, status: after.status };
        if (outcome.kind === 'sent') log.info(fields, 'message sent');
        else log.warn({ ...fields, error: outcome.error, nextAttemptAt: after.nextAttemptAtMs && new Date(after.nextAttemptAtMs).toISOString() }, 'message not delivered');
      }
    }
  }

  #record(message: OutboundMessage, outcome: Awaited<ReturnType<MessageProvider['send']>>): void {
    const { store, settings } = this.deps;
    const now = this.#clock();
    if (outcome.kind === 'sent') return store.messages.markSent(message.id, now);
    const attempts = message.attempts + 1;
    if (outcome.kind === 'failed' || attempts >= settings.maxAttempts) return store.messages.markFailed(message.id, outcome.error, now);
    const delay = Math.min(settings.retryBaseDelayMs * 2 ** (attempts - 1), settings.retryMaxDelayMs);
    store.messages.markRetry(message.id, now + delay, outcome.error, now);
  }
}

/** One id per campaign and member, short and stable: a campaign queued again finds its messages. */
function messageIdOf(campaignId: string, memberId: string): string {
  return `msg_${createHash('sha256').update(`${campaignId}\n${memberId}`).digest('hex').slice(0, 32)}`;
}

/** The segment filter as the campaign stores it (absent filters as null, so equal requests compare equal). */
function audienceOf(segment: SegmentFilter): { lifecycle: string | null; rfm: string | null } & { tag?: string } {
  return { lifecycle: segment.lifecycle ?? null, rfm: segment.rfm ?? null, ...(segment.tag === undefined ? {} : { tag: segment.tag }) };
}
