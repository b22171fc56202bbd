import type { SqliteDatabase } from './database.js';
import { newConsentId } from './ids.js';
import { LedgerError } from './ledgerErrors.js';
import type { Consent, ConsentKind, ConsentMethod, EpochMs } from './types.js';

export interface GrantConsentInput {
  memberId: string;
  kind: ConsentKind;
  method: ConsentMethod;
  lane?: string | null;
  staff?: string | null;
}

export interface ConsentWithdrawal {
  /** Consent records that were active and are now withdrawn. */
  withdrawnConsentIds: string[];
  /** Faces deleted with the withdrawal; the caller must drop them from the in-memory gallery. */
  deletedFaceIds: string[];
}

interface ConsentRow {
  id: string;
  member_id: string;
  kind: string;
  method: string;
  granted_at_ms: number;
  lane: string | null;
  staff: string | null;
  withdrawn_at_ms: number | null;
}

/** Recorded consent: who agreed, how, where and in front of whom; withdrawal erases faces. */
export class ConsentRepository {
  readonly #db: SqliteDatabase;
  readonly #memberExists;
  readonly #insert;
  readonly #active;
  readonly #withdrawActive;
  readonly #deleteFaces;
  readonly #insertFromChain;

  constructor(
    db: SqliteDatabase,
    private readonly clock: () => EpochMs = Date.now,
  ) {
    this.#db = db;
    this.#memberExists = db.prepare<[string], { found: number }>('SELECT 1 AS found FROM members WHERE id = ?');
    this.#insert = db.prepare<[string, string, string, string, number, string | null, string | null]>(
      `INSERT INTO consents (id, member_id, kind, method, granted_at_ms, lane, staff, withdrawn_at_ms)
       VALUES (?, ?, ?, ?, ?, ?, ?, NULL)`,
    );
    this.#active = db.prepare<[string, string], ConsentRow>(
      `SELECT id, member_id, kind, method, granted_at_ms, lane, staff, withdrawn_at_ms FROM consents
       WHERE member_id = ? AND kind = ? AND withdrawn_at_ms IS NULL
       ORDER BY granted_at_ms DESC, rowid DESC LIMIT 1`,
    );
    this.#withdrawActive = db.prepare<[number, string, string], { id: string }>(
      `UPDATE consents SET withdrawn_at_ms = ? WHERE member_id = ? AND kind = ? AND withdrawn_at_ms IS NULL
       RETURNING id`,
    );
    this.#deleteFaces = db.prepare<[string], { id: string }>('DELETE FROM faces WHERE member_id = ? RETURNING id');
    this.#insertFromChain = db.prepare<[string, string, string, string, number, number | null]>(
      `INSERT OR IGNORE INTO consents (id, member_id, kind, method, granted_at_ms, lane, staff, withdrawn_at_ms)
       VALUES (?, ?, ?, ?, ?, NULL, NULL, ?)`,
    );
  }

  /** A chain-wide consent recorded at another branch, kept here under its own id. */
  recordFromChain(input: { id: string; memberId: string; kind: ConsentKind; method: string; grantedAtMs: EpochMs; withdrawnAtMs: EpochMs | null }): void {
    this.#insertFromChain.run(input.id, input.memberId, input.kind, input.method, input.grantedAtMs, input.withdrawnAtMs);
  }

  /** The member's active consent of that kind, newest first. */
  active(memberId: string, kind: ConsentKind): Consent | undefined {
    const row = this.#active.get(memberId, kind);
    return row && toConsent(row);
  }

  grant(input: GrantConsentInput): Consent {
    if (!this.#memberExists.get(input.memberId)) {
      throw new LedgerError('MEMBER_NOT_FOUND', `No member ${input.memberId}`);
    }
    const consent: Consent = {
      id: newConsentId(),
      memberId: input.memberId,
      kind: input.kind,
      method: input.method,
      grantedAtMs: this.clock(),
      lane: input.lane ?? null,
      staff: input.staff ?? null,
      withdrawnAtMs: null,
    };
    this.#insert.run(
      consent.id,
      consent.memberId,
      consent.kind,
      consent.method,
      consent.grantedAtMs,
      consent.lane,
      consent.staff,
    );
    return consent;
  }

  /**
   * Withdraws every active consent of that kind. Withdrawing face consent deletes all of the
   * member's faces in the same transaction: without consent no face data may remain, not
   * even briefly.
   */
  withdraw(memberId: string, kind: ConsentKind): ConsentWithdrawal {
    return this.#db.transaction(() => {
      const withdrawnConsentIds = this.#withdrawActive.all(this.clock(), memberId, kind).map((r) => r.id);
      // Without consent to face recognition here, or of a chain-wide one, no face of theirs stays.
      const deletedFaceIds = withdrawnConsentIds.length > 0 || kind === 'face' ? this.#deleteFaces.all(memberId).map((r) => r.id) : [];
      return { withdrawnConsentIds, deletedFaceIds };
    })();
  }

  activeFaceConsent(memberId: string): Consent | undefined {
    const row = this.#active.get(memberId, 'face');
    return row && toConsent(row);
  }
}

function toConsent(row: ConsentRow): Consent {
  return {
    id: row.id,
    memberId: row.member_id,
    kind: row.kind as ConsentKind,
    method: row.method as ConsentMethod,
    grantedAtMs: row.granted_at_ms,
    lane: row.lane,
    staff: row.staff,
    withdrawnAtMs: row.withdrawn_at_ms,
  };
}
