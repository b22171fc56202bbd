import type { Logger } from './logger.js';

/**
 * A long-lived part of the service: a lane, a scheduled job, the till gateway, the HTTP
 * server. Its constructor only stores what it is given; work starts in `start()` and ends in
 * `stop()`, so a stage can be built, wired and tested without anything running.
 */
export interface Stage {
  /** For the log: which stage started, failed or stopped. */
  readonly name: string;
  start(): Promise<void> | void;
  stop(): Promise<void> | void;
}

/**
 * Starts stages in the order given (the flow order) and stops them in reverse. A stage that
 * fails to start stops the ones already started and the error goes to the caller; a stage that
 * fails to stop is logged with its name and the others still stop.
 */
export class StageList {
  private readonly started: Stage[] = [];
  private stopping: Promise<void> | undefined;

  constructor(
    private readonly stages: readonly Stage[],
    private readonly log: Logger,
  ) {}

  async start(): Promise<void> {
    for (const stage of this.stages) {
      try {
        await stage.start();
      } catch (err) {
        this.log.error({ err, stage: stage.name }, 'stage failed to start; stopping the ones already started');
        await this.stop();
        throw err;
      }
      this.started.push(stage);
      this.log.debug({ stage: stage.name }, 'stage started');
    }
  }

  /** Safe to call more than once: later calls wait for the first. */
  stop(): Promise<void> {
    this.stopping ??= this.stopStarted();
    return this.stopping;
  }

  private async stopStarted(): Promise<void> {
    for (const stage of this.started.reverse()) {
      try {
        await stage.stop();
        this.log.debug({ stage: stage.name }, 'stage stopped');
      } catch (err) {
        this.log.error({ err, stage: stage.name }, 'stage failed to stop');
      }
    }
    this.started.length = 0;
  }
}
