import type { Logger } from '../core/logger.js';
import { PeriodicTask } from '../core/periodicTask.js';
import type { MembershipService } from '../services/membershipService.js';

const HOURLY_MS = 3_600_000;

/**
 * Tier downgrades at period end and points expiry, at start and hourly. Both are idempotent,
 * so an hourly run catches up after the PC was off without ever doing anything twice.
 */
export class MembershipJobsStage extends PeriodicTask {
  constructor(private readonly deps: { membership: Pick<MembershipService, 'runPeriodJobs'>; log: Logger }) {
    super({ name: 'membership period jobs', everyMs: HOURLY_MS, runAtStart: true, log: deps.log });
  }

  protected runOnce(): void {
    const { pointsExpired, tierChanges } = this.deps.membership.runPeriodJobs();
    if (pointsExpired > 0 || tierChanges > 0) this.deps.log.info({ pointsExpired, tierChanges }, 'membership period jobs ran');
  }
}
