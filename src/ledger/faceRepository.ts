import type { SqliteDatabase } from './database.js';
import type { ConsentRepository } from './consentRepository.js';
import type { FaceCipher } from './faceCipher.js';
import { newFaceId } from './ids.js';
import { LedgerError } from './ledgerErrors.js';
import type { EpochMs, FaceQuality, FaceRecord, FaceSource, GalleryFace } from './types.js';

export interface AddFaceInput {
  memberId: string;
  descriptor: Float32Array;
  source: FaceSource;
  quality?: FaceQuality | null;
  detectionScore?: number | null;
}

interface FaceRow {
  id: string;
  member_id: string;
  source: string;
  quality: string | null;
  detection_score: number | null;
  created_at_ms: number;
}

interface EncryptedFaceRow {
  id: string;
  member_id: string;
  embedding: Buffer;
}

const COLUMNS = 'id, member_id, source, quality, detection_score, created_at_ms';

/** Enrolled faces; descriptors are encrypted on the way in and decrypted only by `loadAll`. */
export class FaceRepository {
  readonly #db: SqliteDatabase;
  readonly #insert;
  readonly #get;
  readonly #listForMember;
  readonly #delete;
  readonly #all;
  readonly #ids;
  readonly #load;

  constructor(
    db: SqliteDatabase,
    private readonly cipher: FaceCipher,
    private readonly consents: ConsentRepository,
    private readonly clock: () => EpochMs = Date.now,
  ) {
    this.#db = db;
    this.#insert = db.prepare<[string, string, Buffer, string, string | null, number | null, number]>(
      `INSERT INTO faces (id, member_id, embedding, source, quality, detection_score, created_at_ms)
       VALUES (?, ?, ?, ?, ?, ?, ?)`,
    );
    this.#get = db.prepare<[string], FaceRow>(`SELECT ${COLUMNS} FROM faces WHERE id = ?`);
    this.#listForMember = db.prepare<[string], FaceRow>(
      `SELECT ${COLUMNS} FROM faces WHERE member_id = ? ORDER BY created_at_ms, id`,
    );
    this.#delete = db.prepare<[string]>('DELETE FROM faces WHERE id = ?');
    this.#all = db.prepare<[], EncryptedFaceRow>('SELECT id, member_id, embedding FROM faces ORDER BY rowid');
    this.#ids = db.prepare<[], { id: string; member_id: string }>('SELECT id, member_id FROM faces');
    this.#load = db.prepare<[string], EncryptedFaceRow>('SELECT id, member_id, embedding FROM faces WHERE id = ?');
  }

  /** Stores a face; throws CONSENT_REQUIRED unless the member has an active face consent. */
  add(input: AddFaceInput): FaceRecord {
    // The consent check and the insert share a transaction so a concurrent withdrawal
    // cannot slip between them and leave a face without consent.
    return this.#db.transaction(() => {
      if (!this.consents.activeFaceConsent(input.memberId)) {
        throw new LedgerError(
          'CONSENT_REQUIRED',
          `Member ${input.memberId} has no active face consent; record the member's consent ` +
            '(who, how, which lane, which staff) before enrolling a face.',
        );
      }
      const face: FaceRecord = {
        id: newFaceId(),
        memberId: input.memberId,
        source: input.source,
        quality: input.quality ?? null,
        detectionScore: input.detectionScore ?? null,
        createdAtMs: this.clock(),
      };
      this.#insert.run(
        face.id,
        face.memberId,
        this.cipher.seal(face.memberId, input.descriptor),
        face.source,
        face.quality === null ? null : JSON.stringify(face.quality),
        face.detectionScore,
        face.createdAtMs,
      );
      return face;
    })();
  }

  /**
   * A face enrolled at another branch of the chain, under the same face id; only while the
   * member's chain-wide face consent is active here. False when it was already here.
   */
  addFromChain(faceId: string, memberId: string, descriptor: Float32Array): boolean {
    if (this.#get.get(faceId)) return false;
    if (!this.consents.active(memberId, 'chain-face')) return false;
    this.#insert.run(faceId, memberId, this.cipher.seal(memberId, descriptor), 'chain', null, null, this.clock());
    return true;
  }

  get(faceId: string): FaceRecord | undefined {
    const row = this.#get.get(faceId);
    return row && toFaceRecord(row);
  }

  listForMember(memberId: string): FaceRecord[] {
    return this.#listForMember.all(memberId).map(toFaceRecord);
  }

  delete(faceId: string): boolean {
    return this.#delete.run(faceId).changes > 0;
  }

  /** Which faces exist and whose they are, without touching a descriptor: to compare with the gallery. */
  listIds(): { faceId: string; memberId: string }[] {
    return this.#ids.all().map((row) => ({ faceId: row.id, memberId: row.member_id }));
  }

  /** One face with its decrypted descriptor, for the gallery; undefined when it is gone. */
  load(faceId: string): GalleryFace | undefined {
    const row = this.#load.get(faceId);
    return row && { faceId: row.id, memberId: row.member_id, descriptor: this.cipher.open(row.id, row.member_id, row.embedding) };
  }

  /**
   * Every enrolled face with its decrypted descriptor, for filling the in-memory gallery.
   * Rows are read up front and decrypted lazily: a live SQLite cursor would lock this
   * connection against writes for as long as the caller takes to consume the iterator.
   */
  *loadAll(): Iterable<GalleryFace> {
    for (const row of this.#all.all()) {
      yield { faceId: row.id, memberId: row.member_id, descriptor: this.cipher.open(row.id, row.member_id, row.embedding) };
    }
  }
}

function toFaceRecord(row: FaceRow): FaceRecord {
  return {
    id: row.id,
    memberId: row.member_id,
    source: row.source as FaceSource,
    quality: row.quality === null ? null : (JSON.parse(row.quality) as FaceQuality),
    detectionScore: row.detection_score,
    createdAtMs: row.created_at_ms,
  };
}
