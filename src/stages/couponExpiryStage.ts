import type { Logger } from '../core/logger.js';
import { PeriodicTask } from '../core/periodicTask.js';
import type { CouponService } from '../services/couponService.js';

/**
 * Records coupons past their validity as expired in the coupon ledger, at start and every
 * campaigns.expireEveryMinutes. A coupon past its date is refused at once either way; the
 * event makes expiries countable (issued, redeemed, expired) and is written once.
 */
export class CouponExpiryStage extends PeriodicTask {
  constructor(private readonly deps: { coupons: Pick<CouponService, 'expireDue'>; everyMinutes: number; log: Logger }) {
    super({ name: 'coupon expiry', everyMs: deps.everyMinutes * 60_000, runAtStart: true, log: deps.log });
  }

  protected runOnce(): void {
    const expired = this.deps.coupons.expireDue();
    if (expired > 0) this.deps.log.info({ expired }, 'coupons expired');
  }
}
