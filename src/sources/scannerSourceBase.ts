import { createLogger, type Logger } from '../core/logger.js';
import type {
  Scan,
  ScannerCallbacks,
  ScannerKind,
  ScannerSource,
  ScannerState,
  ScannerStatusReport,
} from './scannerSource.js';

/**
 * What every scanner source shares: counters, the state reported to the operator, and
 * callbacks that cannot take the source down (they run inside stream and timer handlers,
 * where a throw would end the process). Listener errors are logged without the scan: its
 * code may be a payment token.
 */
export abstract class ScannerSourceBase implements ScannerSource {
  abstract readonly kind: ScannerKind;
  private state: ScannerState = 'stopped';
  private detail: string | undefined;
  private scansIn = 0;
  private scansDropped = 0;

  protected constructor(
    readonly lane: string,
    private readonly callbacks: ScannerCallbacks,
    protected readonly log: Logger = createLogger('silent'),
  ) {}

  abstract start(): Promise<void>;
  abstract stop(): Promise<void>;

  status(): ScannerStatusReport {
    return {
      lane: this.lane,
      kind: this.kind,
      state: this.state,
      ...(this.detail === undefined ? {} : { detail: this.detail }),
      scansIn: this.scansIn,
      scansDropped: this.scansDropped,
    };
  }

  protected get currentState(): ScannerState {
    return this.state;
  }

  /** Reports only changes, so a steady scanner does not flood the operator's status feed. */
  protected setState(state: ScannerState, detail?: string): void {
    if (state === this.state && detail === this.detail) return;
    this.state = state;
    this.detail = detail;
    const report = this.status();
    try {
      this.callbacks.onStatus(report);
    } catch (err) {
      this.log.error({ err, lane: this.lane }, 'scanner status listener failed');
    }
  }

  protected deliver(code: string, atMs: number = Date.now()): Scan {
    this.scansIn += 1;
    const scan: Scan = { lane: this.lane, code, atMs };
    try {
      this.callbacks.onScan(scan);
    } catch (err) {
      this.log.error({ err: errorWithoutDetail(err), lane: this.lane }, 'scanner scan listener failed');
    }
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
