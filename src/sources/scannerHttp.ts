import { UserError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { HttpScannerConfig } from './scannerConfigSchema.js';
import type { Scan, ScannerCallbacks } from './scannerSource.js';
import { ScannerSourceBase } from './scannerSourceBase.js';

export type HttpScannerOptions = Omit<HttpScannerConfig, 'kind'> & { lane: string };

/**
 * A scanner that reaches the service over HTTP (a networked scanner, the POS, a phone).
 * The route for POST /api/lanes/:lane/scans hands each `code` to push(); this class gives
 * it the same status and limits as the hardware scanners.
 */
export class HttpScanner extends ScannerSourceBase {
  readonly kind = 'http' as const;
  private active = false;

  constructor(
    private readonly options: HttpScannerOptions,
    callbacks: ScannerCallbacks,
    log?: Logger,
  ) {
    super(options.lane, callbacks, log);
  }

  async start(): Promise<void> {
    if (this.active) return;
    this.active = true;
    // Nothing to open or wait for: the route is up, so the scanner is ready for its first code.
    this.setState('running', `waiting for scans on POST /api/lanes/${this.lane}/scans`);
  }

  async stop(): Promise<void> {
    this.active = false;
    if (this.currentState !== 'stopped') this.setState('stopped', 'stopped by the service');
  }

  /**
   * Throws a UserError the route can answer with: `scanner-stopped` while the lane is not
   * running, `scan-too-long` or `empty-scan`. The messages never quote the code.
   */
  push(code: string): Scan {
    if (!this.active) throw new UserError(`the scanner of lane ${this.lane} is not running`, 'scanner-stopped');
    if (code.length > this.options.maxCodeLength) {
      this.countDropped('code longer than maxCodeLength');
      throw new UserError(`the code is longer than the ${this.options.maxCodeLength}-character limit of lane ${this.lane}`, 'scan-too-long');
    }
    // A client that copies a scanner's output often keeps its trailing CR/LF.
    const trimmed = code.replace(/[\r\n]+$/, '');
    if (trimmed === '') {
      this.countDropped('empty code');
      throw new UserError('the code is empty', 'empty-scan');
    }
    return this.deliver(trimmed);
  }
}
