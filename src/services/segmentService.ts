import { setImmediate as nextTurn } from 'node:timers/promises';
import type { SegmentSettings } from '../config/settingsSchema.js';
import { UserError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { FactWindows, MemberStore, SegmentCounts, SegmentExportRow, SegmentFilter, StoredSegment } from '../ledger/index.js';
import {
  classify,
  DAY_MS,
  LIFECYCLES,
  LOYAL_WINDOW_DAYS,
  medianThresholds,
  RFM_SEGMENTS,
  RFM_WINDOW_DAYS,
  type Lifecycle,
  type PurchaseFacts,
  type RfmSegment,
  type RfmThresholds,
} from '../operations/segments.js';

/** Tags the segment overview counts: the owner picks from the most used ones. */
const TAGS_COUNTED = 50;

/** What `GET /api/members/:id` shows as `segment`. */
export interface MemberSegmentView {
  lifecycle: Lifecycle;
  rfm: RfmSegment;
  tags: string[];
}

export interface SegmentServiceDeps {
  store: Pick<MemberStore, 'segments' | 'members' | 'inTransaction' | 'audit'>;
  settings: SegmentSettings;
  log: Logger;
  /** The ledger's clock in tests; Date.now in the service. */
  clock?: () => number;
}

/**
 * The one owner of members' segments and tags: recomputes one member after their ledger
 * changed, every member now and then (a member becomes dormant by days passing, not by any
 * write), keeps the tags an admin sets, and reads them for the member detail, the list
 * filters and the export.
 */
export class SegmentService {
  readonly #clock: () => number;
  /** The store's medians from the last full pass, when segments.useStoreMedians is set. */
  #medians: RfmThresholds | null = null;

  constructor(private readonly deps: SegmentServiceDeps) {
    this.#clock = deps.clock ?? Date.now;
  }

  /**
   * Recomputes one member from the ledger and stores the result; undefined when there is no
   * such member. Called right after a payment, refund, recharge or deduction, inside its
   * group commit: a failure here is logged and never undoes the money movement.
   */
  recompute(memberId: string): StoredSegment | undefined {
    try {
      return this.deps.store.inTransaction(() => this.#recomputeOne(memberId));
    } catch (err) {
      this.deps.log.error({ err, memberId }, 'segment recompute failed; the next full pass retries it');
      return undefined;
    }
  }

  /**
   * Recomputes every member in batches of segments.recomputeBatchMembers, one transaction
   * each, letting other requests run between batches. With segments.useStoreMedians a first
   * read-only sweep takes the medians. Stops early, consistently, when `signal` is aborted.
   */
  async recomputeAll(signal?: AbortSignal): Promise<{ members: number; medians: RfmThresholds | null }> {
    const { settings, store } = this.deps;
    const nowMs = this.#clock();
    const windows = factWindows(nowMs);
    if (settings.useStoreMedians) {
      const facts: PurchaseFacts[] = [];
      for (let after = ''; ; ) {
        const page = store.segments.purchaseFactsBatch(after, settings.recomputeBatchMembers, windows);
        if (page.length === 0) break;
        for (const row of page) facts.push(row.facts);
        after = page.at(-1)!.memberId;
        await nextTurn();
        if (signal?.aborted) return { members: 0, medians: this.#medians };
      }
      this.#medians = medianThresholds(facts, nowMs);
    }
    const thresholds = this.thresholds();
    let members = 0;
    for (let after = ''; ; ) {
      const written = store.inTransaction(() => {
        const page = store.segments.purchaseFactsBatch(after, settings.recomputeBatchMembers, windows);
        for (const { memberId, facts } of page) this.#write(memberId, facts, thresholds, nowMs);
        return page;
      });
      if (written.length === 0) break;
      members += written.length;
      after = written.at(-1)!.memberId;
      await nextTurn();
      if (signal?.aborted) break;
    }
    return { members, medians: this.#medians };
  }

  /** Where R, F and M split now: the store's medians when set so and known, else the settings. */
  thresholds(): RfmThresholds {
    const { settings } = this.deps;
    if (settings.useStoreMedians && this.#medians) return this.#medians;
    return {
      recentDays: settings.recentDays,
      frequentPurchases: settings.frequentPurchases,
      valuableSpendFen: Math.round(settings.valuableSpendYuan * 100),
    };
  }

  /** The member's segment and tags; computed now if the member has none stored yet. Undefined for no member. */
  segmentOf(memberId: string): MemberSegmentView | undefined {
    const { segments } = this.deps.store;
    const stored = segments.segment(memberId) ?? this.recompute(memberId);
    if (!stored) return undefined;
    return { lifecycle: stored.lifecycle as Lifecycle, rfm: stored.rfm as RfmSegment, tags: segments.tags(memberId) };
  }

  /**
   * Members created since the last full pass (by the admin, the command line) have no stored
   * segment; a filtered list or export computes them first, up to one batch, so they are not
   * missing from it. A larger backlog (the first start after an upgrade) is the full pass's.
   */
  fillMissing(): number {
    const { store, settings } = this.deps;
    // One transaction, so one fsync for the lot rather than one per member.
    return store.inTransaction(() => {
      const missing = store.segments.membersWithoutSegment(settings.recomputeBatchMembers);
      for (const id of missing) this.recompute(id);
      return missing.length;
    });
  }

  /**
   * Members per lifecycle and RFM segment (every one, each in exactly one of each: members
   * who joined since the last full pass are computed first) and per tag, the most used first.
   */
  counts(): SegmentCounts {
    this.fillMissing();
    const counts = this.deps.store.segments.counts(TAGS_COUNTED);
    return {
      ...counts,
      lifecycle: Object.fromEntries(LIFECYCLES.map((l) => [l, counts.lifecycle[l] ?? 0])),
      rfm: Object.fromEntries(RFM_SEGMENTS.map((r) => [r, counts.rfm[r] ?? 0])),
    };
  }

  /** Adds a tag; `added` is false when the member had it already. */
  addTag(memberId: string, tag: string): { added: boolean; tags: string[] } {
    const { store, settings } = this.deps;
    return store.inTransaction(() => {
      this.#requireMember(memberId);
      const tags = store.segments.tags(memberId);
      if (tags.includes(tag)) return { added: false, tags };
      if (tags.length >= settings.maxTagsPerMember) {
        throw new UserError(
          `Member ${memberId} already has ${tags.length} tags, the most segments.maxTagsPerMember allows; remove one first.`,
          'too-many-tags',
        );
      }
      store.segments.addTag(memberId, tag, this.#clock());
      return { added: true, tags: store.segments.tags(memberId) };
    });
  }

  removeTag(memberId: string, tag: string): void {
    const { store } = this.deps;
    store.inTransaction(() => {
      this.#requireMember(memberId);
      if (!store.segments.removeTag(memberId, tag)) {
        throw new UserError(`Member ${memberId} has no tag "${tag}".`, 'tag-not-found');
      }
    });
  }

  /**
   * Writes the export of the member list to the processing log before any row is read, so an
   * export that breaks off is on record too; members without a stored segment are computed
   * first. Returns the time of the entry. The tag itself stays out of the log: free text.
   */
  recordExport(actor: string, filter: SegmentFilter): number {
    this.fillMissing();
    const entry = this.deps.store.audit.record({
      actor,
      action: 'export',
      details: { format: 'csv', what: 'members', lifecycle: filter.lifecycle ?? null, rfm: filter.rfm ?? null, byTag: filter.tag !== undefined },
    });
    return entry.atMs;
  }

  /** One page of the member export, members after `afterId` in id order. */
  exportPage(filter: SegmentFilter, afterId: string, limit: number): SegmentExportRow[] {
    return this.deps.store.segments.exportPage(filter, afterId, limit);
  }

  #recomputeOne(memberId: string): StoredSegment | undefined {
    const nowMs = this.#clock();
    const facts = this.deps.store.segments.purchaseFacts(memberId, factWindows(nowMs));
    return facts && this.#write(memberId, facts, this.thresholds(), nowMs);
  }

  #write(memberId: string, facts: PurchaseFacts, thresholds: RfmThresholds, nowMs: number): StoredSegment {
    const { lifecycle, rfm } = classify(facts, thresholds, this.deps.settings, nowMs);
    const { joinedAtMs: _joined, ...purchases } = facts;
    const segment: StoredSegment = { memberId, lifecycle, rfm, ...purchases, computedAtMs: nowMs };
    this.deps.store.segments.write(segment);
    return segment;
  }

  #requireMember(memberId: string): void {
    if (!this.deps.store.members.get(memberId)) throw new UserError(`No member ${memberId}.`, 'member-not-found');
  }
}

function factWindows(nowMs: number): FactWindows {
  return { rfmSinceMs: nowMs - RFM_WINDOW_DAYS * DAY_MS, loyalSinceMs: nowMs - LOYAL_WINDOW_DAYS * DAY_MS };
}
