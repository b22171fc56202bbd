import type { Logger } from './logger.js';
import type { Stage } from './stage.js';

export interface PeriodicTaskOptions {
  name: string;
  everyMs: number;
  /** Runs once at start too: jobs that catch up after the PC was switched off. */
  runAtStart: boolean;
  log: Logger;
}

/**
 * A stage that runs one task now and then. Runs are chained, so a slow run (a large purge,
 * a backup of a big file) never overlaps the next; stop() waits for the run in progress,
 * whose signal is aborted so it can end at its next step. A failed run is logged with what
 * happens next and the schedule goes on.
 */
export abstract class PeriodicTask implements Stage {
  readonly name: string;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> = Promise.resolve();
  private readonly stopping = new AbortController();

  protected constructor(private readonly options: PeriodicTaskOptions) {
    this.name = options.name;
  }

  /** One run; idempotent, because a run may repeat work after a crash or an early stop. */
  protected abstract runOnce(signal: AbortSignal): Promise<void> | void;

  start(): void {
    if (this.options.runAtStart) this.trigger();
    this.timer = setInterval(() => this.trigger(), this.options.everyMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.stopping.abort();
    await this.running;
  }

  private trigger(): void {
    this.running = this.running.then(async () => {
      if (this.stopping.signal.aborted) return;
      try {
        await this.runOnce(this.stopping.signal);
      } catch (err) {
        this.options.log.error({ err, stage: this.name, nextRunInMs: this.options.everyMs }, `${this.name} failed; it runs again on schedule`);
      }
    });
  }
}
