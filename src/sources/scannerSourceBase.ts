import { createLogger, type Logger } from '../core/logger.js';
import type { Scan, ScannerCallbacks, ScannerKind, ScannerSource, ScannerStatusReport } from './scannerSource.js';
import { SourceStatus } from './sourceStatus.js';

/**
 * What every scanner source shares: counters, the state reported to the operator, and
 * callbacks that cannot take the source down (they run inside stream and timer handlers,
 * where a throw would end the process). Listener errors are logged without the scan: its
 * code may be a payment token.
 */
export abstract class ScannerSourceBase extends SourceStatus<ScannerStatusReport> implements ScannerSource {
  abstract readonly kind: ScannerKind;
  private scansIn = 0;
  private scansDropped = 0;

  protected constructor(
    lane: string,
    private readonly callbacks: ScannerCallbacks,
    log: Logger = createLogger('silent'),
  ) {
    super(lane, 'scanner', (report) => callbacks.onStatus(report), log);
  }

  abstract start(): Promise<void>;
  abstract stop(): Promise<void>;

  status(): ScannerStatusReport {
    return {
      lane: this.lane,
      kind: this.kind,
      ...this.stateReport(),
      scansIn: this.scansIn,
      scansDropped: this.scansDropped,
    };
  }

  protected deliver(code: string, atMs: number = Date.now()): Scan {
    this.scansIn += 1;
    const scan: Scan = { lane: this.lane, code, atMs };
    this.callListener('scan', () => this.callbacks.onScan(scan), errorWithoutDetail);
    return scan;
  }

  protected countDropped(why: string): void {
    this.scansDropped += 1;
    this.log.warn({ lane: this.lane, why }, 'scanner input dropped');
  }
}

// A listener's error message may quote the code it was handed; keep only its kind and stack
// frames so a payment token cannot reach the log through it.
function errorWithoutDetail(err: unknown): { type: string; stack?: string } {
  if (!(err instanceof Error)) return { type: typeof err };
  const frames = err.stack?.split('\n').slice(1).join('\n');
  return { type: err.name, ...(frames ? { stack: frames } : {}) };
}
