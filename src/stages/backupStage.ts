import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Settings } from '../config/settingsSchema.js';
import type { Logger } from '../core/logger.js';
import { PeriodicTask } from '../core/periodicTask.js';
import { backupFileName, rotateBackups, type MemberStore } from '../ledger/index.js';

const MS_PER_HOUR = 3_600_000;

/**
 * Online backups of the member database with rotation, the first right away. A failed backup
 * is logged and the service goes on: the shop keeps selling while someone fixes the folder.
 */
export class BackupStage extends PeriodicTask {
  constructor(
    private readonly deps: { store: Pick<MemberStore, 'backupTo'>; backup: Settings['backup']; dataDir: string; log: Logger },
  ) {
    super({ name: 'backups', everyMs: deps.backup.intervalHours * MS_PER_HOUR, runAtStart: true, log: deps.log });
  }

  protected async runOnce(): Promise<void> {
    const dir = path.resolve(this.deps.dataDir, this.deps.backup.folder);
    try {
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      const file = path.join(dir, backupFileName(Date.now()));
      await this.deps.store.backupTo(file);
      const removed = rotateBackups(dir, this.deps.backup.keep);
      this.deps.log.info({ file, removed: removed.length }, 'database backed up');
    } catch (err) {
      this.deps.log.error({ err, dir }, 'database backup failed; the service goes on, fix the backup folder');
    }
  }
}
