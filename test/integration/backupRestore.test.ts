import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { backupFileName, listBackups, loadFaceKey, MemberStore, rotateBackups } from '../../src/ledger/index.js';
import { storeSettings } from '../support/settings.js';
import { MEMBERLENS_CLI } from '../support/cli.js';

const run = promisify(execFile);

async function cli(dataDir: string, ...args: string[]) {
  try {
    const { stdout } = await run(process.execPath, [MEMBERLENS_CLI, '--data-dir', dataDir, ...args], {
      env: { ...process.env, MEMBERLENS_LOG_LEVEL: 'warn' },
    });
    return { code: 0, out: stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l)), stderr: '' };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, out: [], stderr: e.stderr };
  }
}

describe('backups and restore', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'memberlens-backup-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const open = () => MemberStore.open({ databaseFile: path.join(dir, 'memberlens.db'), faceKey: loadFaceKey({ keyFile: path.join(dir, 'face.key') }), ...storeSettings() });

  it('restores a backup, keeping the replaced file aside', async () => {
    const store = open();
    store.enrollMember({ actor: 'test', name: 'Kept' });
    const doomed = store.enrollMember({ actor: 'test', name: 'Deleted later' }).member;
    store.close();

    const made = await cli(dir, 'backup');
    expect(made.code).toBe(0);
    expect(made.out[0]).toMatchObject({ members: 2 });

    const after = open();
    after.deleteMember(doomed.id, 'test');
    expect(after.members.count()).toBe(1);
    after.close();

    const refused = await cli(dir, 'restore', made.out[0].backup);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/--yes/);

    const restored = await cli(dir, 'restore', made.out[0].backup, '--yes');
    expect(restored.code).toBe(0);
    expect(restored.out[0].movedAside).toMatch(/memberlens\.db\.before-restore-/);
    const back = open();
    expect(back.members.list({ limit: 10 }).map((m) => m.name).sort()).toEqual(['Deleted later', 'Kept']);
    back.close();
    expect(readdirSync(dir).some((f) => f.startsWith('memberlens.db.before-restore-'))).toBe(true);
  });

  it('refuses to restore a file that is not a memberlens database', async () => {
    const bogus = path.join(dir, 'bogus.db');
    writeFileSync(bogus, 'SQLite format 3\0 but not really');
    const result = await cli(dir, 'restore', bogus, '--yes');
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/not a usable memberlens backup/);
  });

  it('keeps only the newest backups', () => {
    const folder = path.join(dir, 'backups');
    for (let i = 0; i < 5; i++) {
      const file = path.join(folder, backupFileName(Date.UTC(2026, 10, 20 + i)));
      rmSync(file, { force: true });
      mkdirSync(folder, { recursive: true });
      writeFileSync(file, 'x');
    }
    expect(rotateBackups(folder, 3)).toHaveLength(2);
    expect(listBackups(folder).map((f) => path.basename(f))).toEqual([
      backupFileName(Date.UTC(2026, 10, 22)),
      backupFileName(Date.UTC(2026, 10, 23)),
      backupFileName(Date.UTC(2026, 10, 24)),
    ]);
  });
});
