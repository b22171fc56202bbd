import type { ChainSync } from '../chain/chainSync.js';
import { HqUnreachableError } from '../chain/hqClient.js';
import type { Logger } from '../core/logger.js';
import { PeriodicTask } from '../core/periodicTask.js';

/**
 * A chain store's sync with HQ every `chain.syncEveryMs`: its own changes out, the other
 * branches' in. Offline, the store goes on selling and the backlog waits in the outbox.
 */
export class ChainSyncStage extends PeriodicTask {
  private offlineSince: number | undefined;

  constructor(private readonly deps: { sync: ChainSync; everyMs: number; log: Logger }) {
    super({ name: 'chain sync', everyMs: deps.everyMs, runAtStart: true, log: deps.log });
  }

  override start(): void {
    // Before the first payment: every change from now on goes into the outbox.
    this.deps.sync.join();
    super.start();
  }

  protected async runOnce(): Promise<void> {
    try {
      const figures = await this.deps.sync.syncOnce();
      if (this.offlineSince !== undefined) this.deps.log.info({ offlineMs: Date.now() - this.offlineSince, ...figures }, 'chain HQ reachable again; synced');
      this.offlineSince = undefined;
      if (figures.sent + figures.received > 0) this.deps.log.debug(figures, 'chain sync');
    } catch (err) {
      if (!(err instanceof HqUnreachableError)) throw err;
      if (this.offlineSince === undefined) {
        this.offlineSince = Date.now();
        this.deps.log.warn('chain HQ unreachable; the store keeps selling and sends its changes when HQ answers again');
      }
    }
  }
}
