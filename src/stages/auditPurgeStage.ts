import type { Logger } from '../core/logger.js';
import { PeriodicTask } from '../core/periodicTask.js';
import type { MemberStore } from '../ledger/index.js';

const HOURLY_MS = 3_600_000;

/**
 * Deletes processing-log entries past `security.auditRetentionDays`, at start and hourly. The
 * purge works in batches and stops at the next one when the service stops; the rest waits for
 * the next run, so a PC that was off for a month catches up without holding up the start.
 */
export class AuditPurgeStage extends PeriodicTask {
  constructor(private readonly deps: { store: Pick<MemberStore, 'audit'>; auditRetentionDays: number; log: Logger }) {
    super({ name: 'processing-log purge', everyMs: HOURLY_MS, runAtStart: true, log: deps.log });
  }

  protected async runOnce(signal: AbortSignal): Promise<void> {
    const { auditRetentionDays, log } = this.deps;
    const deleted = await this.deps.store.audit.deleteExpired(auditRetentionDays, { signal });
    if (deleted > 0) log.info({ auditEntriesDeleted: deleted, auditRetentionDays }, 'processing log entries past retention deleted');
  }
}
