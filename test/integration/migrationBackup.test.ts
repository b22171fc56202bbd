import { execFile } from 'node:child_process';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { listBackups, restoreBackup, verifyBackup } from '../../src/ledger/backups.js';
import { openDatabase, type MigrationBackup } from '../../src/ledger/database.js';
import { migrations } from '../../src/ledger/migrations/migrations.js';
import { thrownBy } from '../support/ledgerErrors.js';
import { tempDirPerTest } from '../support/tempDir.js';
import { MEMBERLENS_CLI } from '../support/cli.js';

const run = promisify(execFile);
const LATEST = migrations.at(-1)!.version;
const OLD = 2;
const dir = tempDirPerTest('migration-backup');

/** A database as an older release left it: only its schema steps, and one member. */
function createOldDatabase(file: string): void {
  const db = openDatabase(file, { migrations: migrations.slice(0, OLD) });
  db.prepare("INSERT INTO members (id, name, phone, created_at_ms, updated_at_ms) VALUES ('m_0000000000000001', 'Li Lei', NULL, 1, 1)").run();
  db.close();
}

function userVersion(file: string): number {
  const db = new Database(file, { readonly: true });
  try {
    return db.pragma('user_version', { simple: true }) as number;
  } finally {
    db.close();
  }
}

describe('backup before a schema upgrade', () => {
  it('copies a database with data into the backup folder before migrating it, and restore undoes the upgrade', () => {
    const dbFile = join(dir.path, 'memberlens.db');
    const folder = join(dir.path, 'backups');
    createOldDatabase(dbFile);

    const reported: MigrationBackup[] = [];
    dir.track(openDatabase(dbFile, { backupBeforeMigration: { folder, onBackup: (b) => reported.push(b) } })).close();

    expect(userVersion(dbFile)).toBe(LATEST);
    const backups = listBackups(folder);
    expect(backups).toHaveLength(1);
    const [file] = backups as [string];
    expect(file).toMatch(/memberlens-\d{8}T\d{6}Z-before-upgrade-from-v2\.db$/);
    expect(reported).toEqual([{ file, fromVersion: OLD, toVersion: LATEST }]);
    // The old schema and its data, intact.
    expect(verifyBackup(file)).toEqual({ schemaVersion: OLD, members: 1 });

    restoreBackup(file, dbFile, Date.now());
    expect(userVersion(dbFile)).toBe(OLD);
  });

  it('makes no backup of a new, empty database', () => {
    const folder = join(dir.path, 'backups');
    let called = false;
    dir.track(openDatabase(join(dir.path, 'new.db'), { backupBeforeMigration: { folder, onBackup: () => (called = true) } })).close();
    expect(called).toBe(false);
    expect(existsSync(folder)).toBe(false);
  });

  it('makes no backup when the schema is already current', () => {
    const dbFile = join(dir.path, 'memberlens.db');
    const folder = join(dir.path, 'backups');
    dir.track(openDatabase(dbFile)).close();
    dir.track(openDatabase(dbFile, { backupBeforeMigration: { folder } })).close();
    expect(listBackups(folder)).toEqual([]);
  });

  it('leaves the database at its old version when the backup cannot be written', () => {
    const dbFile = join(dir.path, 'memberlens.db');
    createOldDatabase(dbFile);
    const notAFolder = join(dir.path, 'backups');
    writeFileSync(notAFolder, 'a file where the backup folder should be');

    const err = thrownBy(() => openDatabase(dbFile, { backupBeforeMigration: { folder: notAFolder } }));
    expect(err.code).toBe('MIGRATION_BACKUP_FAILED');
    expect(err.message).toContain(notAFolder);
    expect(err.message).toMatch(/not changed/);
    expect(userVersion(dbFile)).toBe(OLD);
  });

  it('is made when the command line opens an old database, in the backup folder of the settings', async () => {
    const dataDir = join(dir.path, 'data');
    createOldDatabase(join(dataDir, 'memberlens.db'));

    const { stdout, stderr } = await run(process.execPath, [MEMBERLENS_CLI, '--data-dir', dataDir, 'members', 'list'], {
      env: { ...process.env, MEMBERLENS_LOG_LEVEL: 'info', MEMBERLENS_BACKUP__FOLDER: 'saved' },
    });

    expect(JSON.parse(stdout.trim())).toMatchObject({ id: 'm_0000000000000001', name: 'Li Lei' });
    const written = readdirSync(join(dataDir, 'saved'));
    expect(written).toHaveLength(1);
    expect(written[0]).toMatch(/before-upgrade-from-v2\.db$/);
    expect(stderr).toContain(written[0]);
    expect(stderr).toContain('memberlens restore');
    expect(verifyBackup(join(dataDir, 'saved', written[0]!)).schemaVersion).toBe(OLD);
  });
});
