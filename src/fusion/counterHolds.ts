/**
 * What a lane remembers between a sighting and the payment, in memory only: the coupon the
 * cashier applied with one tap for the member at the counter, and the member QR scanned last
 * (a first-time payer who pays right after showed a friend's QR: 老带新). Both last one
 * payment window and are used at most once.
 */
export class CounterHolds {
  readonly #coupons = new Map<string, { couponId: string; memberId: string; atMs: number }>();
  readonly #memberQrs = new Map<string, { memberId: string; atMs: number }>();

  constructor(private readonly windowMs: number) {}

  holdCoupon(lane: string, couponId: string, memberId: string, nowMs: number): void {
    this.#coupons.set(lane, { couponId, memberId, atMs: nowMs });
  }

  /** The coupon held on the lane for this member, if still fresh; it stays until `release`. */
  heldCoupon(lane: string, memberId: string | undefined, nowMs: number): string | undefined {
    const held = this.#coupons.get(lane);
    if (!held || nowMs - held.atMs > this.windowMs) return undefined;
    return held.memberId === memberId ? held.couponId : undefined;
  }

  releaseCoupon(lane: string, couponId: string): void {
    if (this.#coupons.get(lane)?.couponId === couponId) this.#coupons.delete(lane);
  }

  noteMemberQr(lane: string, memberId: string, atMs: number): void {
    this.#memberQrs.set(lane, { memberId, atMs });
  }

  /** The member whose QR was scanned on the lane within the window; forgotten once asked. */
  takeReferrer(lane: string, nowMs: number): string | undefined {
    const scan = this.#memberQrs.get(lane);
    this.#memberQrs.delete(lane);
    return scan && nowMs - scan.atMs <= this.windowMs ? scan.memberId : undefined;
  }

  /** Drops what went stale; called by the housekeeping timer. */
  expire(nowMs: number): void {
    for (const [lane, held] of this.#coupons) if (nowMs - held.atMs > this.windowMs) this.#coupons.delete(lane);
    for (const [lane, scan] of this.#memberQrs) if (nowMs - scan.atMs > this.windowMs) this.#memberQrs.delete(lane);
  }
}
