import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';

/** Long enough to hold a few dozen samples, short enough that shedding stops soon after a burst. */
const WINDOW_MS = 500;
/** How often the loop is sampled; finer costs CPU for nothing at the lags that matter here. */
const RESOLUTION_MS = 10;

/**
 * How far behind the main thread's event loop runs: the median delay of its sampling timer over
 * the last half second. The median, not the maximum, so that one long task (a WAL checkpoint,
 * a garbage collection) does not count as overload, while a loop that is behind on every turn
 * does.
 */
export class EventLoopLag {
  readonly #histogram: IntervalHistogram = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
  #timer: NodeJS.Timeout | undefined;
  #lagMs = 0;

  start(onWindow?: (lagMs: number) => void): void {
    if (this.#timer) return;
    this.#histogram.enable();
    this.#timer = setInterval(() => {
      // The histogram counts the resolution itself in every sample; only the excess is lag.
      const medianNs = this.#histogram.count > 0 ? this.#histogram.percentile(50) : 0;
      this.#lagMs = Math.max(0, medianNs / 1e6 - RESOLUTION_MS);
      this.#histogram.reset();
      onWindow?.(this.#lagMs);
    }, WINDOW_MS);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
    this.#histogram.disable();
  }

  /** Median lag of the last full window, in ms. */
  get lagMs(): number {
    return this.#lagMs;
  }
}
