import { createHash, randomBytes } from 'node:crypto';
import { UserError } from '../core/errors.js';
import { inTransaction, type HqClient, type HqPool } from './hqDatabase.js';

/** One change a store sends: its sequence number, global id, kind, member and body. */
export interface IncomingEvent {
  seq: number;
  gid: string;
  kind: 'entry' | 'member' | 'member-erase' | 'payer' | 'consent' | 'face';
  memberId: string;
  body: Record<string, unknown>;
}

export interface FeedPage {
  events: { gid: string; kind: string; memberId: string; body: unknown }[];
  /** Pass as `after` next time ("xid:id"); it moves past this store's own events too. */
  next: string;
  /** The chain's campaign rules, when they are newer than the version the store holds. */
  campaignRules?: ChainCampaignRules;
}

/** The chain's campaign rules as the owner set them at HQ. */
export interface ChainCampaignRules {
  version: number;
  rules: unknown;
  setBy: string;
  setAt: string;
}

function chainRules(r: { version: number; rules: unknown; set_by: string; set_at: Date }): ChainCampaignRules {
  return { version: r.version, rules: r.rules, setBy: r.set_by, setAt: r.set_at.toISOString() };
}

export interface StoreStatus {
  storeId: string;
  createdAt: string;
  revoked: boolean;
  lastSeq: number;
  lastSyncAt: string | null;
  /** Changes the store said it still had to send, at its last contact. */
  backlog: number;
  /** Where the store was in HQ's feed at its last request ("xid:id"). */
  feedCursor: string;
}

/** 409: the batch does not start right after what HQ holds; the store resends from lastSeq + 1. */
export class SequenceGapError extends UserError {
  constructor(readonly lastSeq: number, firstSeq: number) {
    super(`HQ holds this store's changes up to ${lastSeq}; the batch starts at ${firstSeq}. Send again from ${lastSeq + 1}.`, 'sequence-gap');
  }
}

export class HqRefusal extends UserError {
  constructor(readonly status: number, message: string, code: string) {
    super(message, code);
  }
}

const hashToken = (token: string) => createHash('sha256').update(token).digest('hex');

/**
 * The chain's ledger at HQ, on PostgreSQL: stores and their tokens, the union of every
 * branch's changes (ingested in one transaction per batch), the feed, and stored-value spends
 * authorized against the chain-wide balance. Batches of different stores run side by side;
 * the feed's order (see hqSchema) keeps a late commit from being skipped.
 */
export class HqLedger {
  constructor(private readonly pool: HqPool) {}

  async addStore(storeId: string): Promise<{ storeId: string; token: string }> {
    const token = `ml_store_${randomBytes(24).toString('hex')}`;
    try {
      await this.pool.query('INSERT INTO stores (store_id, token_hash) VALUES ($1, $2)', [storeId, hashToken(token)]);
    } catch (err) {
      if ((err as { code?: string }).code === '23505') {
        throw new UserError(`Store ${storeId} is already in the chain; "memberlens hq stores rotate ${storeId}" gives it a new token.`, 'store-exists');
      }
      throw err;
    }
    return { storeId, token };
  }

  /** A new token for the store; the old one stops working at once. */
  async rotateStore(storeId: string): Promise<{ storeId: string; token: string }> {
    const token = `ml_store_${randomBytes(24).toString('hex')}`;
    const { rowCount } = await this.pool.query('UPDATE stores SET token_hash = $2, revoked_at = NULL WHERE store_id = $1', [storeId, hashToken(token)]);
    if (rowCount === 0) throw new UserError(`No store ${storeId}; "memberlens hq stores list" shows them.`, 'store-not-found');
    return { storeId, token };
  }

  async revokeStore(storeId: string): Promise<void> {
    const { rowCount } = await this.pool.query('UPDATE stores SET revoked_at = now() WHERE store_id = $1 AND revoked_at IS NULL', [storeId]);
    if (rowCount === 0) throw new UserError(`No active store ${storeId}; "memberlens hq stores list" shows them.`, 'store-not-found');
  }

  async addOwnerToken(label: string): Promise<{ label: string; token: string }> {
    const token = `ml_owner_${randomBytes(24).toString('hex')}`;
    await this.pool.query('INSERT INTO owner_tokens (token_hash, label) VALUES ($1, $2)', [hashToken(token), label]);
    return { label, token };
  }

  async storeOfToken(token: string): Promise<string | undefined> {
    const { rows } = await this.pool.query<{ store_id: string }>('SELECT store_id FROM stores WHERE token_hash = $1 AND revoked_at IS NULL', [hashToken(token)]);
    return rows[0]?.store_id;
  }

  /** The label of a valid owner token ("memberlens hq owners add LABEL"); undefined otherwise. */
  async ownerOfToken(token: string): Promise<string | undefined> {
    const { rows } = await this.pool.query<{ label: string }>('SELECT label FROM owner_tokens WHERE token_hash = $1 AND revoked_at IS NULL', [hashToken(token)]);
    return rows[0]?.label;
  }

  /** Sets the chain's campaign rules (already validated); every store takes them from its feed. */
  async setCampaignRules(rules: unknown, setBy: string): Promise<ChainCampaignRules> {
    const { rows } = await this.pool.query<{ version: number; rules: unknown; set_by: string; set_at: Date }>(
      'INSERT INTO campaign_rules (rules, set_by) VALUES ($1, $2) RETURNING version, rules, set_by, set_at',
      [JSON.stringify(rules), setBy],
    );
    return chainRules(rows[0]!);
  }

  /** The chain's campaign rules in force; undefined until the owner sets them. */
  async campaignRules(client: HqPool | HqClient = this.pool): Promise<ChainCampaignRules | undefined> {
    const { rows } = await client.query<{ version: number; rules: unknown; set_by: string; set_at: Date }>(
      'SELECT version, rules, set_by, set_at FROM campaign_rules ORDER BY version DESC LIMIT 1',
    );
    return rows[0] && chainRules(rows[0]);
  }

  async payerKeySecret(): Promise<Buffer> {
    const { rows } = await this.pool.query<{ payer_key_secret: Buffer }>('SELECT payer_key_secret FROM hq_settings');
    return rows[0]!.payer_key_secret;
  }

  /**
   * Takes a batch of the store's changes in one transaction. Events HQ already holds (sequence
   * number at or below the store's last accepted one) are ignored; a batch that would leave a
   * gap is refused with the last accepted number, from which the store sends again.
   */
  async ingest(storeId: string, events: readonly IncomingEvent[], backlog: number): Promise<{ lastSeq: number; accepted: number }> {
    return inTransaction(this.pool, async (client) => {
      const { rows } = await client.query<{ last_seq: number }>('SELECT last_seq FROM stores WHERE store_id = $1 FOR UPDATE', [storeId]);
      const lastSeq = rows[0]!.last_seq;
      const fresh = events.filter((e) => e.seq > lastSeq);
      if (fresh.length > 0 && fresh[0]!.seq !== lastSeq + 1) throw new SequenceGapError(lastSeq, fresh[0]!.seq);
      fresh.forEach((e, i) => {
        if (e.seq !== lastSeq + 1 + i) throw new HqRefusal(400, `events[${i}].seq: the batch's sequence numbers must follow each other without gaps.`, 'invalid-input');
        // A store writes only its own changes: their global ids carry its store id.
        if (!e.gid.startsWith(`${storeId}:`)) throw new HqRefusal(403, `events[${i}].gid: a store sends only its own changes, whose ids start with "${storeId}:".`, 'not-your-event');
      });
      const newLast = fresh.length > 0 ? fresh[fresh.length - 1]!.seq : lastSeq;
      if (fresh.length > 0) {
        await client.query(
          `INSERT INTO chain_events (gid, store_id, store_seq, pushed, kind, member_id, body)
           SELECT gid, $1, seq, true, kind, member_id, body
           FROM unnest($2::text[], $3::bigint[], $4::text[], $5::text[], $6::jsonb[]) AS t (gid, seq, kind, member_id, body)
           ON CONFLICT (gid) DO NOTHING`,
          [storeId, fresh.map((e) => e.gid), fresh.map((e) => e.seq), fresh.map((e) => e.kind), fresh.map((e) => e.memberId), fresh.map((e) => JSON.stringify(e.body))],
        );
        const faceGone = fresh
          .filter((e) => e.kind === 'member-erase' || (e.kind === 'consent' && (e.body.kind === 'face' || e.body.kind === 'chain-face') && e.body.withdrawnAtMs !== null))
          .map((e) => e.memberId);
        await project(client, storeId, lastSeq, faceGone);
      }
      await client.query('UPDATE stores SET last_seq = $2, last_sync_at = now(), reported_backlog = $3 WHERE store_id = $1', [storeId, newLast, Math.max(0, backlog - fresh.length)]);
      return { lastSeq: newLast, accepted: fresh.length };
    });
  }

  /**
   * Other branches' changes and spends HQ authorized, after the store's cursor, in feed order
   * (xid, id). Only rows of transactions that ended before every running one are read, in one
   * REPEATABLE READ snapshot, so the page and its `next` are a stable prefix of the feed.
   */
  async feed(storeId: string, after: string, limit: number, rulesVersion = 0): Promise<FeedPage> {
    const [afterXid, afterId] = after.split(':');
    const page = await inTransaction(
      this.pool,
      async (client) => {
        const { rows } = await client.query<{ xid: string; id: number; gid: string; kind: string; member_id: string; body: unknown }>(
          `SELECT xid::text AS xid, id, gid, kind, member_id, body FROM chain_events
           WHERE (xid, id) > ($1::xid8, $2::bigint) AND xid < pg_snapshot_xmin(pg_current_snapshot())
             AND delivered AND NOT (pushed AND store_id = $3)
           ORDER BY xid, id LIMIT $4`,
          [afterXid, afterId, storeId, limit],
        );
        let next = after;
        if (rows.length === limit) {
          next = `${rows[rows.length - 1]!.xid}:${rows[rows.length - 1]!.id}`;
        } else {
          // The whole stable prefix was read: move past this store's own events at its end too.
          const top = await client.query<{ xid: string; id: number }>(
            `SELECT xid::text AS xid, id FROM chain_events WHERE xid < pg_snapshot_xmin(pg_current_snapshot()) ORDER BY xid DESC, id DESC LIMIT 1`,
          );
          if (top.rows[0] && compareCursor(`${top.rows[0].xid}:${top.rows[0].id}`, after) > 0) next = `${top.rows[0].xid}:${top.rows[0].id}`;
        }
        const events = rows.map((r) => ({ gid: r.gid, kind: r.kind, memberId: r.member_id, body: r.body }));
        const rules = await this.campaignRules(client);
        return { events, next, ...(rules && rules.version > rulesVersion ? { campaignRules: rules } : {}) };
      },
      'REPEATABLE READ',
    );
    // Outside the snapshot: the stores page shows where each store is.
    await this.pool.query('UPDATE stores SET feed_cursor = $2, last_sync_at = now() WHERE store_id = $1', [storeId, after]);
    return page;
  }

  /**
   * Spends stored value for a store's order, once per (store, order): refused when the
   * chain-wide balance HQ holds is short, so one balance is never spent twice at two branches.
   * The entry is HQ's: every branch, the paying one included, takes it from the feed.
   */
  async authorizeDeduction(storeId: string, input: { orderId: string; memberId: string; amountFen: number; atMs: number }): Promise<{ gid: string; duplicate: boolean; balanceFen: number }> {
    return inTransaction(this.pool, async (client) => {
      // The member's balance row is the lock: spends of one member wait for each other, and
      // the check below sees every spend committed before.
      await client.query('INSERT INTO balances (member_id) VALUES ($1) ON CONFLICT DO NOTHING', [input.memberId]);
      await client.query('SELECT 1 FROM balances WHERE member_id = $1 FOR UPDATE', [input.memberId]);
      const prior = await client.query<{ member_id: string; amount_fen: number; event_gid: string }>(
        'SELECT member_id, amount_fen, event_gid FROM spends WHERE store_id = $1 AND order_id = $2',
        [storeId, input.orderId],
      );
      const balanceOf = async () =>
        (await client.query<{ stored_fen: number }>('SELECT stored_fen FROM balances WHERE member_id = $1', [input.memberId])).rows[0]?.stored_fen ?? 0;
      if (prior.rows[0]) {
        const p = prior.rows[0];
        if (p.member_id !== input.memberId || p.amount_fen !== input.amountFen) {
          throw new HqRefusal(409, `Order ${input.orderId} already has a stored-value deduction of another amount or member.`, 'ORDER_CONFLICT');
        }
        return { gid: p.event_gid, duplicate: true, balanceFen: await balanceOf() };
      }
      const member = await client.query<{ erased_at: Date | null }>('SELECT erased_at FROM members WHERE member_id = $1', [input.memberId]);
      if (!member.rows[0] || member.rows[0].erased_at) throw new HqRefusal(404, `HQ knows no member ${input.memberId}; the store syncs it first.`, 'MEMBER_NOT_FOUND');
      const balanceFen = await balanceOf();
      if (balanceFen < input.amountFen) {
        throw new HqRefusal(
          422,
          `The member's stored value across the chain is ${(balanceFen / 100).toFixed(2)} yuan, less than the ${(input.amountFen / 100).toFixed(2)} yuan to deduct; take the rest by another payment method.`,
          'INSUFFICIENT_BALANCE',
        );
      }
      const gid = `hq:${storeId}:deduct:${input.orderId}`;
      const body = { kind: 'deduct', spendFen: 0, points: 0, storedFen: -input.amountFen, orderId: input.orderId, refId: null, lot: null, atMs: input.atMs, recordedAtMs: Date.now() };
      await client.query(
        `INSERT INTO chain_events (gid, store_id, store_seq, pushed, kind, member_id, body) VALUES ($1, $2, NULL, false, 'entry', $3, $4)`,
        [gid, storeId, input.memberId, JSON.stringify(body)],
      );
      await client.query('UPDATE balances SET stored_fen = stored_fen - $2 WHERE member_id = $1', [input.memberId, input.amountFen]);
      await client.query('INSERT INTO spends (store_id, order_id, member_id, amount_fen, event_gid) VALUES ($1, $2, $3, $4, $5)', [storeId, input.orderId, input.memberId, input.amountFen, gid]);
      return { gid, duplicate: false, balanceFen: balanceFen - input.amountFen };
    });
  }

  async stores(): Promise<StoreStatus[]> {
    const { rows } = await this.pool.query<{
      store_id: string; created_at: Date; revoked_at: Date | null; last_seq: number; last_sync_at: Date | null; reported_backlog: number; feed_cursor: string;
    }>('SELECT * FROM stores ORDER BY store_id');
    return rows.map((r) => ({
      storeId: r.store_id,
      createdAt: r.created_at.toISOString(),
      revoked: r.revoked_at !== null,
      lastSeq: r.last_seq,
      lastSyncAt: r.last_sync_at?.toISOString() ?? null,
      backlog: r.reported_backlog,
      feedCursor: r.feed_cursor,
    }));
  }

  /**
   * Members' purchases in [fromMs, toMs): per store and for the whole chain, members who bought
   * and those who bought at least twice (orders by id). A member who bought once at each of
   * two branches is a repeat buyer of the chain, not of either branch.
   */
  async buyers(fromMs: number, toMs: number): Promise<{ chain: { buying: number; repeat: number; orders: number }; byStore: Map<string, { buying: number; repeat: number; orders: number }> }> {
    const { rows } = await this.pool.query<{ store_id: string | null; buying: string; repeat: string; orders: string }>(
      `WITH orders AS (
         SELECT store_id, member_id, count(DISTINCT body->>'orderId') AS n FROM chain_events
         WHERE kind = 'entry' AND body->>'kind' = 'spend' AND (body->>'atMs')::bigint >= $1 AND (body->>'atMs')::bigint < $2
         GROUP BY store_id, member_id)
       SELECT store_id, count(*) AS buying, count(*) FILTER (WHERE n >= 2) AS repeat, sum(n) AS orders FROM orders GROUP BY store_id
       UNION ALL
       SELECT NULL, count(*), count(*) FILTER (WHERE n >= 2), coalesce(sum(n), 0) FROM (SELECT member_id, sum(n) AS n FROM orders GROUP BY member_id) m`,
      [fromMs, toMs],
    );
    const toFigures = (r: (typeof rows)[number]) => ({ buying: Number(r.buying), repeat: Number(r.repeat), orders: Number(r.orders) });
    const chainRow = rows.find((r) => r.store_id === null)!;
    return { chain: toFigures(chainRow), byStore: new Map(rows.filter((r) => r.store_id !== null).map((r) => [r.store_id!, toFigures(r)])) };
  }

  /** Sales (payments less refunds, by payment time) and new members per store in [fromMs, toMs). */
  async salesAndMembers(fromMs: number, toMs: number): Promise<Map<string, { salesFen: number; payments: number; newMembers: number }>> {
    const sales = await this.pool.query<{ store_id: string; fen: number; payments: number }>(
      `SELECT store_id, coalesce(sum((body->>'spendFen')::bigint), 0) AS fen, count(*) FILTER (WHERE body->>'kind' = 'spend') AS payments
       FROM chain_events WHERE kind = 'entry' AND body->>'kind' IN ('spend', 'refund')
         AND (body->>'atMs')::bigint >= $1 AND (body->>'atMs')::bigint < $2
       GROUP BY store_id`,
      [fromMs, toMs],
    );
    const joined = await this.pool.query<{ home_store: string; n: number }>(
      'SELECT home_store, count(*) AS n FROM members WHERE created_at_ms >= $1 AND created_at_ms < $2 GROUP BY home_store',
      [fromMs, toMs],
    );
    const byStore = new Map<string, { salesFen: number; payments: number; newMembers: number }>();
    for (const s of (await this.stores()).map((s) => s.storeId)) byStore.set(s, { salesFen: 0, payments: 0, newMembers: 0 });
    for (const r of sales.rows) byStore.set(r.store_id, { ...byStore.get(r.store_id)!, salesFen: Number(r.fen), payments: Number(r.payments) });
    for (const r of joined.rows) byStore.set(r.home_store, { ...byStore.get(r.home_store)!, newMembers: Number(r.n) });
    return byStore;
  }
}

/**
 * The projections of the events just inserted for `storeId` (sequence numbers after
 * `afterSeq`): directory, payer links, consents, erasures, balances. Set-based, so a batch of
 * hundreds of entries costs a handful of statements.
 */
async function project(client: HqClient, storeId: string, afterSeq: number, faceGone: string[]): Promise<void> {
  const batch = `FROM chain_events WHERE store_id = $1 AND store_seq > $2`;
  const args = [storeId, afterSeq];
  await client.query(
    `INSERT INTO members (member_id, name, phone, home_store, created_at_ms, updated_at_ms)
     SELECT DISTINCT ON (member_id) member_id, body->>'name', body->>'phone', store_id, (body->>'createdAtMs')::bigint, (body->>'updatedAtMs')::bigint
     ${batch} AND kind = 'member' ORDER BY member_id, (body->>'updatedAtMs')::bigint DESC, store_seq DESC
     ON CONFLICT (member_id) DO UPDATE SET name = excluded.name, phone = excluded.phone,
       created_at_ms = least(members.created_at_ms, excluded.created_at_ms), updated_at_ms = excluded.updated_at_ms
     WHERE members.erased_at IS NULL AND excluded.updated_at_ms >= members.updated_at_ms`,
    args,
  );
  await client.query(
    `INSERT INTO payer_keys (payer_key, member_id, channel) SELECT body->>'payerKey', member_id, body->>'channel' ${batch} AND kind = 'payer' ORDER BY body->>'payerKey'
     ON CONFLICT (payer_key) DO NOTHING`,
    args,
  );
  await client.query(
    `INSERT INTO consents (consent_id, member_id, store_id, kind, method, granted_at_ms, withdrawn_at_ms)
     SELECT DISTINCT ON (body->>'consentId') body->>'consentId', member_id, store_id, body->>'kind', body->>'method', (body->>'grantedAtMs')::bigint, (body->>'withdrawnAtMs')::bigint
     ${batch} AND kind = 'consent' ORDER BY body->>'consentId', store_seq DESC
     ON CONFLICT (consent_id) DO UPDATE SET withdrawn_at_ms = excluded.withdrawn_at_ms`,
    args,
  );
  // A withdrawn face consent (here or chain-wide) or an erasure: the member's sealed faces are
  // scrubbed from HQ, and no branch that joins later receives them.
  if (faceGone.length > 0) {
    await client.query(`UPDATE chain_events SET body = '{"scrubbed":true}'::jsonb, delivered = false WHERE kind = 'face' AND member_id = ANY($1)`, [faceGone]);
  }
  // An erasure: the directory keeps the id (entries still arrive for it) without name or phone;
  // its payer links and consents go, and later changes to it are kept but sent to no branch.
  const erased = await client.query<{ member_id: string }>(
    `UPDATE members SET erased_at = now(), name = NULL, phone = NULL
     WHERE member_id IN (SELECT member_id ${batch} AND kind = 'member-erase') RETURNING member_id`,
    args,
  );
  if (erased.rows.length > 0) {
    const ids = erased.rows.map((r) => r.member_id);
    await client.query('DELETE FROM payer_keys WHERE member_id = ANY($1)', [ids]);
    await client.query('DELETE FROM consents WHERE member_id = ANY($1)', [ids]);
  }
  await client.query(
    `UPDATE chain_events e SET delivered = false FROM members m
     WHERE e.store_id = $1 AND e.store_seq > $2 AND e.kind IN ('member', 'payer', 'consent') AND m.member_id = e.member_id AND m.erased_at IS NOT NULL`,
    args,
  );
  await client.query(
    `INSERT INTO balances (member_id, spend_fen, points, stored_fen)
     SELECT member_id, sum((body->>'spendFen')::bigint), sum((body->>'points')::bigint), sum((body->>'storedFen')::bigint)
     ${batch} AND kind = 'entry' GROUP BY member_id ORDER BY member_id
     ON CONFLICT (member_id) DO UPDATE SET spend_fen = balances.spend_fen + excluded.spend_fen,
       points = balances.points + excluded.points, stored_fen = balances.stored_fen + excluded.stored_fen`,
    args,
  );
}

/** Orders two feed cursors ("xid:id"). */
function compareCursor(a: string, b: string): number {
  const [ax, ai] = a.split(':').map(BigInt) as [bigint, bigint];
  const [bx, bi] = b.split(':').map(BigInt) as [bigint, bigint];
  return ax === bx ? Number(ai - bi) : ax < bx ? -1 : 1;
}
