/**
 * Exponential backoff for reconnecting a camera: a camera that was unplugged for a minute
 * should not be hammered, yet one that blinked should be back within a second.
 */
export class RetryBackoff {
  private attempt = 0;

  constructor(
    private readonly initialMs: number,
    private readonly maxMs: number,
  ) {}

  nextDelayMs(): number {
    const delayMs = Math.min(this.maxMs, this.initialMs * 2 ** Math.min(this.attempt, 30));
    this.attempt += 1;
    return delayMs;
  }

  /** Attempts since the last reset, for the operator: "retry 7" says more than a delay. */
  get attempts(): number {
    return this.attempt;
  }

  /** Called once the camera delivers again, so the next outage starts from the short delay. */
  reset(): void {
    this.attempt = 0;
  }
}
