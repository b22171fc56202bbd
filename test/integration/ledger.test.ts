import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { openDatabase, type SqliteDatabase } from '../../src/ledger/database.js';
import { LedgerError, MemberStore, type NewFaceInput } from '../../src/ledger/index.js';
import { migrations } from '../../src/ledger/migrations/migrations.js';
import { storeSettings } from '../support/settings.js';
import { tempDirPerTest } from '../support/tempDir.js';
import { thrownBy } from '../support/ledgerErrors.js';

const dir = tempDirPerTest('ledger');
let dbFile: string;
let key: Buffer;

beforeEach(() => {
  // A nested path proves openDatabase creates the parent directory.
  dbFile = join(dir.path, 'data', 'members.db');
  key = randomBytes(32);
});

function steppingClock(startMs = 1_700_000_000_000): () => number {
  let now = startMs;
  return () => now++;
}

function openStore(faceKey = key): MemberStore {
  return dir.track(MemberStore.open({ databaseFile: dbFile, faceKey, clock: steppingClock(), ...storeSettings() }));
}

function rawDb(): SqliteDatabase {
  return dir.track(openDatabase(dbFile));
}

function randomDescriptor(): Float32Array {
  const descriptor = new Float32Array(128);
  for (let i = 0; i < descriptor.length; i++) descriptor[i] = Math.random() * 2 - 1;
  return descriptor;
}

function descriptorBytes(descriptor: Float32Array): Buffer {
  const bytes = Buffer.alloc(descriptor.length * 4);
  descriptor.forEach((v, i) => bytes.writeFloatLE(v, i * 4));
  return bytes;
}

function face(descriptor = randomDescriptor()): NewFaceInput {
  return { descriptor, source: 'admin-upload', quality: { sharpness: 0.8, yawDeg: 4 }, detectionScore: 0.97 };
}

const consent = { method: 'written', lane: 'lane-1', staff: 'staff-7' } as const;

/** Every database file on disk: main file, WAL and shared-memory index. */
function databaseFiles(): Buffer[] {
  return [dbFile, `${dbFile}-wal`, `${dbFile}-shm`].filter(existsSync).map((f) => readFileSync(f));
}

/** True when any 16-byte window of `needle` occurs in any database file; catches partial remnants. */
function anyFragmentOnDisk(needle: Buffer): boolean {
  const files = databaseFiles();
  for (let offset = 0; offset + 16 <= needle.length; offset += 16) {
    const fragment = needle.subarray(offset, offset + 16);
    if (files.some((file) => file.includes(fragment))) return true;
  }
  return false;
}

function storedBlob(faceId: string): Buffer {
  const db = rawDb();
  const row = db.prepare<[string], { embedding: Buffer }>('SELECT embedding FROM faces WHERE id = ?').get(faceId);
  db.close();
  if (!row) throw new Error(`face ${faceId} not stored`);
  return row.embedding;
}

describe('opening the database', () => {
  it('applies migrations to a fresh file and sets the pragmas', () => {
    const db = rawDb();
    const tables = db
      .prepare<[], { name: string }>("SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name")
      .all()
      .map((r) => r.name);
    expect(tables).toEqual([
      'api_tokens',
      'audit_log',
      'campaign_firings',
      'campaign_rules',
      'chain_link',
      'chain_outbox',
      'consents',
      'coupon_batches',
      'coupon_events',
      'coupons',
      'deductions',
      'faces',
      'ledger_entries',
      'member_balances',
      'member_imports',
      'member_segments',
      'member_tags',
      'member_tiers',
      'members',
      'non_member_refunds',
      'non_member_sales',
      'outbound_campaigns',
      'outbound_messages',
      'payer_identities',
      'payments',
      'points_lots',
      'recharges',
      'redemptions',
      'referrals',
      'refunds',
      'rollup_days',
      'rollup_lane_days',
      'rollup_member_days',
      'rollup_member_months',
      'rollup_visit_hours',
      'rollup_week_windows',
      'sqlite_sequence',
      'visits',
    ]);
    expect(db.pragma('user_version', { simple: true })).toBe(migrations.at(-1)!.version);
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(db.pragma('synchronous', { simple: true })).toBe(2); // FULL
    expect(db.pragma('foreign_keys', { simple: true })).toBe(1);
    expect(db.pragma('secure_delete', { simple: true })).toBe(1);
  });

  it('is idempotent on reopen and keeps the data', () => {
    const first = openStore();
    const member = first.members.create({ name: 'Li Lei' });
    first.close();
    const second = openStore();
    expect(second.members.get(member.id)).toEqual(member);
    expect(second.members.count()).toBe(1);
    second.close();
    expect(rawDb().pragma('user_version', { simple: true })).toBe(migrations.at(-1)!.version);
  });

  it('refuses a database written by a newer schema', () => {
    const db = rawDb();
    db.pragma('user_version = 99');
    db.close();
    const err = thrownBy(() => openDatabase(dbFile));
    expect(err.code).toBe('DATABASE_TOO_NEW');
    expect(err.message).toContain('99');
    expect(err.message).toContain(dbFile);
  });

  it('rolls back a migration that fails half-way', () => {
    const broken = [
      { version: 1, name: 'one', sql: 'CREATE TABLE a (x INTEGER);' },
      { version: 2, name: 'two', sql: 'CREATE TABLE b (x INTEGER); CREATE TABLE a (x INTEGER);' },
    ];
    expect(() => openDatabase(dbFile, { migrations: broken })).toThrow(LedgerError);
    const db = dir.track(openDatabase(dbFile, { migrations: broken.slice(0, 1) }));
    expect(db.pragma('user_version', { simple: true })).toBe(1);
    expect(db.prepare("SELECT name FROM sqlite_schema WHERE name = 'b'").get()).toBeUndefined();
  });

  it('names the file and says what to do when it is not SQLite', () => {
    const garbage = join(dir.path, 'garbage.db');
    writeFileSync(garbage, Buffer.from('these are not the bytes of a database\n'.repeat(200)));
    const err = thrownBy(() => openDatabase(garbage));
    expect(err.code).toBe('DATABASE_UNREADABLE');
    expect(err.message).toContain(garbage);
    expect(err.message).toMatch(/not a readable SQLite database/);
    expect(err.message).toMatch(/backup/);
  });
});

describe('members', () => {
  it('creates, gets, lists, searches, counts and deletes', () => {
    const store = openStore();
    const li = store.members.create({ name: 'Li Lei', phone: '+86 138-0013-8000' });
    const han = store.members.create({ name: 'Han Meimei', phone: '13900139000' });
    const wang = store.members.create({ name: '王小明' });

    expect(li.id).toMatch(/^m_[0-9a-f]{16}$/);
    expect(li.phone).toBe('13800138000');
    expect(store.members.get(li.id)).toEqual(li);
    expect(store.members.get('m_missing')).toBeUndefined();
    expect(store.members.count()).toBe(3);

    expect(store.members.list({ limit: 10 }).map((m) => m.id)).toEqual([wang.id, han.id, li.id]);
    expect(store.members.list({ limit: 1, offset: 1 }).map((m) => m.id)).toEqual([han.id]);
    expect(store.members.list({ query: 'mei', limit: 10 }).map((m) => m.id)).toEqual([han.id]);
    expect(store.members.list({ query: '小明', limit: 10 }).map((m) => m.id)).toEqual([wang.id]);
    expect(store.members.list({ query: '1380', limit: 10 }).map((m) => m.id)).toEqual([li.id]);
    expect(store.members.list({ query: '13', limit: 10 })).toHaveLength(2);
    // LIKE wildcards in the query are literal text, not patterns.
    expect(store.members.list({ query: '%', limit: 10 })).toEqual([]);
    expect(store.members.list({ query: '_', limit: 10 })).toEqual([]);

    expect(store.members.delete(li.id)).toBe(true);
    expect(store.members.delete(li.id)).toBe(false);
    expect(store.members.get(li.id)).toBeUndefined();
    expect(store.members.count()).toBe(2);
  });

  it('rejects a duplicate or malformed phone without echoing it', () => {
    const store = openStore();
    store.members.create({ name: 'A', phone: '13800138000' });
    const taken = thrownBy(() => store.members.create({ name: 'B', phone: '138 0013 8000' }));
    expect(taken.code).toBe('PHONE_TAKEN');
    expect(taken.message).not.toContain('13800138000');
    expect(thrownBy(() => store.members.create({ name: 'C', phone: '12345' })).code).toBe('INVALID_INPUT');
    expect(thrownBy(() => store.members.create({ name: '  ' })).code).toBe('INVALID_INPUT');
    expect(store.members.count()).toBe(1);
  });
});

describe('faces and consent', () => {
  it('refuses to enroll a face without an active face consent', () => {
    const store = openStore();
    const member = store.members.create({ name: 'Li Lei' });
    const err = thrownBy(() => store.faces.add({ memberId: member.id, ...face() }));
    expect(err.code).toBe('CONSENT_REQUIRED');
    expect(err.message).toContain(member.id);
    expect(thrownBy(() => store.enrollFace({ memberId: member.id, ...face() }, 'admin')).code).toBe('CONSENT_REQUIRED');
    expect(store.faces.listForMember(member.id)).toEqual([]);

    store.grantFaceConsent(member.id, consent, 'admin');
    const added = store.enrollFace({ memberId: member.id, ...face() }, 'admin');
    expect(added.id).toMatch(/^f_[0-9a-f]{16}$/);
    expect(added).not.toHaveProperty('descriptor');
    expect(store.faces.listForMember(member.id)).toEqual([added]);
    expect(store.faces.get(added.id)).toEqual(added);
  });

  it('records who, how, where and when consent was given', () => {
    const store = openStore();
    const member = store.members.create({ name: 'Li Lei' });
    expect(store.consents.activeFaceConsent(member.id)).toBeUndefined();
    const granted = store.grantFaceConsent(member.id, consent, 'admin');
    expect(store.consents.activeFaceConsent(member.id)).toEqual(granted);
    expect(granted).toMatchObject({ kind: 'face', method: 'written', lane: 'lane-1', staff: 'staff-7', withdrawnAtMs: null });
    expect(thrownBy(() => store.consents.grant({ memberId: 'm_missing', kind: 'face', method: 'app' })).code).toBe(
      'MEMBER_NOT_FOUND',
    );
  });

  it('deletes all faces of the member when face consent is withdrawn', () => {
    const store = openStore();
    const { member, faces } = store.enrollMember({
      actor: 'admin',
      name: 'Li Lei',
      faceConsent: consent,
      faces: [face(), face()],
    });
    const other = store.enrollMember({ actor: 'admin', name: 'Han', faceConsent: consent, faces: [face()] });

    const withdrawal = store.withdrawFaceConsent(member.id, 'admin');
    expect(withdrawal.deletedFaceIds.sort()).toEqual(faces.map((f) => f.id).sort());
    expect(withdrawal.withdrawnConsentIds).toHaveLength(1);
    expect(store.faces.listForMember(member.id)).toEqual([]);
    expect(store.consents.activeFaceConsent(member.id)).toBeUndefined();
    expect(thrownBy(() => store.faces.add({ memberId: member.id, ...face() })).code).toBe('CONSENT_REQUIRED');
    // Another member's faces are untouched.
    expect([...store.faces.loadAll()].map((f) => f.faceId)).toEqual(other.faces.map((f) => f.id));
  });

  it('cascades faces and consents when a member is deleted', () => {
    const store = openStore();
    const { member, faces } = store.enrollMember({ actor: 'admin', name: 'Li', faceConsent: consent, faces: [face()] });
    const deletion = store.deleteMember(member.id, 'admin');
    expect(deletion).toEqual({ deleted: true, deletedFaceIds: [faces[0]!.id] });
    expect(store.deleteMember(member.id, 'admin')).toEqual({ deleted: false, deletedFaceIds: [] });
    expect(store.faces.get(faces[0]!.id)).toBeUndefined();
    expect(store.consents.activeFaceConsent(member.id)).toBeUndefined();
    store.close();
    const db = rawDb();
    expect(db.prepare('SELECT count(*) AS n FROM faces').get()).toEqual({ n: 0 });
    expect(db.prepare('SELECT count(*) AS n FROM consents').get()).toEqual({ n: 0 });
  });

  it('enrolls member, consent and faces all or nothing', () => {
    const store = openStore();
    const noConsent = thrownBy(() => store.enrollMember({ actor: 'admin', name: 'Li', faces: [face()] }));
    expect(noConsent.code).toBe('CONSENT_REQUIRED');
    const badFace = { ...face(), descriptor: new Float32Array(127) };
    const invalid = thrownBy(() =>
      store.enrollMember({ actor: 'admin', name: 'Li', phone: '13800138000', faceConsent: consent, faces: [face(), badFace] }),
    );
    expect(invalid.code).toBe('INVALID_INPUT');
    expect(store.members.count()).toBe(0);
    expect([...store.faces.loadAll()]).toEqual([]);
    expect(store.audit.list({ limit: 100 })).toEqual([]);
    // The rolled-back phone is free again.
    expect(store.members.create({ name: 'Li', phone: '13800138000' }).phone).toBe('13800138000');
  });

  it('loads every face decrypted for the gallery', () => {
    const store = openStore();
    const d1 = randomDescriptor();
    const d2 = randomDescriptor();
    const a = store.enrollMember({ actor: 'admin', name: 'A', faceConsent: consent, faces: [face(d1)] });
    const b = store.enrollMember({ actor: 'admin', name: 'B', faceConsent: consent, faces: [face(d2)] });
    store.close();

    const reopened = openStore();
    const gallery = [...reopened.faces.loadAll()];
    expect(gallery).toEqual([
      { faceId: a.faces[0]!.id, memberId: a.member.id, descriptor: d1 },
      { faceId: b.faces[0]!.id, memberId: b.member.id, descriptor: d2 },
    ]);
    // Writing while the gallery iterator is half consumed must not hit a busy connection.
    const iterator = reopened.faces.loadAll()[Symbol.iterator]();
    iterator.next();
    expect(reopened.members.create({ name: 'C' }).name).toBe('C');
  });
});

describe('face data at rest', () => {
  it('never stores the raw descriptor bytes', () => {
    const store = openStore();
    const descriptor = randomDescriptor();
    const { faces } = store.enrollMember({ actor: 'admin', name: 'Li', faceConsent: consent, faces: [face(descriptor)] });
    const blob = storedBlob(faces[0]!.id);
    const raw = descriptorBytes(descriptor);

    expect(blob[0]).toBe(1); // version byte
    expect(blob.length).toBe(1 + 12 + 16 + 512);
    expect(anyFragmentOnDisk(raw)).toBe(false);
    // The search itself works: the encrypted blob is on disk while the face exists.
    expect(anyFragmentOnDisk(blob)).toBe(true);
  });

  it('leaves no trace of a deleted member in the db, -wal or -shm files', () => {
    const store = openStore();
    const descriptor = randomDescriptor();
    const { member, faces } = store.enrollMember({ actor: 'admin', name: 'Li', faceConsent: consent, faces: [face(descriptor)] });
    const keep = store.enrollMember({ actor: 'admin', name: 'Han', faceConsent: consent, faces: [face()] });
    const blob = storedBlob(faces[0]!.id);
    expect(anyFragmentOnDisk(blob)).toBe(true);

    store.members.delete(member.id);
    const db = rawDb();
    db.pragma('wal_checkpoint(TRUNCATE)');
    db.close();

    expect(anyFragmentOnDisk(blob)).toBe(false);
    expect(anyFragmentOnDisk(descriptorBytes(descriptor))).toBe(false);
    expect([...store.faces.loadAll()].map((f) => f.faceId)).toEqual([keep.faces[0]!.id]);
  });

  it('purges deleted faces from disk by itself on store deletions', () => {
    const store = openStore();
    const a = store.enrollMember({ actor: 'admin', name: 'A', faceConsent: consent, faces: [face(), face()] });
    const b = store.enrollMember({ actor: 'admin', name: 'B', faceConsent: consent, faces: [face()] });
    const c = store.enrollMember({ actor: 'admin', name: 'C', faceConsent: consent, faces: [face()] });
    const blobs = [a.faces[0]!, a.faces[1]!, b.faces[0]!, c.faces[0]!].map((f) => storedBlob(f.id));

    expect(store.deleteFace(a.faces[0]!.id, 'admin')).toBe(true);
    expect(anyFragmentOnDisk(blobs[0]!)).toBe(false);
    expect(anyFragmentOnDisk(blobs[1]!)).toBe(true);

    store.withdrawFaceConsent(a.member.id, 'admin');
    expect(anyFragmentOnDisk(blobs[1]!)).toBe(false);

    store.deleteMember(b.member.id, 'admin');
    expect(anyFragmentOnDisk(blobs[2]!)).toBe(false);
    expect(anyFragmentOnDisk(blobs[3]!)).toBe(true);
  });

  it('fails with the face id when a blob was tampered with or moved to another member', () => {
    const store = openStore();
    const a = store.enrollMember({ actor: 'admin', name: 'A', faceConsent: consent, faces: [face()] });
    const b = store.enrollMember({ actor: 'admin', name: 'B', faceConsent: consent, faces: [face()] });
    const faceA = a.faces[0]!.id;
    const faceB = b.faces[0]!.id;

    const db = rawDb();
    const blob = storedBlob(faceA);
    blob[blob.length - 1]! ^= 0x01;
    db.prepare('UPDATE faces SET embedding = ? WHERE id = ?').run(blob, faceA);
    const tampered = thrownBy(() => [...store.faces.loadAll()]);
    expect(tampered.code).toBe('FACE_DECRYPT_FAILED');
    expect(tampered.message).toContain(faceA);

    db.prepare('DELETE FROM faces WHERE id = ?').run(faceA);
    db.prepare('UPDATE faces SET member_id = ? WHERE id = ?').run(a.member.id, faceB);
    const moved = thrownBy(() => [...store.faces.loadAll()]);
    expect(moved.code).toBe('FACE_DECRYPT_FAILED');
    expect(moved.message).toContain(faceB);
  });

  it('fails with the face id when opened with the wrong key', () => {
    const store = openStore();
    const { faces } = store.enrollMember({ actor: 'admin', name: 'A', faceConsent: consent, faces: [face()] });
    store.close();
    const wrong = openStore(randomBytes(32));
    const err = thrownBy(() => [...wrong.faces.loadAll()]);
    expect(err.code).toBe('FACE_DECRYPT_FAILED');
    expect(err.message).toContain(faces[0]!.id);
    expect(err.message).toMatch(/key/);
  });

  it('refuses a key of the wrong length before opening the database', () => {
    expect(thrownBy(() => openStore(randomBytes(16))).code).toBe('FACE_KEY_INVALID');
    expect(existsSync(dbFile)).toBe(false);
  });
});

describe('processing log', () => {
  it('records enrollments and deletions by id only', () => {
    const store = openStore();
    const descriptor = randomDescriptor();
    const { member, faces } = store.enrollMember({
      actor: 'admin',
      name: 'Li Lei',
      phone: '13800138000',
      faceConsent: consent,
      faces: [face(descriptor)],
    });
    store.deleteMember(member.id, 'admin');

    const entries = store.audit.list({ limit: 100 });
    expect(entries.map((e) => [e.action, e.subject])).toEqual([
      ['member.create', member.id],
      ['consent.grant', member.id],
      ['face.enroll', faces[0]!.id],
      ['member.delete', member.id],
    ]);
    const text = JSON.stringify(entries);
    expect(text).not.toContain('13800138000');
    expect(text).not.toContain('Li Lei');
    expect(text).not.toContain(String(descriptor[0]));
    expect(store.audit.list({ sinceMs: entries[3]!.atMs, limit: 100 })).toEqual([entries[3]]);
    expect(store.audit.list({ limit: 2 })).toEqual(entries.slice(0, 2));
  });

  it('rejects biometric data, phone numbers and payer ids', () => {
    const store = openStore();
    const record = (details: Record<string, unknown>) =>
      thrownBy(() => store.audit.record({ actor: 'lane:1', action: 'match', subject: 'm_x', details }));
    expect(record({ distances: Array.from(randomDescriptor()) }).code).toBe('AUDIT_DETAILS_REJECTED');
    expect(record({ descriptor: [0.1] }).code).toBe('AUDIT_DETAILS_REJECTED');
    expect(record({ payerId: 'p1' }).code).toBe('AUDIT_DETAILS_REJECTED');
    expect(record({ note: 'called 13800138000' }).code).toBe('AUDIT_DETAILS_REJECTED');
    expect(store.audit.list({ limit: 10 })).toEqual([]);

    const ok = store.audit.record({ actor: 'lane:1', action: 'match', subject: 'm_x', details: { confidence: 0.91 } });
    expect(store.audit.list({ limit: 10 })).toEqual([ok]);
  });

  it('cannot be rewritten', () => {
    const store = openStore();
    store.audit.record({ actor: 'admin', action: 'export' });
    const db = rawDb();
    expect(() => db.prepare("UPDATE audit_log SET actor = 'x'").run()).toThrow(/append-only/);
    expect(() => db.prepare('DELETE FROM audit_log').run()).toThrow(/append-only/);
  });
});

describe('API tokens', () => {
  it('stores only a hash, verifies the secret, and refuses revoked or unknown tokens', () => {
    const store = dir.track(MemberStore.open({ databaseFile: dbFile, faceKey: randomBytes(32), ...storeSettings() }));
    const issued = store.tokens.issue('till', 'lane 1 screen');
    expect(issued.token).toMatch(/^ml_till_[A-Za-z0-9_-]{43}$/);
    expect(store.tokens.verify(issued.token)).toMatchObject({ id: issued.id, role: 'till' });
    expect(store.tokens.verify(issued.token + 'x')).toBeUndefined();
    expect(store.tokens.verify('')).toBeUndefined();
    store.inTransaction(() => undefined); // flush nothing; make sure the WAL holds the row
    for (const suffix of ['', '-wal']) {
      if (!existsSync(dbFile + suffix)) continue;
      expect(readFileSync(dbFile + suffix).includes(Buffer.from(issued.token))).toBe(false);
    }
    expect(store.tokens.revoke(issued.id)).toBe(true);
    expect(store.tokens.verify(issued.token)).toBeUndefined();
    expect(store.tokens.activeCount()).toBe(0);
  });
});
