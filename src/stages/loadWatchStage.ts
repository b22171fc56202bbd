import type { LoadShedding } from '../admin/loadShedding.js';
import { isShedding } from '../admin/loadShedding.js';
import { EventLoopLag } from '../core/eventLoopLag.js';
import type { Logger } from '../core/logger.js';
import type { ServiceMetrics } from '../core/serviceMetrics.js';
import type { Stage } from '../core/stage.js';

/**
 * Measures how far the main thread runs behind, for load shedding, /metrics and the log; says
 * once when shedding starts and once when it ends, never per refused request.
 */
export class LoadWatchStage implements Stage {
  readonly name = 'load watch';
  private readonly loopLag = new EventLoopLag();
  private wasShedding = false;
  /** What the HTTP routes consult before reading a sheddable request's body. */
  readonly loadShedding: LoadShedding;

  constructor(private readonly deps: { shedLoadAboveLagMs: number; metrics: ServiceMetrics; log: Logger }) {
    this.loadShedding = {
      lagMs: () => this.loopLag.lagMs,
      maxLagMs: deps.shedLoadAboveLagMs,
      onShed: (what) => deps.metrics.requestsShed.inc({ what }),
    };
  }

  start(): void {
    this.loopLag.start((lagMs) => this.onLag(lagMs));
  }

  stop(): void {
    this.loopLag.stop();
  }

  private onLag(lagMs: number): void {
    const { metrics, log } = this.deps;
    metrics.eventLoopLag.set(lagMs / 1000);
    const shedding = isShedding(this.loadShedding);
    if (shedding && !this.wasShedding) {
      log.warn({ lagMs: Math.round(lagMs), limitMs: this.loadShedding.maxLagMs }, 'main thread behind: refusing frames, uploads and ledger writes with 503 until it catches up');
    } else if (!shedding && this.wasShedding) {
      log.info({ lagMs: Math.round(lagMs) }, 'main thread caught up: taking every request again');
    }
    this.wasShedding = shedding;
  }
}
