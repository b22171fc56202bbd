import type { ChainSettings } from '../config/settingsSchema.js';
import { FifoSemaphore } from '../core/fifoSemaphore.js';
import type { Logger } from '../core/logger.js';
import { UserError } from '../core/errors.js';
import { LedgerError, type DeductInput, type DeductResult, type MemberStore } from '../ledger/index.js';
import type { CampaignService } from '../services/campaignService.js';
import type { MemberService } from '../services/memberService.js';
import type { SegmentService } from '../services/segmentService.js';
import { HqClient, HqRefusedError } from './hqClient.js';

export interface ChainSyncDeps {
  store: Pick<MemberStore, 'chain' | 'membership' | 'writeInGroup'>;
  members: Pick<MemberService, 'applyChainFeed'>;
  segments: Pick<SegmentService, 'recompute'>;
  /** Takes the chain's campaign rules when HQ's feed brings newer ones. */
  campaigns: Pick<CampaignService, 'chainRulesVersion' | 'applyChainRules'>;
  client: HqClient;
  settings: Pick<ChainSettings, 'storeId' | 'batchEvents'>;
  log: Logger;
  clock?: () => number;
}

export interface SyncFigures {
  sent: number;
  received: number;
  backlog: number;
}

/**
 * A chain store's exchange with HQ. Sending: the outbox in batches, oldest first; HQ's answer
 * (the last sequence number it holds) clears the outbox up to there, so a lost answer only
 * means the batch is sent again and HQ ignores what it has. Taking: HQ's feed from the
 * store's cursor, each page applied with the cursor in one SQLite transaction, and the chain's
 * campaign rules when HQ holds a newer version than the store applied. One exchange
 * at a time; a stored-value spend runs one before and after asking HQ to authorize it.
 */
export class ChainSync {
  private readonly turn = new FifoSemaphore(1);

  constructor(private readonly deps: ChainSyncDeps) {}

  /** Joins the chain in the database: from now on every change goes into the outbox. */
  join(): void {
    const { joined, backfilled } = this.deps.store.chain.join(this.deps.settings.storeId, (this.deps.clock ?? Date.now)());
    if (joined) this.deps.log.info({ storeId: this.deps.settings.storeId, backfilled }, 'joined the chain; what the store held before goes to HQ first');
  }

  /** Sends everything pending, then takes everything new; throws HqUnreachableError offline. */
  async syncOnce(): Promise<SyncFigures> {
    return this.exclusive(async () => {
      const sent = await this.push();
      const received = await this.pull();
      return { sent, received, backlog: this.deps.store.chain.backlog().events };
    });
  }

  /**
   * Pays (part of) an order from stored value, authorized by HQ against the chain-wide balance
   * so the same money is never spent at two branches. Offline it is refused (HqUnreachableError,
   * a message the cashier understands); a retried order gets the first answer.
   */
  async deduct(input: DeductInput): Promise<DeductResult> {
    const { store } = this.deps;
    const recorded = store.membership.recordedDeduction(input.orderId);
    if (recorded) {
      if (recorded.memberId !== input.memberId) throw new LedgerError('ORDER_CONFLICT', `Order ${input.orderId} already has a stored-value deduction of another member.`);
      return recorded;
    }
    const { memberId, orderId, amountFen } = store.membership.checkDeduction(input);
    await this.exclusive(async () => {
      // HQ must know this store's recharges before it weighs the balance.
      await this.push();
      try {
        await this.deps.client.authorizeDeduction({ orderId, memberId, amountFen, atMs: (this.deps.clock ?? Date.now)() });
      } catch (err) {
        if (err instanceof HqRefusedError) throw new LedgerError(err.code === 'INSUFFICIENT_BALANCE' || err.code === 'ORDER_CONFLICT' || err.code === 'MEMBER_NOT_FOUND' ? err.code : 'INVALID_INPUT', err.message);
        throw err;
      }
      // The entry is HQ's: it arrives in the feed, after every entry HQ weighed.
      try {
        await this.pull();
      } catch (err) {
        // HQ has spent the money; the cashier must not take it another way as well.
        throw new UserError(
          `HQ authorized the stored-value payment for order ${orderId}, but the store lost the line before recording it. ` +
            'Send the same order again (it is not charged twice); do not take this payment another way.',
          'chain-spend-unconfirmed',
        );
      }
    });
    return store.writeInGroup(() => store.membership.recordAuthorizedDeduction(input));
  }

  private async exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const release = await this.turn.acquire();
    try {
      return await fn();
    } finally {
      release();
    }
  }

  private async push(): Promise<number> {
    const { chain } = this.deps.store;
    let sent = 0;
    for (;;) {
      const batch = chain.pending(0, this.deps.settings.batchEvents);
      if (batch.length === 0) return sent;
      let lastSeq: number;
      try {
        ({ lastSeq } = await this.deps.client.pushBatch(batch, chain.backlog().events));
      } catch (err) {
        if (!(err instanceof HqRefusedError) || err.code !== 'sequence-gap') throw err;
        // HQ holds less than this store thinks (never more): send again from its number.
        lastSeq = Number(err.body.lastSeq);
        if (lastSeq + 1 < batch[0]!.seq) {
          throw new UserError(
            `HQ holds this store's changes only up to ${lastSeq}, but the outbox starts at ${batch[0]!.seq}: HQ's database lost changes this store already sent. Restore HQ's database; the store keeps its outbox meanwhile.`,
            'chain-gap',
          );
        }
      }
      sent += Math.max(0, lastSeq - batch[0]!.seq + 1);
      chain.acknowledge(lastSeq);
    }
  }

  private async pull(): Promise<number> {
    const { store, members, segments, campaigns, client, settings } = this.deps;
    let received = 0;
    for (;;) {
      const cursor = store.chain.link()!.cursor;
      const page = await client.feed(cursor, settings.batchEvents, campaigns.chainRulesVersion());
      // The rules are kept with their version in their own transaction, before the page: if the
      // page then fails, the next pull asks for the page again and not for the rules.
      if (page.campaignRules) campaigns.applyChainRules(page.campaignRules);
      if (page.events.length === 0 && page.next === cursor) return received;
      const outcome = members.applyChainFeed(page.events, page.next, (memberId) => {
        store.membership.refreshTier(memberId);
        segments.recompute(memberId);
      });
      received += outcome.entries;
      if (page.events.length < settings.batchEvents) return received;
    }
  }
}

/** The chain sync of a store whose settings name an HQ; undefined for a store that runs alone. */
export function chainSyncOf(settings: ChainSettings, deps: Omit<ChainSyncDeps, 'client' | 'settings'>): ChainSync | undefined {
  return settings.hqUrl === '' ? undefined : new ChainSync({ ...deps, client: new HqClient(settings), settings });
}
