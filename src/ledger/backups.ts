import { chmodSync, copyFileSync, existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { LedgerError } from './ledgerErrors.js';
import { migrations } from './migrations/migrations.js';

const BACKUP_PREFIX = 'memberlens-';
const BACKUP_SUFFIX = '.db';

/** `memberlens-20261123T151500Z.db`: sortable by name, so rotation keeps the newest. */
export function backupFileName(atMs: number): string {
  return `${BACKUP_PREFIX}${new Date(atMs).toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z')}${BACKUP_SUFFIX}`;
}

/**
 * A consistent copy of an open database, written synchronously (VACUUM INTO) so that opening
 * the database can make it before the first schema step. The name says which schema it holds
 * and keeps it apart from the scheduled backup the service writes in the same second; it is
 * rotated with the others.
 */
export function writeMigrationBackup(db: Database.Database, folder: string, fromVersion: number, atMs: number): string {
  mkdirSync(folder, { recursive: true, mode: 0o700 });
  const stamp = backupFileName(atMs).slice(0, -BACKUP_SUFFIX.length);
  let file = path.join(folder, `${stamp}-before-upgrade-from-v${fromVersion}${BACKUP_SUFFIX}`);
  // VACUUM INTO refuses an existing file; another process may have upgraded in the same second.
  for (let n = 2; existsSync(file); n++) file = path.join(folder, `${stamp}-before-upgrade-from-v${fromVersion}-${n}${BACKUP_SUFFIX}`);
  db.prepare('VACUUM INTO ?').run(file);
  chmodSync(file, 0o600);
  verifyBackup(file);
  return file;
}

/** Backups in a folder, oldest first. */
export function listBackups(folder: string): string[] {
  if (!existsSync(folder)) return [];
  return readdirSync(folder)
    .filter((f) => f.startsWith(BACKUP_PREFIX) && f.endsWith(BACKUP_SUFFIX))
    .sort()
    .map((f) => path.join(folder, f));
}

/** Deletes all but the newest `keep` backups; returns what it deleted. */
export function rotateBackups(folder: string, keep: number): string[] {
  const all = listBackups(folder);
  const old = all.slice(0, Math.max(0, all.length - keep));
  for (const file of old) rmSync(file, { force: true });
  return old;
}

/**
 * Checks that a file is a member database this version can open: SQLite, intact, and not
 * from a newer schema. Opened read-only so a bad file is never modified.
 */
export function verifyBackup(file: string): { schemaVersion: number; members: number } {
  if (!existsSync(file) || !statSync(file).isFile()) {
    throw new LedgerError('BACKUP_INVALID', `No backup file at ${file}.`);
  }
  let db: Database.Database | undefined;
  try {
    db = new Database(file, { readonly: true, fileMustExist: true });
    const check = db.pragma('integrity_check', { simple: true });
    if (check !== 'ok') throw new Error(`integrity check says: ${String(check)}`);
    const schemaVersion = db.pragma('user_version', { simple: true }) as number;
    const known = migrations.at(-1)!.version;
    if (schemaVersion < 1 || schemaVersion > known) {
      throw new Error(`schema version ${schemaVersion}; this memberlens knows 1–${known}`);
    }
    const members = (db.prepare('SELECT count(*) AS n FROM members').get() as { n: number }).n;
    return { schemaVersion, members };
  } catch (err) {
    if (err instanceof LedgerError) throw err;
    throw new LedgerError('BACKUP_INVALID', `${file} is not a usable memberlens backup (${(err as Error).message}).`, { cause: err });
  } finally {
    db?.close();
  }
}

/**
 * Puts a verified backup in place of the database. The service must be stopped: the current
 * file (with its WAL) is moved aside, not deleted, so a wrong restore can be undone.
 */
export function restoreBackup(backupFile: string, databaseFile: string, nowMs: number): { movedAside: string | undefined; members: number } {
  const { members } = verifyBackup(backupFile);
  mkdirSync(path.dirname(databaseFile), { recursive: true, mode: 0o700 });
  let movedAside: string | undefined;
  if (existsSync(databaseFile)) {
    movedAside = `${databaseFile}.before-restore-${backupFileName(nowMs).slice(BACKUP_PREFIX.length, -BACKUP_SUFFIX.length)}`;
    renameSync(databaseFile, movedAside);
    for (const suffix of ['-wal', '-shm']) {
      if (existsSync(databaseFile + suffix)) renameSync(databaseFile + suffix, movedAside + suffix);
    }
  }
  copyFileSync(backupFile, databaseFile);
  return { movedAside, members };
}
