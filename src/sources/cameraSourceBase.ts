import { createLogger, type Logger } from '../core/logger.js';
import type { CameraCallbacks, CameraSource, CameraState, CameraStatusReport, Frame } from './cameraSource.js';

/**
 * What every camera source shares: its counters, its state as reported to the operator,
 * and callbacks that cannot take the source down. A consumer that throws from onFrame is
 * logged and the source keeps going, because these callbacks run inside stream and timer
 * handlers where an exception would otherwise end the whole process.
 */
export abstract class CameraSourceBase implements CameraSource {
  abstract readonly kind: string;
  private state: CameraState = 'stopped';
  private detail: string | undefined;
  private framesIn = 0;
  private framesDropped = 0;

  protected constructor(
    readonly lane: string,
    private readonly callbacks: CameraCallbacks,
    protected readonly log: Logger = createLogger('silent'),
  ) {}

  abstract start(): Promise<void>;
  abstract stop(): Promise<void>;

  status(): CameraStatusReport {
    return {
      lane: this.lane,
      state: this.state,
      ...(this.detail === undefined ? {} : { detail: this.detail }),
      framesIn: this.framesIn,
      framesDropped: this.framesDropped,
    };
  }

  protected get currentState(): CameraState {
    return this.state;
  }

  /** Reports only changes, so a steady camera does not flood the operator's status feed. */
  protected setState(state: CameraState, detail?: string): void {
    if (state === this.state && detail === this.detail) return;
    this.state = state;
    this.detail = detail;
    const report = this.status();
    try {
      this.callbacks.onStatus(report);
    } catch (err) {
      this.log.error({ err, lane: this.lane }, 'camera status listener failed');
    }
  }

  protected deliver(bytes: Uint8Array): Frame {
    this.framesIn += 1;
    const frame: Frame = { lane: this.lane, seq: this.framesIn, atMs: Date.now(), bytes };
    try {
      this.callbacks.onFrame(frame);
    } catch (err) {
      this.log.error({ err, lane: this.lane }, 'camera frame listener failed');
    }
    return frame;
  }

  protected countDropped(): void {
    this.framesDropped += 1;
  }
}
