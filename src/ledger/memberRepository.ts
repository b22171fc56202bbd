import { freeTextProblem } from '../core/freeText.js';
import type { SqliteDatabase } from './database.js';
import { newMemberId } from './ids.js';
import { LedgerError } from './ledgerErrors.js';
import { segmentConditions, type SegmentFilter } from './segmentRepository.js';
import type { EpochMs, Member } from './types.js';

export interface CreateMemberInput {
  name: string;
  /** Mainland mobile number; spaces, dashes and a +86 prefix are stripped. */
  phone?: string | null;
}

export interface ListMembersQuery extends SegmentFilter {
  /** Digits match a phone prefix; anything else matches part of the name. */
  query?: string;
  limit: number;
  offset?: number;
}

interface MemberRow {
  id: string;
  name: string;
  phone: string | null;
  created_at_ms: number;
  updated_at_ms: number;
}

const MAX_NAME_LENGTH = 100;
const MAINLAND_MOBILE = /^1[3-9]\d{9}$/;
const COLUMNS = 'id, name, phone, created_at_ms, updated_at_ms';
// Newest first so the admin sees recent sign-ups without paging; id breaks ties stably.
const ORDER = 'ORDER BY created_at_ms DESC, id';

export class MemberRepository {
  readonly #insert;
  readonly #get;
  readonly #listAll;
  readonly #listByName;
  readonly #listByPhonePrefix;
  readonly #delete;
  readonly #count;
  readonly #byPhone;
  readonly #db: SqliteDatabase;
  /** Statements for lists filtered by segment or tag, one per combination of conditions. */
  readonly #filtered = new Map<string, ReturnType<SqliteDatabase['prepare']>>();

  constructor(
    db: SqliteDatabase,
    private readonly clock: () => EpochMs = Date.now,
  ) {
    this.#db = db;
    this.#insert = db.prepare<[string, string, string | null, number, number]>(
      'INSERT INTO members (id, name, phone, created_at_ms, updated_at_ms) VALUES (?, ?, ?, ?, ?)',
    );
    this.#get = db.prepare<[string], MemberRow>(`SELECT ${COLUMNS} FROM members WHERE id = ?`);
    this.#listAll = db.prepare<[number, number], MemberRow>(`SELECT ${COLUMNS} FROM members ${ORDER} LIMIT ? OFFSET ?`);
    this.#listByName = db.prepare<[string, number, number], MemberRow>(
      `SELECT ${COLUMNS} FROM members WHERE name LIKE ? ESCAPE '\\' ${ORDER} LIMIT ? OFFSET ?`,
    );
    // GLOB is case-sensitive, so it can use the phone index; digits need no escaping.
    this.#listByPhonePrefix = db.prepare<[string, number, number], MemberRow>(
      `SELECT ${COLUMNS} FROM members WHERE phone GLOB ? ${ORDER} LIMIT ? OFFSET ?`,
    );
    this.#delete = db.prepare<[string]>('DELETE FROM members WHERE id = ?');
    this.#count = db.prepare<[], { n: number }>('SELECT count(*) AS n FROM members');
    this.#byPhone = db.prepare<[string], MemberRow>(`SELECT ${COLUMNS} FROM members WHERE phone = ?`);
  }

  create(input: CreateMemberInput): Member {
    // The API and the CLI refuse these first; this keeps any other caller from storing a name
    // the till would show wrongly (a NUL would also fail the CHECK on the column).
    const problem = freeTextProblem(input.name);
    if (problem) throw new LedgerError('INVALID_INPUT', `A member name ${problem}`);
    const name = input.name.trim().normalize('NFC');
    if (name.length === 0 || name.length > MAX_NAME_LENGTH) {
      throw new LedgerError('INVALID_INPUT', `A member name must be 1 to ${MAX_NAME_LENGTH} characters`);
    }
    const phone = normalizePhone(input.phone);
    const now = this.clock();
    const member: Member = { id: newMemberId(), name, phone, createdAtMs: now, updatedAtMs: now };
    try {
      this.#insert.run(member.id, member.name, member.phone, now, now);
    } catch (err) {
      if ((err as { code?: unknown }).code === 'SQLITE_CONSTRAINT_UNIQUE') {
        throw new LedgerError('PHONE_TAKEN', 'Another member already has this phone number', { cause: err });
      }
      throw err;
    }
    return member;
  }

  get(id: string): Member | undefined {
    const row = this.#get.get(id);
    return row && toMember(row);
  }

  list(query: ListMembersQuery): Member[] {
    const limit = query.limit;
    const offset = query.offset ?? 0;
    const text = query.query?.trim() ?? '';
    if (query.lifecycle !== undefined || query.rfm !== undefined || query.tag !== undefined) {
      return this.#listFiltered(text, query, limit, offset);
    }
    if (text === '') return this.#listAll.all(limit, offset).map(toMember);
    if (/^\d+$/.test(text)) return this.#listByPhonePrefix.all(`${text}*`, limit, offset).map(toMember);
    return this.#listByName.all(likePattern(text), limit, offset).map(toMember);
  }

  #listFiltered(text: string, filter: SegmentFilter, limit: number, offset: number): Member[] {
    const { where, params } = segmentConditions(filter);
    const named: Record<string, string | number> = { ...params, limit, offset };
    if (/^\d+$/.test(text)) {
      where.unshift('m.phone GLOB @text');
      named.text = `${text}*`;
    } else if (text !== '') {
      where.unshift("m.name LIKE @text ESCAPE '\\'");
      named.text = likePattern(text);
    }
    const key = where.join(' AND ');
    let statement = this.#filtered.get(key);
    if (!statement) {
      statement = this.#db.prepare(`SELECT ${COLUMNS} FROM members m WHERE ${key} ${ORDER} LIMIT @limit OFFSET @offset`);
      this.#filtered.set(key, statement);
    }
    return (statement.all(named) as MemberRow[]).map(toMember);
  }

  /** The member with this phone number (spaces, dashes and +86 allowed), if any. */
  byPhone(phone: string): Member | undefined {
    const digits = normalizePhone(phone);
    const row = digits === null ? undefined : this.#byPhone.get(digits);
    return row && toMember(row);
  }

  /** Deletes the member; faces and consents go with it through ON DELETE CASCADE. */
  delete(id: string): boolean {
    return this.#delete.run(id).changes > 0;
  }

  count(): number {
    return this.#count.get()?.n ?? 0;
  }
}

function likePattern(text: string): string {
  return `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

/** A mainland mobile number as stored: 11 digits; null for none; throws for anything else. */
export function normalizePhone(phone: string | null | undefined): string | null {
  if (phone === undefined || phone === null || phone.trim() === '') return null;
  const digits = phone.replace(/[\s-]/g, '').replace(/^(\+86|0086)/, '');
  if (!MAINLAND_MOBILE.test(digits)) {
    throw new LedgerError('INVALID_INPUT', 'A phone number must be an 11-digit mainland mobile number');
  }
  return digits;
}

function toMember(row: MemberRow): Member {
  return {
    id: row.id,
    name: row.name,
    phone: row.phone,
    createdAtMs: row.created_at_ms,
    updatedAtMs: row.updated_at_ms,
  };
}
