import type { Logger } from '../core/logger.js';
import { RetryBackoff } from './retryBackoff.js';
import { ScannerLineAssembler, type ScannerLineTerminator } from './scannerLineAssembler.js';
import type { ScannerCallbacks } from './scannerSource.js';
import { ScannerSourceBase } from './scannerSourceBase.js';

export interface ReconnectingScannerOptions {
  lane: string;
  retryInitialMs: number;
  retryMaxMs: number;
  maxCodeLength: number;
  partialCodeTimeoutMs: number;
}

/**
 * A scanner on a local device that can be unplugged (serial port, evdev keyboard): its
 * characters go through a line assembler, and while the source is active it keeps reopening
 * the device with backoff, so plugging the scanner back in is all a cashier has to do.
 */
export abstract class ReconnectingScanner extends ScannerSourceBase {
  /** Between start() and stop(); no new attempt to open the device starts when false. */
  protected active = false;
  private retryTimer: NodeJS.Timeout | undefined;
  protected readonly backoff: RetryBackoff;
  protected readonly assembler: ScannerLineAssembler;

  protected constructor(
    /** The device path, as the operator knows it. */
    private readonly device: string,
    options: ReconnectingScannerOptions,
    terminator: ScannerLineTerminator,
    callbacks: ScannerCallbacks,
    log?: Logger,
  ) {
    super(options.lane, callbacks, log);
    this.backoff = new RetryBackoff(options.retryInitialMs, options.retryMaxMs);
    this.assembler = new ScannerLineAssembler(
      {
        maxCodeLength: options.maxCodeLength,
        terminator,
        partialCodeTimeoutMs: options.partialCodeTimeoutMs,
      },
      { code: (code) => this.deliver(code), dropped: (why) => this.countDropped(why) },
    );
  }

  /** One attempt to open the device and start reading; on failure it calls scheduleRetry. */
  protected abstract connect(): Promise<void>;

  async start(): Promise<void> {
    if (this.active) return;
    this.active = true;
    this.backoff.reset();
    this.setState('starting', `opening ${this.device}`);
    await this.connect();
  }

  /** The first step of stop(): no attempt is pending or starts after this. */
  protected stopRetrying(): void {
    this.active = false;
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
  }

  protected scheduleRetry(reason: string): void {
    if (!this.active) return;
    const delayMs = this.backoff.nextDelayMs();
    this.setState('retrying', `${reason}; retry ${this.backoff.attempts} in ${Math.round(delayMs / 100) / 10} s`);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      if (this.active) void this.connect();
    }, delayMs);
  }
}
