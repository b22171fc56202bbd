import type { Logger } from '../core/logger.js';
import { LedgerError, type MemberStore } from '../ledger/index.js';
import type { MemberImportRow, PurchaseImportRow, RejectedRow } from '../operations/memberImportCsv.js';
import type { MemberService } from './memberService.js';
import type { SegmentService } from './segmentService.js';

export interface ImportOutcome {
  /** Members created, or purchases recorded, by this run. */
  added: number;
  /** Rows already imported by an earlier run: nothing was written for them. */
  unchanged: number;
  rejected: RejectedRow[];
}

export interface MemberImportDeps {
  store: Pick<MemberStore, 'inTransaction' | 'members' | 'imports' | 'membership' | 'audit'>;
  members: Pick<MemberService, 'createMember' | 'setMarketingPreferences'>;
  segments: Pick<SegmentService, 'recompute'>;
  log: Logger;
  /** Rows written per transaction (one fsync each); a rejected row is undone alone. */
  rowsPerCommit?: number;
  clock?: () => number;
}

const ROWS_PER_COMMIT = 200;

/**
 * Brings a shop's existing membership into memberlens: members with their opening points,
 * stored value and tier, then their past purchases, which count for segments. The one owner of
 * that rule: MemberService creates each member (source "import"), the membership ledger writes
 * the opening balances and purchases as ledger entries, SegmentService recomputes the member.
 * Idempotent: a member this import created is found again by phone and left alone, a purchase
 * by its order id; so re-running a file adds nothing. Phone numbers are never logged.
 */
export class MemberImportService {
  readonly #clock: () => number;

  constructor(private readonly deps: MemberImportDeps) {
    this.#clock = deps.clock ?? Date.now;
  }

  importMembers(rows: readonly MemberImportRow[], actor: string): ImportOutcome {
    const { store, members, segments } = this.deps;
    const rejected: RejectedRow[] = [];
    let added = 0;
    let unchanged = 0;
    this.#inBatches(rows, (row) => {
      const existing = store.members.byPhone(row.phone);
      if (existing) {
        if (store.imports.importedAt(existing.id) !== undefined) {
          unchanged++;
          return;
        }
        rejected.push({
          line: row.line,
          field: 'phone',
          problem: `belongs to member ${existing.id}, who joined here before the import; merge the two by hand on the admin page, or leave the row out`,
        });
        return;
      }
      const failure = attempt(store, () => {
        const member = members.createMember({ name: row.name, phone: row.phone, actor, source: 'import' });
        store.imports.markImported(member.id, this.#clock());
        store.membership.recordOpeningBalances({ memberId: member.id, points: row.points, storedYuan: row.storedValueYuan, tier: row.tier, actor });
        // The file is the shop's word that the member gave it for greetings (see the README).
        if (row.birthdayMonthDay !== null) members.setMarketingPreferences(member.id, { birthday: { monthDay: row.birthdayMonthDay } }, actor);
        segments.recompute(member.id);
      });
      if (failure) rejected.push({ line: row.line, ...failure });
      else added++;
    });
    this.#record(actor, 'members', { added, unchanged, rejected: rejected.length });
    return { added, unchanged, rejected };
  }

  importPurchases(rows: readonly PurchaseImportRow[], actor: string): ImportOutcome {
    const { store, segments } = this.deps;
    const rejected: RejectedRow[] = [];
    let added = 0;
    let unchanged = 0;
    // A member's segment is recomputed once per batch, not once for each of their purchases.
    const touched = new Set<string>();
    const recomputeTouched = () => {
      for (const memberId of touched) segments.recompute(memberId);
      touched.clear();
    };
    this.#inBatches(rows, (row) => {
      const member = store.members.byPhone(row.phone);
      if (!member) {
        rejected.push({ line: row.line, field: 'phone', problem: 'is no member\'s phone number; import the member first (memberlens import members), then this file again' });
        return;
      }
      let duplicate = false;
      const failure = attempt(store, () => {
        duplicate = store.membership.recordPastPurchase({ memberId: member.id, orderId: row.orderId, amountYuan: row.amountYuan, paidAtMs: row.paidAtMs }).duplicate;
      });
      if (!failure && !duplicate) touched.add(member.id);
      if (failure) rejected.push({ line: row.line, ...failure });
      else if (duplicate) unchanged++;
      else added++;
    }, recomputeTouched);
    this.#record(actor, 'purchases', { added, unchanged, rejected: rejected.length });
    return { added, unchanged, rejected };
  }

  /** Many rows per transaction, so a large file costs a few fsyncs, not one per row; `afterBatch` runs in the batch's transaction. */
  #inBatches<T>(rows: readonly T[], write: (row: T) => void, afterBatch?: () => void): void {
    const size = this.deps.rowsPerCommit ?? ROWS_PER_COMMIT;
    for (let i = 0; i < rows.length; i += size) {
      this.deps.store.inTransaction(() => {
        rows.slice(i, i + size).forEach(write);
        afterBatch?.();
      });
    }
  }

  /** The import itself goes to the processing log: what and how many, never a name or a phone. */
  #record(actor: string, what: 'members' | 'purchases', counts: Record<string, number>): void {
    this.deps.store.audit.record({ actor, action: 'import', details: { what, ...counts } });
    this.deps.log.info({ what, ...counts }, 'import finished');
  }
}

/** Runs one row's writes as a savepoint: a row the ledger refuses is undone alone and reported. */
function attempt(store: Pick<MemberStore, 'inTransaction'>, write: () => void): { field: string; problem: string } | undefined {
  try {
    store.inTransaction(write);
    return undefined;
  } catch (err) {
    if (!(err instanceof LedgerError)) throw err;
    const field = err.code === 'PHONE_TAKEN' ? 'phone' : err.code === 'ORDER_CONFLICT' ? 'orderNo' : '';
    return { field, problem: err.message };
  }
}
