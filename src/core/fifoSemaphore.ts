/**
 * Permits handed out in arrival order. Lanes take a permit before they pick their newest
 * frame, so the frame that gets analyzed is the freshest one at the moment a worker is free,
 * and lanes take turns instead of one busy lane starving the others.
 */
export class FifoSemaphore {
  private available: number;
  private readonly waiting: (() => void)[] = [];

  constructor(permits: number) {
    if (!Number.isInteger(permits) || permits < 1) throw new Error(`permits must be a positive integer, got ${permits}`);
    this.available = permits;
  }

  /** Resolves with a release function; call it exactly once. */
  async acquire(): Promise<() => void> {
    if (this.available > 0) {
      this.available -= 1;
    } else {
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    }
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.waiting.shift();
      if (next) next();
      else this.available += 1;
    };
  }

  get queued(): number {
    return this.waiting.length;
  }
}
