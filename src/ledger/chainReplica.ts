import type { SqliteDatabase } from './database.js';
import { LedgerError } from './ledgerErrors.js';
import type { EpochMs } from './types.js';

/** What the outbox holds and HQ's feed sends: one change, with its global id. */
export type ChainEventKind = 'entry' | 'member' | 'member-erase' | 'payer' | 'consent' | 'face';

export interface OutboxEvent {
  /** This store's sequence number: 1, 2, 3, … without gaps. */
  seq: number;
  gid: string;
  kind: ChainEventKind;
  memberId: string;
  body: Record<string, unknown>;
}

/** A change from another branch (or a spend HQ authorized), as HQ's feed sends it. */
export interface ChainFeedEvent {
  gid: string;
  kind: ChainEventKind;
  memberId: string;
  body: Record<string, unknown>;
}

export interface EntryBody {
  kind: string;
  spendFen: number;
  points: number;
  storedFen: number;
  orderId: string | null;
  refId: string | null;
  /** Global id of the points-earn entry a points consumption draws from. */
  lot: string | null;
  atMs: number;
  recordedAtMs: number;
}

export interface ChainApplyOutcome {
  /** Members whose balances, tier inputs or details changed: their tier and segment follow. */
  touched: Set<string>;
  /** Members erased at another branch: the gallery, the lanes and the tills must follow. */
  erased: string[];
  entries: number;
  /** Faces that came from another branch with chain-wide consent: the gallery adds them. */
  facesAdded: { faceId: string; memberId: string; descriptor: Float32Array }[];
  /** Faces removed because the member withdrew chain-wide: the gallery drops them. */
  facesRemoved: { faceId: string; memberId: string }[];
}

/** What MemberStore does with the events that touch faces and consent (it holds the ciphers). */
export interface ChainFaceHooks {
  face(event: ChainFeedEvent, outcome: ChainApplyOutcome): void;
  consent(event: ChainFeedEvent, outcome: ChainApplyOutcome): void;
}

const MEMBER_BODY = `json_object('name', m.name, 'phone', m.phone, 'createdAtMs', m.created_at_ms, 'updatedAtMs', m.updated_at_ms, 'marketingOptOut', m.marketing_opt_out)`;
const CONSENT_BODY = `json_object('consentId', c.id, 'kind', c.kind, 'method', c.method, 'grantedAtMs', c.granted_at_ms, 'withdrawnAtMs', c.withdrawn_at_ms)`;

/**
 * The store's side of the chain, in SQL: joining (with what the store held before it joined),
 * the outbox that triggers fill (migration 010), and applying HQ's feed. The callers decide
 * when; this writes.
 */
export class ChainReplica {
  readonly #db: SqliteDatabase;
  readonly #link;
  readonly #pending;
  readonly #backlog;
  readonly #ack;
  readonly #setApplying;
  readonly #setCursor;
  readonly #entryByGid;
  readonly #insertEntry;
  readonly #memberExists;
  readonly #upsertMember;
  readonly #deleteMember;
  readonly #insertPayer;
  readonly #enqueue;

  constructor(db: SqliteDatabase) {
    this.#db = db;
    this.#link = db.prepare<[], { store_id: string; hq_cursor: string }>('SELECT store_id, hq_cursor FROM chain_link');
    this.#pending = db.prepare<[number, number], { seq: number; gid: string; kind: string; member_id: string; body: string }>(
      'SELECT seq, gid, kind, member_id, body FROM chain_outbox WHERE seq > ? ORDER BY seq LIMIT ?',
    );
    this.#backlog = db.prepare<[], { n: number; last: number | null }>('SELECT count(*) AS n, max(seq) AS last FROM chain_outbox');
    this.#ack = db.prepare<[number]>('DELETE FROM chain_outbox WHERE seq <= ?');
    this.#setApplying = db.prepare<[number]>('UPDATE chain_link SET applying = ?');
    this.#setCursor = db.prepare<[string]>('UPDATE chain_link SET hq_cursor = ?');
    this.#entryByGid = db.prepare<[string], { id: number }>('SELECT id FROM ledger_entries WHERE gid = ?');
    this.#insertEntry = db.prepare<[string, string, number, number, number, string | null, string | null, number | null, number, number, string]>(
      `INSERT INTO ledger_entries
         (member_id, kind, spend_fen, points, stored_fen, order_id, ref_id, lot_entry_id, at_ms, recorded_at_ms, gid)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    this.#memberExists = db.prepare<[string], { one: number }>('SELECT 1 AS one FROM members WHERE id = ?');
    this.#upsertMember = db.prepare<[string, string, string | null, number, number, number]>(
      `INSERT INTO members (id, name, phone, created_at_ms, updated_at_ms, marketing_opt_out) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (id) DO UPDATE SET name = excluded.name, phone = excluded.phone,
         created_at_ms = min(members.created_at_ms, excluded.created_at_ms), updated_at_ms = excluded.updated_at_ms,
         marketing_opt_out = excluded.marketing_opt_out
       WHERE excluded.updated_at_ms >= members.updated_at_ms`,
    );
    this.#deleteMember = db.prepare<[string]>('DELETE FROM members WHERE id = ?');
    this.#enqueue = db.prepare<[string, string, string]>(
      `INSERT INTO chain_outbox (gid, kind, member_id, body)
       SELECT store_id || ':' || lower(hex(randomblob(8))), ?, ?, ? FROM chain_link WHERE applying = 0`,
    );
    this.#insertPayer = db.prepare<[string, string, string, number]>(
      'INSERT OR IGNORE INTO payer_identities (payer_key, member_id, channel, created_at_ms) VALUES (?, ?, ?, ?)',
    );
  }

  /** The chain this store joined, or undefined for a store that runs alone. */
  link(): { storeId: string; cursor: string } | undefined {
    const row = this.#link.get();
    return row && { storeId: row.store_id, cursor: row.hq_cursor };
  }

  /**
   * Joins the chain as `storeId`: from now on the triggers fill the outbox. What the store held
   * before — members, payer links, consents, entries — goes into the outbox first, in that
   * order, so HQ learns a member before their entries. Joining again with the same id does
   * nothing; another id is refused (the sequence numbers belong to one store).
   */
  join(storeId: string, nowMs: EpochMs): { joined: boolean; backfilled: number } {
    return this.#db.transaction(() => {
      const current = this.link();
      if (current) {
        if (current.storeId !== storeId) {
          throw new LedgerError(
            'CHAIN_STORE_MISMATCH',
            `This database belongs to chain store "${current.storeId}", not "${storeId}"; set chain.storeId back, or start this store on a fresh data folder.`,
          );
        }
        return { joined: false, backfilled: 0 };
      }
      this.#db.prepare('INSERT INTO chain_link (singleton, store_id, joined_at_ms) VALUES (1, ?, ?)').run(storeId, nowMs);
      const gid = `? || ':' || lower(hex(randomblob(8)))`;
      let backfilled = 0;
      backfilled += this.#db
        .prepare(`INSERT INTO chain_outbox (gid, kind, member_id, body) SELECT ${gid}, 'member', m.id, ${MEMBER_BODY} FROM members m ORDER BY m.created_at_ms, m.id`)
        .run(storeId).changes;
      backfilled += this.#db
        .prepare(
          `INSERT INTO chain_outbox (gid, kind, member_id, body)
           SELECT ${gid}, 'payer', p.member_id, json_object('payerKey', p.payer_key, 'channel', p.channel, 'createdAtMs', p.created_at_ms)
           FROM payer_identities p ORDER BY p.created_at_ms`,
        )
        .run(storeId).changes;
      backfilled += this.#db
        .prepare(`INSERT INTO chain_outbox (gid, kind, member_id, body) SELECT ${gid}, 'consent', c.member_id, ${CONSENT_BODY} FROM consents c ORDER BY c.granted_at_ms`)
        .run(storeId).changes;
      backfilled += this.#db
        .prepare(
          `INSERT INTO chain_outbox (gid, kind, member_id, body)
           SELECT @store || ':e' || e.id, 'entry', e.member_id,
             json_object('kind', e.kind, 'spendFen', e.spend_fen, 'points', e.points, 'storedFen', e.stored_fen,
               'orderId', e.order_id, 'refId', e.ref_id, 'lot', CASE WHEN e.lot_entry_id IS NULL THEN NULL ELSE @store || ':e' || e.lot_entry_id END,
               'atMs', e.at_ms, 'recordedAtMs', e.recorded_at_ms)
           FROM ledger_entries e ORDER BY e.id`,
        )
        .run({ store: storeId }).changes;
      return { joined: true, backfilled };
    }).immediate();
  }

  /**
   * A change the triggers cannot write (a face, sealed with the chain face key by the caller)
   * into the outbox, in the caller's transaction; nothing for a store that runs alone.
   */
  enqueue(kind: ChainEventKind, memberId: string, body: Record<string, unknown>): void {
    this.#enqueue.run(kind, memberId, JSON.stringify(body));
  }

  /** Outbox events after `afterSeq`, oldest first. */
  pending(afterSeq: number, limit: number): OutboxEvent[] {
    return this.#pending.all(afterSeq, limit).map((row) => ({
      seq: row.seq,
      gid: row.gid,
      kind: row.kind as ChainEventKind,
      memberId: row.member_id,
      body: JSON.parse(row.body) as Record<string, unknown>,
    }));
  }

  /** Events HQ has not confirmed yet, and the newest sequence number written. */
  backlog(): { events: number; lastSeq: number } {
    const row = this.#backlog.get();
    return { events: row?.n ?? 0, lastSeq: row?.last ?? 0 };
  }

  /** HQ holds everything up to `lastSeq`: those rows leave the outbox. */
  acknowledge(lastSeq: number): number {
    return this.#ack.run(lastSeq).changes;
  }

  /**
   * Applies HQ's feed up to `cursor`, in HQ's order; run inside the caller's transaction, so the
   * changes and the cursor commit together. An event already applied (by its global id) is
   * skipped, so a feed page fetched twice counts nothing twice. Nothing applied here goes back
   * into the outbox.
   */
  apply(events: readonly ChainFeedEvent[], cursor: string, hooks: ChainFaceHooks): ChainApplyOutcome {
    if (!this.#db.inTransaction) throw new Error('ChainReplica.apply runs inside a transaction');
    const link = this.link();
    if (!link) throw new LedgerError('CHAIN_NOT_JOINED', 'This store has not joined a chain.');
    const outcome: ChainApplyOutcome = { touched: new Set(), erased: [], entries: 0, facesAdded: [], facesRemoved: [] };
    this.#setApplying.run(1);
    try {
      for (const event of events) this.#applyOne(event, link.storeId, outcome, hooks);
      this.#setCursor.run(cursor);
    } finally {
      this.#setApplying.run(0);
    }
    return outcome;
  }

  #applyOne(event: ChainFeedEvent, storeId: string, outcome: ChainApplyOutcome, hooks: ChainFaceHooks): void {
    const memberKnown = this.#memberExists.get(event.memberId) !== undefined;
    switch (event.kind) {
      case 'entry': {
        // A member erased here keeps no balance here; the entry stays at HQ and its branch.
        if (!memberKnown || this.#entryByGid.get(event.gid)) return;
        const e = event.body as unknown as EntryBody;
        this.#insertEntry.run(
          event.memberId,
          e.kind,
          e.spendFen,
          e.points,
          e.storedFen,
          e.orderId,
          e.refId,
          e.lot === null ? null : this.#localEntryId(e.lot, storeId),
          e.atMs,
          e.recordedAtMs,
          event.gid,
        );
        outcome.entries++;
        outcome.touched.add(event.memberId);
        return;
      }
      case 'member': {
        const b = event.body as { name: string; phone: string | null; createdAtMs: number; updatedAtMs: number; marketingOptOut?: number };
        const optOut = b.marketingOptOut === 1 ? 1 : 0;
        try {
          this.#upsertMember.run(event.memberId, b.name, b.phone, b.createdAtMs, b.updatedAtMs, optOut);
        } catch (err) {
          // The phone number is another member's here (two people registered it at two
          // branches before either synced): keep the member, without the number.
          if ((err as { code?: unknown }).code !== 'SQLITE_CONSTRAINT_UNIQUE') throw err;
          this.#upsertMember.run(event.memberId, b.name, null, b.createdAtMs, b.updatedAtMs, optOut);
        }
        outcome.touched.add(event.memberId);
        return;
      }
      case 'member-erase':
        if (memberKnown) {
          this.#deleteMember.run(event.memberId);
          outcome.erased.push(event.memberId);
          outcome.touched.delete(event.memberId);
        }
        return;
      case 'payer': {
        if (!memberKnown) return;
        const b = event.body as { payerKey: string; channel: string; createdAtMs: number };
        this.#insertPayer.run(b.payerKey, event.memberId, b.channel, b.createdAtMs);
        return;
      }
      case 'consent':
        if (memberKnown) hooks.consent(event, outcome);
        return;
      case 'face':
        if (memberKnown) hooks.face(event, outcome);
        return;
    }
  }

  /** The local row id of the entry with global id `gid` (this store's own, or one applied before). */
  #localEntryId(gid: string, storeId: string): number {
    const own = `${storeId}:e`;
    if (gid.startsWith(own)) return Number(gid.slice(own.length));
    const row = this.#entryByGid.get(gid);
    if (!row) throw new LedgerError('CHAIN_LOT_UNKNOWN', `The points lot ${gid} an entry from HQ draws on is not here; HQ's feed is out of order.`);
    return row.id;
  }
}
