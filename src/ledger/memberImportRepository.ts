import type { SqliteDatabase } from './database.js';
import type { EpochMs } from './types.js';

/**
 * Which members an import created (memberlens import members). A re-run of the same file finds
 * each row's member by phone and, when this table says the import made them, adds nothing; a
 * member who joined here some other way is never merged with an imported row.
 */
export class MemberImportRepository {
  readonly #mark;
  readonly #get;

  constructor(db: SqliteDatabase) {
    this.#mark = db.prepare<[string, number]>('INSERT INTO member_imports (member_id, imported_at_ms) VALUES (?, ?)');
    this.#get = db.prepare<[string], { imported_at_ms: number }>('SELECT imported_at_ms FROM member_imports WHERE member_id = ?');
  }

  markImported(memberId: string, atMs: EpochMs): void {
    this.#mark.run(memberId, atMs);
  }

  /** When the member was imported, or undefined for a member who joined here. */
  importedAt(memberId: string): EpochMs | undefined {
    return this.#get.get(memberId)?.imported_at_ms;
  }
}
