import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { writeMigrationBackup } from './backups.js';
import { LedgerError } from './ledgerErrors.js';
import type { Migration } from './migrations/migration.js';
import { migrations as knownMigrations } from './migrations/migrations.js';

export type SqliteDatabase = Database.Database;

export interface OpenDatabaseOptions {
  /** How long a write waits for another connection's lock before failing. */
  busyTimeoutMs?: number;
  /** Replaces the shipped schema steps; only tests need this. */
  migrations?: readonly Migration[];
  /** Back up a database that holds data before upgrading its schema, so `memberlens restore` can undo the upgrade. */
  backupBeforeMigration?: MigrationBackupOptions;
}

export interface MigrationBackupOptions {
  /** The backup folder (setting backup.folder, resolved). */
  folder: string;
  /** Told which file was written. */
  onBackup?: (backup: MigrationBackup) => void;
  clock?: () => number;
}

export interface MigrationBackup {
  file: string;
  /** Schema version the backup holds. */
  fromVersion: number;
  /** Schema version the database was brought to. */
  toVersion: number;
}

const DEFAULT_BUSY_TIMEOUT_MS = 5_000;

/**
 * Opens (creating if needed) the member database and brings its schema up to date.
 * The caller owns the handle and must `close()` it.
 */
export function openDatabase(file: string, opts: OpenDatabaseOptions = {}): SqliteDatabase {
  const path = resolve(file);
  const migrations = opts.migrations ?? knownMigrations;
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });

  let db: SqliteDatabase;
  try {
    db = new Database(path);
  } catch (err) {
    throw new LedgerError('DATABASE_UNREADABLE', `Cannot open member database ${path}: ${String(err)}`, {
      cause: err,
    });
  }

  try {
    configure(db, opts.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS);
    migrate(db, path, migrations, opts.backupBeforeMigration);
    return db;
  } catch (err) {
    db.close();
    if (err instanceof LedgerError) throw err;
    if (isSqliteCode(err, 'SQLITE_NOTADB') || isSqliteCode(err, 'SQLITE_CORRUPT')) {
      throw new LedgerError(
        'DATABASE_UNREADABLE',
        `${path} is not a readable SQLite database (${(err as Error).message}). ` +
          'Point the service at the right file, or move this file aside and restore the ' +
          'member database from a backup; starting with a missing file creates an empty one.',
        { cause: err },
      );
    }
    throw new LedgerError('DATABASE_UNREADABLE', `Cannot open member database ${path}: ${String(err)}`, {
      cause: err,
    });
  }
}

function configure(db: SqliteDatabase, busyTimeoutMs: number): void {
  db.pragma(`busy_timeout = ${Math.max(0, Math.trunc(busyTimeoutMs))}`);
  // The first statement that reads the header; a file that is not SQLite fails here.
  db.pragma('journal_mode = WAL');
  // In WAL mode NORMAL skips the fsync at commit, so a power cut can silently undo the last
  // few committed transactions. Those may be an enrollment or a consent withdrawal the staff
  // were already told succeeded; FULL fsyncs the WAL on every commit, which costs little at
  // the rate a till writes.
  db.pragma('synchronous = FULL');
  db.pragma('foreign_keys = ON');
  // Deleted face rows must not survive as bytes in free pages or reused cells.
  db.pragma('secure_delete = ON');
}

function migrate(db: SqliteDatabase, path: string, migrations: readonly Migration[], backup: MigrationBackupOptions | undefined): void {
  const latest = migrations.reduce((max, m) => Math.max(max, m.version), 0);
  const current = db.pragma('user_version', { simple: true }) as number;
  if (current > latest) {
    throw new LedgerError(
      'DATABASE_TOO_NEW',
      `Member database ${path} has schema version ${current}, but this memberlens only knows ` +
        `versions up to ${latest}. Run the memberlens release that wrote it (or newer); ` +
        'opening it with this one could corrupt member data.',
    );
  }
  const pending = [...migrations].filter((m) => m.version > current).sort((a, b) => a.version - b.version);
  // Version 0 is a new, empty file: nothing to lose.
  const file = backup && pending.length > 0 && current > 0 ? backUpBeforeMigration(db, path, current, latest, backup) : undefined;
  for (const migration of pending) {
    // The schema change and the version bump commit together, so a crash mid-way leaves the
    // previous version intact and the step is simply retried on the next start.
    db.transaction(() => {
      db.exec(migration.sql);
      db.pragma(`user_version = ${migration.version}`);
    })();
  }
  if (file) backup?.onBackup?.({ file, fromVersion: current, toVersion: latest });
}

function backUpBeforeMigration(db: SqliteDatabase, path: string, fromVersion: number, toVersion: number, opts: MigrationBackupOptions): string {
  try {
    return writeMigrationBackup(db, opts.folder, fromVersion, (opts.clock ?? Date.now)());
  } catch (err) {
    throw new LedgerError(
      'MIGRATION_BACKUP_FAILED',
      `Could not back up ${path} into ${opts.folder} before upgrading its schema from version ${fromVersion} ` +
        `to ${toVersion} (${(err as Error).message}); the database was not changed. Free disk space or fix ` +
        'the backup folder (setting backup.folder), then start again.',
      { cause: err },
    );
  }
}

function isSqliteCode(err: unknown, code: string): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === code;
}
