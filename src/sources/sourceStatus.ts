import type { Logger } from '../core/logger.js';

/** The states every source reports to the operator; CameraState and ScannerState are these. */
export type SourceState = 'starting' | 'running' | 'retrying' | 'stopped' | 'failed';

/**
 * What camera and scanner sources share: the state reported to the operator, and listener
 * calls that cannot take the source down. Listeners run inside stream and timer handlers,
 * where an exception would otherwise end the whole process, so one that throws is logged
 * and the source keeps going.
 */
export abstract class SourceStatus<Report> {
  private state: SourceState = 'stopped';
  private detail: string | undefined;

  protected constructor(
    readonly lane: string,
    /** 'camera' or 'scanner', for the log. */
    private readonly noun: string,
    private readonly onStatus: (report: Report) => void,
    protected readonly log: Logger,
  ) {}

  abstract status(): Report;

  protected get currentState(): SourceState {
    return this.state;
  }

  /** The state and, when there is one, its detail, as status() reports them. */
  protected stateReport(): { state: SourceState; detail?: string } {
    return { state: this.state, ...(this.detail === undefined ? {} : { detail: this.detail }) };
  }

  /** Reports only changes, so a steady source does not flood the operator's status feed. */
  protected setState(state: SourceState, detail?: string): void {
    if (state === this.state && detail === this.detail) return;
    this.state = state;
    this.detail = detail;
    const report = this.status();
    this.callListener('status', () => this.onStatus(report));
  }

  /** Calls a listener; what it throws is logged, as `forLog` makes it, and goes no further. */
  protected callListener(what: string, call: () => void, forLog: (err: unknown) => unknown = (err) => err): void {
    try {
      call();
    } catch (err) {
      this.log.error({ err: forLog(err), lane: this.lane }, `${this.noun} ${what} listener failed`);
    }
  }
}
