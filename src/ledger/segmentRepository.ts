import type { SqliteDatabase } from './database.js';
import type { Fen } from './money.js';
import type { EpochMs } from './types.js';

/**
 * One member's purchases as the ledger adds them up. A purchase is an order: its payment and
 * any stored value deducted for it (a deduction is part of what the member paid, never a
 * payment of its own, and a recharge is not spending), less its refunds; an order refunded in
 * full is no purchase. An order counts at its earliest entry: the payment time (refunds carry
 * it too), or the deduction's time for an order paid from stored value alone.
 */
export interface MemberPurchaseFacts {
  joinedAtMs: EpochMs;
  lastPurchaseAtMs: EpochMs | null;
  purchases365: number;
  purchases90: number;
  netSpend365Fen: Fen;
}

/** Windows of the facts: purchases after `rfmSinceMs` count for F and M, after `loyalSinceMs` for the loyal rule. */
export interface FactWindows {
  rfmSinceMs: EpochMs;
  loyalSinceMs: EpochMs;
}

export interface StoredSegment extends Omit<MemberPurchaseFacts, 'joinedAtMs'> {
  memberId: string;
  lifecycle: string;
  rfm: string;
  computedAtMs: EpochMs;
}

/** One line of the member export: no phone number, only what the segments are made of. */
export interface SegmentExportRow {
  id: string;
  name: string;
  lifecycle: string | null;
  rfm: string | null;
  tags: string[];
  lastPurchaseAtMs: EpochMs | null;
  purchases365: number | null;
  netSpend365Fen: Fen | null;
}

/** How many members are in each lifecycle, RFM segment and tag: the owner's overview of segments. */
export interface SegmentCounts {
  members: number;
  lifecycle: Record<string, number>;
  rfm: Record<string, number>;
  /** The most used tags, most members first. */
  tags: Array<{ tag: string; members: number }>;
}

export interface SegmentFilter {
  lifecycle?: string;
  rfm?: string;
  tag?: string;
}

// Per order: when it counts and what was paid for it, the stored value spent being the negative
// stored_fen of its deduction. The kind condition repeats the WHERE of ledger_entries_purchases,
// which SQLite uses only when the query states it the same way.
// CROSS JOIN keeps the batch outside: the index is searched per member, never scanned whole.
const ORDERS_OF_BATCH = `
  SELECT e.member_id, MIN(e.at_ms) AS at_ms, SUM(e.spend_fen - e.stored_fen) AS net_fen
    FROM batch b CROSS JOIN ledger_entries e ON e.member_id = b.id
   WHERE e.kind IN ('spend', 'refund', 'deduct')
   GROUP BY e.member_id, e.order_id`;
const FACTS_COLUMNS = `
  MAX(CASE WHEN o.net_fen > 0 THEN o.at_ms END) AS last_purchase_at_ms,
  COUNT(CASE WHEN o.net_fen > 0 AND o.at_ms > @rfmSinceMs THEN 1 END) AS purchases_365,
  COUNT(CASE WHEN o.net_fen > 0 AND o.at_ms > @loyalSinceMs THEN 1 END) AS purchases_90,
  COALESCE(SUM(CASE WHEN o.at_ms > @rfmSinceMs THEN o.net_fen END), 0) AS net_spend_365_fen`;

interface FactsRow {
  id: string;
  created_at_ms: number;
  last_purchase_at_ms: number | null;
  purchases_365: number;
  purchases_90: number;
  net_spend_365_fen: number;
}

interface SegmentRow {
  member_id: string;
  lifecycle: string;
  rfm: string;
  last_purchase_at_ms: number | null;
  purchases_365: number;
  purchases_90: number;
  net_spend_365_fen: number;
  computed_at_ms: number;
}

interface ExportRow {
  id: string;
  name: string;
  lifecycle: string | null;
  rfm: string | null;
  tags: string | null;
  last_purchase_at_ms: number | null;
  purchases_365: number | null;
  net_spend_365_fen: number | null;
}

/** SQL for member segments and tags; the rules live in src/operations/segments.ts. */
export class SegmentRepository {
  readonly #db: SqliteDatabase;
  readonly #factsOfMember;
  readonly #factsOfBatch;
  readonly #upsert;
  readonly #get;
  readonly #tags;
  readonly #addTag;
  readonly #removeTag;
  readonly #missing;
  readonly #segmentShortfall;
  readonly #countMembers;
  readonly #countLifecycles;
  readonly #countRfm;
  readonly #countTags;
  readonly #exportPages = new Map<string, ReturnType<SqliteDatabase['prepare']>>();

  constructor(db: SqliteDatabase) {
    this.#db = db;
    this.#factsOfMember = db.prepare<FactWindows & { id: string }, FactsRow>(`
      WITH batch AS (SELECT id, created_at_ms FROM members WHERE id = @id),
           o AS (${ORDERS_OF_BATCH})
      SELECT b.id, b.created_at_ms, ${FACTS_COLUMNS}
        FROM batch b LEFT JOIN o ON o.member_id = b.id
       GROUP BY b.id`);
    // Members after `afterId` in id order, `limit` of them, each with their orders' aggregate.
    this.#factsOfBatch = db.prepare<FactWindows & { afterId: string; limit: number }, FactsRow>(`
      WITH batch AS (SELECT id, created_at_ms FROM members WHERE id > @afterId ORDER BY id LIMIT @limit),
           o AS (${ORDERS_OF_BATCH})
      SELECT b.id, b.created_at_ms, ${FACTS_COLUMNS}
        FROM batch b LEFT JOIN o ON o.member_id = b.id
       GROUP BY b.id
       ORDER BY b.id`);
    this.#upsert = db.prepare<[SegmentRow]>(`
      INSERT INTO member_segments (member_id, lifecycle, rfm, last_purchase_at_ms, purchases_365, purchases_90, net_spend_365_fen, computed_at_ms)
      VALUES (@member_id, @lifecycle, @rfm, @last_purchase_at_ms, @purchases_365, @purchases_90, @net_spend_365_fen, @computed_at_ms)
      ON CONFLICT (member_id) DO UPDATE SET lifecycle = excluded.lifecycle, rfm = excluded.rfm,
        last_purchase_at_ms = excluded.last_purchase_at_ms, purchases_365 = excluded.purchases_365,
        purchases_90 = excluded.purchases_90, net_spend_365_fen = excluded.net_spend_365_fen,
        computed_at_ms = excluded.computed_at_ms`);
    this.#get = db.prepare<[string], SegmentRow>('SELECT * FROM member_segments WHERE member_id = ?');
    this.#tags = db.prepare<[string], { tag: string }>('SELECT tag FROM member_tags WHERE member_id = ? ORDER BY tag');
    this.#addTag = db.prepare<[string, string, number]>(
      'INSERT INTO member_tags (member_id, tag, created_at_ms) VALUES (?, ?, ?) ON CONFLICT DO NOTHING',
    );
    this.#removeTag = db.prepare<[string, string]>('DELETE FROM member_tags WHERE member_id = ? AND tag = ?');
    this.#countMembers = db.prepare<[], { n: number }>('SELECT count(*) AS n FROM members');
    this.#countLifecycles = db.prepare<[], { name: string; n: number }>('SELECT lifecycle AS name, count(*) AS n FROM member_segments GROUP BY lifecycle');
    this.#countRfm = db.prepare<[], { name: string; n: number }>('SELECT rfm AS name, count(*) AS n FROM member_segments GROUP BY rfm');
    this.#countTags = db.prepare<[number], { tag: string; n: number }>(
      'SELECT tag, count(*) AS n FROM member_tags GROUP BY tag ORDER BY n DESC, tag LIMIT ?',
    );
    this.#missing = db.prepare<[number], { id: string }>(
      'SELECT m.id FROM members m WHERE NOT EXISTS (SELECT 1 FROM member_segments s WHERE s.member_id = m.id) ORDER BY m.id LIMIT ?',
    );
    // A segment row goes with its member (ON DELETE CASCADE), so equal counts mean none is
    // missing; two counts cost nothing where the search above looks up every member.
    this.#segmentShortfall = db.prepare<[], { n: number }>(
      'SELECT (SELECT count(*) FROM members) - (SELECT count(*) FROM member_segments) AS n',
    );
  }

  /** The member's purchase facts as of `nowMs`; undefined when there is no such member. */
  purchaseFacts(memberId: string, windows: FactWindows): MemberPurchaseFacts | undefined {
    const row = this.#factsOfMember.get({ id: memberId, ...windows });
    return row && toFacts(row);
  }

  /** The next `limit` members after `afterId` (in id order; '' for the first), with their facts. */
  purchaseFactsBatch(afterId: string, limit: number, windows: FactWindows): Array<{ memberId: string; facts: MemberPurchaseFacts }> {
    return this.#factsOfBatch.all({ afterId, limit, ...windows }).map((row) => ({ memberId: row.id, facts: toFacts(row) }));
  }

  write(segment: StoredSegment): void {
    this.#upsert.run({
      member_id: segment.memberId,
      lifecycle: segment.lifecycle,
      rfm: segment.rfm,
      last_purchase_at_ms: segment.lastPurchaseAtMs,
      purchases_365: segment.purchases365,
      purchases_90: segment.purchases90,
      net_spend_365_fen: segment.netSpend365Fen,
      computed_at_ms: segment.computedAtMs,
    });
  }

  segment(memberId: string): StoredSegment | undefined {
    const row = this.#get.get(memberId);
    return (
      row && {
        memberId: row.member_id,
        lifecycle: row.lifecycle,
        rfm: row.rfm,
        lastPurchaseAtMs: row.last_purchase_at_ms,
        purchases365: row.purchases_365,
        purchases90: row.purchases_90,
        netSpend365Fen: row.net_spend_365_fen,
        computedAtMs: row.computed_at_ms,
      }
    );
  }

  /** Members with no stored segment yet (joined since the last full pass), in id order. */
  membersWithoutSegment(limit: number): string[] {
    if (this.#segmentShortfall.get()!.n === 0) return [];
    return this.#missing.all(limit).map((r) => r.id);
  }

  counts(maxTags: number): SegmentCounts {
    const byName = (rows: Array<{ name: string; n: number }>) => Object.fromEntries(rows.map((r) => [r.name, r.n]));
    return {
      members: this.#countMembers.get()?.n ?? 0,
      lifecycle: byName(this.#countLifecycles.all()),
      rfm: byName(this.#countRfm.all()),
      tags: this.#countTags.all(maxTags).map((r) => ({ tag: r.tag, members: r.n })),
    };
  }

  tags(memberId: string): string[] {
    return this.#tags.all(memberId).map((r) => r.tag);
  }

  /** False when the member already had the tag. */
  addTag(memberId: string, tag: string, atMs: EpochMs): boolean {
    return this.#addTag.run(memberId, tag, atMs).changes > 0;
  }

  /** False when the member did not have the tag. */
  removeTag(memberId: string, tag: string): boolean {
    return this.#removeTag.run(memberId, tag).changes > 0;
  }

  /** Members after `afterId` in id order that pass the filter, with their segment, tags and facts. */
  exportPage(filter: SegmentFilter, afterId: string, limit: number): SegmentExportRow[] {
    const { where, params } = segmentConditions(filter);
    const key = where.join(' AND ');
    let statement = this.#exportPages.get(key);
    if (!statement) {
      statement = this.#db.prepare(`
        SELECT m.id, m.name, s.lifecycle, s.rfm, s.last_purchase_at_ms, s.purchases_365, s.net_spend_365_fen,
               (SELECT group_concat(t.tag, char(31) ORDER BY t.tag) FROM member_tags t WHERE t.member_id = m.id) AS tags
          FROM members m LEFT JOIN member_segments s ON s.member_id = m.id
         WHERE m.id > @afterId${where.map((w) => ` AND ${w}`).join('')}
         ORDER BY m.id
         LIMIT @limit`);
      this.#exportPages.set(key, statement);
    }
    return (statement.all({ ...params, afterId, limit }) as ExportRow[]).map((row) => ({
      id: row.id,
      name: row.name,
      lifecycle: row.lifecycle,
      rfm: row.rfm,
      tags: row.tags === null ? [] : row.tags.split('\u001f'),
      lastPurchaseAtMs: row.last_purchase_at_ms,
      purchases365: row.purchases_365,
      netSpend365Fen: row.net_spend_365_fen,
    }));
  }
}

/**
 * SQL conditions on a member row aliased `m` for a segment filter, with named parameters;
 * the member list uses them too, so the list and the export select the same members.
 */
export function segmentConditions(filter: SegmentFilter): { where: string[]; params: Record<string, string> } {
  const where: string[] = [];
  const params: Record<string, string> = {};
  if (filter.lifecycle !== undefined) {
    where.push('EXISTS (SELECT 1 FROM member_segments s1 WHERE s1.member_id = m.id AND s1.lifecycle = @lifecycle)');
    params.lifecycle = filter.lifecycle;
  }
  if (filter.rfm !== undefined) {
    where.push('EXISTS (SELECT 1 FROM member_segments s2 WHERE s2.member_id = m.id AND s2.rfm = @rfm)');
    params.rfm = filter.rfm;
  }
  if (filter.tag !== undefined) {
    where.push('EXISTS (SELECT 1 FROM member_tags t1 WHERE t1.member_id = m.id AND t1.tag = @tag)');
    params.tag = filter.tag;
  }
  return { where, params };
}

function toFacts(row: FactsRow): MemberPurchaseFacts {
  return {
    joinedAtMs: row.created_at_ms,
    lastPurchaseAtMs: row.last_purchase_at_ms,
    purchases365: row.purchases_365,
    purchases90: row.purchases_90,
    netSpend365Fen: row.net_spend_365_fen,
  };
}
