import type { Logger } from '../core/logger.js';
import { PeriodicTask } from '../core/periodicTask.js';

/** Often enough that a settled scan or an expired consent request is not kept noticeably longer than its window. */
const EVERY_MS = 1000;

/**
 * Every second: scans whose face window closed are settled, consent requests nobody answered
 * are dropped together with the face they hold (a non-member's embedding must not linger),
 * coupons held and member QRs noted on a lane past their window are dropped, and visits that
 * ended are forgotten.
 */
export class HousekeepingStage extends PeriodicTask {
  constructor(
    private readonly deps: {
      lanes: () => Iterable<{ resolveDueScans(nowMs: number): void }>;
      checkout: { expireConsentRequests(): number; expireHolds(): void };
      campaigns: { forgetEndedVisits(): number };
      log: Logger;
    },
  ) {
    super({ name: 'housekeeping', everyMs: EVERY_MS, runAtStart: false, log: deps.log });
  }

  protected runOnce(): void {
    const now = Date.now();
    for (const lane of this.deps.lanes()) lane.resolveDueScans(now);
    this.deps.checkout.expireConsentRequests();
    this.deps.checkout.expireHolds();
    this.deps.campaigns.forgetEndedVisits();
  }
}
