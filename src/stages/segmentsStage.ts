import type { Logger } from '../core/logger.js';
import { PeriodicTask } from '../core/periodicTask.js';
import type { SegmentService } from '../services/segmentService.js';

const HOUR_MS = 3_600_000;

/**
 * Every member's lifecycle and RFM segment, recomputed at start and every
 * segments.recomputeEveryHours: a member turns dormant or lost as days pass, with no ledger
 * write to recompute them. Batches yield to other requests; stop() ends the pass between two.
 */
export class SegmentsStage extends PeriodicTask {
  constructor(private readonly deps: { segments: Pick<SegmentService, 'recomputeAll'>; everyHours: number; log: Logger }) {
    super({ name: 'segments recompute', everyMs: deps.everyHours * HOUR_MS, runAtStart: true, log: deps.log });
  }

  protected async runOnce(signal: AbortSignal): Promise<void> {
    const startedAt = Date.now();
    const { members, medians } = await this.deps.segments.recomputeAll(signal);
    this.deps.log.info({ members, medians, ms: Date.now() - startedAt }, 'segments recomputed');
  }
}
