import type { MembershipSettings } from '../config/settingsSchema.js';
import { AuditLog } from './auditLog.js';
import { ChainReplica, type ChainApplyOutcome, type ChainFeedEvent } from './chainReplica.js';
import { CampaignRepository } from './campaignRepository.js';
import { CouponLedger } from './couponLedger.js';
import { ConsentRepository, type ConsentWithdrawal } from './consentRepository.js';
import { openDatabase, type MigrationBackupOptions, type SqliteDatabase } from './database.js';
import { FaceCipher } from './faceCipher.js';
import { FaceRepository, type AddFaceInput } from './faceRepository.js';
import { GroupCommit, type GroupCommitStats } from './groupCommit.js';
import { LedgerError } from './ledgerErrors.js';
import { MemberActivity } from './memberActivity.js';
import { MemberImportRepository } from './memberImportRepository.js';
import { OutboundMessageRepository } from './outboundMessageRepository.js';
import { MemberRepository } from './memberRepository.js';
import { MembershipLedger, type MembershipLedgerOptions } from './membershipLedger.js';
import { derivePayerKeySecret } from './payerIdentity.js';
import { AnalyticsQueries } from './analyticsQueries.js';
import { RollupRepository } from './rollupRepository.js';
import { SegmentRepository } from './segmentRepository.js';
import { StoreCalendar } from './storeCalendar.js';
import { TokenRepository } from './tokenRepository.js';
import type { Consent, ConsentMethod, EpochMs, FaceRecord, Member, MemberSource } from './types.js';

export interface OpenMemberStoreOptions {
  databaseFile: string;
  /** 32-byte AES key, usually from `loadFaceKey`. */
  faceKey: Buffer;
  busyTimeoutMs?: number;
  /** Where to back up a database with data before its schema is upgraded; without it, no backup. */
  backupBeforeMigration?: MigrationBackupOptions;
  clock?: () => EpochMs;
  /** Tiers, points and stored-value rules: the `membership` settings. */
  membership: MembershipSettings;
  /** HMAC key for payer identities; by default derived from `faceKey`. */
  payerKeySecret?: Buffer;
  /**
   * The chain face key (32 bytes) every branch holds and HQ never sees: faces of members with
   * chain-wide consent travel sealed with it. Without it no face leaves or arrives.
   */
  chainFaceKey?: Buffer;
  /** Largest group of writes `writeInGroup` commits together: `storage.maxWritesPerCommit`. */
  maxWritesPerCommit: number;
  /** The store's IANA time zone for the dashboard's local dates (`analytics.timeZone`); empty or absent: the PC's. */
  timeZone?: string;
}

export interface FaceConsentInput {
  method: ConsentMethod;
  lane?: string | null;
  staff?: string | null;
}

export type NewFaceInput = Omit<AddFaceInput, 'memberId'>;

export interface EnrollMemberInput {
  /** Who is acting, for the processing log. */
  actor: string;
  name: string;
  phone?: string | null;
  /** How the member came to the shop, for the processing log (the dashboard counts new members by it). */
  source?: MemberSource;
  /** Required when `faces` is not empty. */
  faceConsent?: FaceConsentInput;
  faces?: NewFaceInput[];
}

export interface EnrolledMember {
  member: Member;
  consent: Consent | null;
  faces: FaceRecord[];
}

export interface MemberDeletion {
  deleted: boolean;
  /** Faces removed with the member; the caller must drop them from the in-memory gallery. */
  deletedFaceIds: string[];
}

/**
 * The member ledger as services see it: the repositories, one transaction helper, and the
 * operations that must be audited and atomic together. Every deletion here also flushes the
 * WAL so the erased bytes leave the files on disk, not only the tables.
 */
export class MemberStore {
  readonly members: MemberRepository;
  readonly faces: FaceRepository;
  readonly consents: ConsentRepository;
  readonly audit: AuditLog;
  readonly tokens: TokenRepository;
  readonly activity: MemberActivity;
  readonly membership: MembershipLedger;
  readonly segments: SegmentRepository;
  /** The dashboard's daily sums; the ledger keeps them in step with its own writes. */
  readonly rollups: RollupRepository;
  readonly analytics: AnalyticsQueries;
  readonly calendar: StoreCalendar;
  /** The outbox for HQ and the feed from it, when the store is part of a chain. */
  readonly chain: ChainReplica;
  readonly coupons: CouponLedger;
  readonly campaigns: CampaignRepository;
  readonly imports: MemberImportRepository;
  readonly messages: OutboundMessageRepository;
  readonly #db: SqliteDatabase;
  readonly #group: GroupCommit;
  readonly #chainCipher: FaceCipher | undefined;
  #purgePending = false;
  #dataVersion: number | undefined;

  private constructor(
    db: SqliteDatabase,
    cipher: FaceCipher,
    clock: () => EpochMs,
    membership: MembershipLedgerOptions,
    maxWritesPerCommit: number,
    calendar: StoreCalendar,
    chainCipher?: FaceCipher,
  ) {
    this.#chainCipher = chainCipher;
    this.#db = db;
    this.#group = new GroupCommit(db, maxWritesPerCommit);
    this.members = new MemberRepository(db, clock);
    this.consents = new ConsentRepository(db, clock);
    this.faces = new FaceRepository(db, cipher, this.consents, clock);
    this.audit = new AuditLog(db, clock);
    this.tokens = new TokenRepository(db, clock);
    this.activity = new MemberActivity(db);
    this.calendar = calendar;
    this.rollups = new RollupRepository(db, calendar);
    this.analytics = new AnalyticsQueries(db);
    this.membership = new MembershipLedger({ db, members: this.members, audit: this.audit, clock, rollups: this.rollups }, membership);
    this.segments = new SegmentRepository(db);
    this.chain = new ChainReplica(db);
    this.coupons = new CouponLedger({ db, membership: this.membership, audit: this.audit, clock, rollups: this.rollups });
    this.campaigns = new CampaignRepository(db);
    this.imports = new MemberImportRepository(db);
    this.messages = new OutboundMessageRepository(db);
  }

  static open(opts: OpenMemberStoreOptions): MemberStore {
    // The key is checked before the database opens so a bad key leaves no handle behind.
    const cipher = new FaceCipher(opts.faceKey);
    const chainCipher = opts.chainFaceKey ? new FaceCipher(opts.chainFaceKey) : undefined;
    const calendar = new StoreCalendar(opts.timeZone ?? '');
    const membership: MembershipLedgerOptions = {
      ...opts.membership,
      payerKeySecret: opts.payerKeySecret ?? derivePayerKeySecret(opts.faceKey),
    };
    const db = openDatabase(opts.databaseFile, { busyTimeoutMs: opts.busyTimeoutMs, backupBeforeMigration: opts.backupBeforeMigration });
    try {
      return new MemberStore(db, cipher, opts.clock ?? Date.now, membership, opts.maxWritesPerCommit, calendar, chainCipher);
    } catch (err) {
      // Bad membership settings throw from the constructor; the handle must not leak.
      db.close();
      throw err;
    }
  }

  /**
   * Runs `fn` in one transaction (nested calls become savepoints). `fn` must be synchronous:
   * an await inside would let other work run while the transaction is open.
   */
  inTransaction<T>(fn: () => T): T {
    const result = this.#db.transaction(fn)();
    this.#purgeIfIdle();
    return result;
  }

  /**
   * Runs `fn` in the next group commit (see GroupCommit) and resolves once it is on disk.
   * For the busy money path — payments, refunds, recharges, deductions — where one fsync per
   * request would hold up everything else the service does.
   */
  writeInGroup<T>(fn: () => T): Promise<T> {
    return this.#group.run(fn);
  }

  /**
   * True when another process (the command line, a restore) committed to the database since
   * the last call; SQLite's data_version moves only for other connections' commits. The
   * service polls it to follow members and faces changed behind its back.
   */
  changedByOthers(): boolean {
    const version = this.#db.pragma('data_version', { simple: true }) as number;
    const changed = this.#dataVersion !== undefined && version !== this.#dataVersion;
    this.#dataVersion = version;
    return changed;
  }

  groupCommitStats(): GroupCommitStats {
    return this.#group.stats();
  }

  /** Creates a member, and with consent given, records it and enrolls their faces — all or nothing. */
  enrollMember(input: EnrollMemberInput): EnrolledMember {
    const faces = input.faces ?? [];
    if (faces.length > 0 && !input.faceConsent) {
      throw new LedgerError(
        'CONSENT_REQUIRED',
        'Faces were given without face consent; record the consent (method, lane, staff) or enroll without faces.',
      );
    }
    return this.inTransaction(() => {
      const member = this.members.create({ name: input.name, phone: input.phone });
      this.audit.record({ actor: input.actor, action: 'member.create', subject: member.id, details: input.source ? { source: input.source } : null });
      // The dashboard counts an imported member as imported, any other enrolled with a face as
      // come by face, and the rest as added at the desk (payments make theirs in the ledger).
      this.rollups.memberJoined(input.source === 'import' ? 'import' : faces.length > 0 ? 'face' : 'admin', member.createdAtMs);
      const consent = input.faceConsent ? this.grantFaceConsent(member.id, input.faceConsent, input.actor) : null;
      const records = faces.map((face) => this.enrollFace({ ...face, memberId: member.id }, input.actor));
      return { member, consent, faces: records };
    });
  }

  grantFaceConsent(memberId: string, consent: FaceConsentInput, actor: string): Consent {
    return this.inTransaction(() => {
      const granted = this.consents.grant({ memberId, kind: 'face', ...consent });
      this.audit.record({
        actor,
        action: 'consent.grant',
        subject: memberId,
        details: { consentId: granted.id, kind: granted.kind, method: granted.method, lane: granted.lane, staff: granted.staff },
      });
      return granted;
    });
  }

  /** Enrolls one face; throws CONSENT_REQUIRED unless the member has active face consent. */
  enrollFace(input: AddFaceInput, actor: string): FaceRecord {
    return this.inTransaction(() => {
      const face = this.faces.add(input);
      this.audit.record({
        actor,
        action: 'face.enroll',
        subject: face.id,
        details: { memberId: face.memberId, source: face.source, detectionScore: face.detectionScore },
      });
      if (this.consents.active(face.memberId, 'chain-face')) this.#shareFace(face.id, face.memberId, input.descriptor);
      return face;
    });
  }

  /** Withdraws face consent and deletes every face of the member at once. */
  withdrawFaceConsent(memberId: string, actor: string): ConsentWithdrawal {
    return this.#deleting(() => {
      // Consent to face recognition withdrawn here is withdrawn chain-wide too: every branch
      // drops the member's faces when the withdrawal reaches it.
      const chainWide = this.consents.withdraw(memberId, 'chain-face');
      const local = this.consents.withdraw(memberId, 'face');
      const withdrawal = {
        withdrawnConsentIds: [...chainWide.withdrawnConsentIds, ...local.withdrawnConsentIds],
        deletedFaceIds: [...new Set([...chainWide.deletedFaceIds, ...local.deletedFaceIds])],
      };
      this.audit.record({
        actor,
        action: 'consent.withdraw',
        subject: memberId,
        details: { kind: 'face', consentIds: withdrawal.withdrawnConsentIds, deletedFaceIds: withdrawal.deletedFaceIds },
      });
      return withdrawal;
    });
  }

  deleteFace(faceId: string, actor: string): boolean {
    return this.#deleting(() => {
      const face = this.faces.get(faceId);
      if (!face || !this.faces.delete(faceId)) return false;
      this.audit.record({ actor, action: 'face.delete', subject: faceId, details: { memberId: face.memberId } });
      return true;
    });
  }

  /** Deletes the member with their faces and consents (cascade); the audit log keeps only the id. */
  deleteMember(memberId: string, actor: string): MemberDeletion {
    return this.#deleting(() => {
      const deletedFaceIds = this.faces.listForMember(memberId).map((face) => face.id);
      if (!this.members.delete(memberId)) return { deleted: false, deletedFaceIds: [] };
      this.audit.record({ actor, action: 'member.delete', subject: memberId, details: { deletedFaceIds } });
      return { deleted: true, deletedFaceIds };
    });
  }

  /**
   * Applies a page of HQ's feed and moves the cursor, in one transaction; `perMember` runs in
   * it for each member whose entries or details changed (their tier and segment follow). An
   * erasure from another branch scrubs the bytes like one made here.
   */
  applyChainFeed(events: readonly ChainFeedEvent[], cursor: string, perMember: (memberId: string) => void): ChainApplyOutcome {
    const run = () => {
      const outcome = this.chain.apply(events, cursor, { face: (e, o) => this.#faceFromChain(e, o), consent: (e, o) => this.#consentFromChain(e, o) });
      for (const memberId of outcome.touched) perMember(memberId);
      return outcome;
    };
    return events.some((e) => e.kind === 'member-erase' || e.kind === 'consent') ? this.#deleting(run) : this.inTransaction(run);
  }

  /**
   * The member agrees to be recognized by face at every branch of the chain (separate from
   * this store's face consent, which it needs first): their faces go to the other branches
   * sealed with the chain face key, which HQ never holds. Returns how many faces were shared.
   */
  grantChainFaceConsent(memberId: string, consent: FaceConsentInput, actor: string): { consent: Consent; sharedFaces: number } {
    if (!this.#chainCipher) {
      throw new LedgerError('CHAIN_FACE_KEY_MISSING', 'This store has no chain face key (chain.faceKeyFile), so faces cannot be shared with the other branches; the owner installs the same key at every branch.');
    }
    if (!this.chain.link()) throw new LedgerError('CHAIN_NOT_JOINED', 'This store is not part of a chain; chain-wide face consent needs chain.hqUrl.');
    return this.inTransaction(() => {
      if (!this.consents.activeFaceConsent(memberId)) {
        throw new LedgerError('CONSENT_REQUIRED', "Record the member's face consent for this store first; chain-wide consent extends it to every branch.");
      }
      const existing = this.consents.active(memberId, 'chain-face');
      const granted = existing ?? this.consents.grant({ memberId, kind: 'chain-face', ...consent });
      if (existing) return { consent: existing, sharedFaces: 0 };
      this.audit.record({ actor, action: 'consent.grant', subject: memberId, details: { consentId: granted.id, kind: 'chain-face', method: granted.method, staff: granted.staff } });
      const faces = this.faces.listForMember(memberId);
      for (const face of faces) {
        const loaded = this.faces.load(face.id);
        if (!loaded) continue;
        this.#shareFace(face.id, memberId, loaded.descriptor);
        loaded.descriptor.fill(0);
      }
      return { consent: granted, sharedFaces: faces.length };
    });
  }

  #shareFace(faceId: string, memberId: string, descriptor: Float32Array): void {
    if (!this.#chainCipher) return;
    this.chain.enqueue('face', memberId, { faceId, sealed: this.#chainCipher.seal(memberId, descriptor).toString('base64') });
  }

  #faceFromChain(event: ChainFeedEvent, outcome: ChainApplyOutcome): void {
    // A branch without the chain face key cannot open it; the member is still found by payment or member QR.
    if (!this.#chainCipher) return;
    const { faceId, sealed } = event.body as { faceId: string; sealed: string };
    const descriptor = this.#chainCipher.open(faceId, event.memberId, Buffer.from(sealed, 'base64'));
    if (this.faces.addFromChain(faceId, event.memberId, descriptor)) outcome.facesAdded.push({ faceId, memberId: event.memberId, descriptor });
    else descriptor.fill(0);
  }

  #consentFromChain(event: ChainFeedEvent, outcome: ChainApplyOutcome): void {
    const b = event.body as { consentId: string; kind: string; method: string; grantedAtMs: number; withdrawnAtMs: number | null };
    if (b.kind === 'chain-face' && b.withdrawnAtMs === null) {
      this.consents.recordFromChain({ id: b.consentId, memberId: event.memberId, kind: 'chain-face', method: b.method, grantedAtMs: b.grantedAtMs, withdrawnAtMs: null });
      return;
    }
    // Withdrawn at another branch: chain-wide, the member's faces go here too.
    if (b.withdrawnAtMs !== null && (b.kind === 'chain-face' || b.kind === 'face') && this.consents.active(event.memberId, 'chain-face')) {
      const faces = this.faces.listForMember(event.memberId);
      this.consents.withdraw(event.memberId, 'chain-face');
      this.consents.withdraw(event.memberId, 'face');
      this.audit.record({ actor: 'chain', action: 'consent.withdraw', subject: event.memberId, details: { kind: 'chain-face', deletedFaceIds: faces.map((f) => f.id) } });
      for (const face of faces) outcome.facesRemoved.push({ faceId: face.id, memberId: event.memberId });
    }
  }

  /**
   * An online, consistent copy of the database (SQLite's backup API) while the service keeps
   * writing. Face embeddings stay encrypted in it; the key file is NOT inside — back it up
   * separately, or the faces in a restored copy cannot be read.
   */
  async backupTo(file: string): Promise<void> {
    await this.#db.backup(file);
  }

  close(): void {
    // Writes already queued were promised a commit; they get it before the handle goes.
    this.#group.drain();
    this.#db.close();
  }

  #deleting<T>(fn: () => T): T {
    this.#purgePending = true;
    return this.inTransaction(fn);
  }

  // secure_delete zeroes freed space in the pages SQLite writes, but in WAL mode the old page
  // images stay in the database file until a checkpoint copies the new ones over them, and
  // the WAL keeps its frames until it is restarted. A TRUNCATE checkpoint does both. It
  // cannot run inside a transaction, so it waits for the outermost one to commit.
  #purgeIfIdle(): void {
    if (!this.#purgePending || this.#db.inTransaction) return;
    this.#purgePending = false;
    this.#db.pragma('wal_checkpoint(TRUNCATE)');
  }
}
