import { createLogger, type Logger } from '../core/logger.js';
import type { CameraCallbacks, CameraSource, CameraStatusReport, Frame } from './cameraSource.js';
import { SourceStatus } from './sourceStatus.js';

/**
 * What every camera source shares: its counters, its state as reported to the operator,
 * and callbacks that cannot take the source down. A consumer that throws from onFrame is
 * logged and the source keeps going, because these callbacks run inside stream and timer
 * handlers where an exception would otherwise end the whole process.
 */
export abstract class CameraSourceBase extends SourceStatus<CameraStatusReport> implements CameraSource {
  abstract readonly kind: string;
  private framesIn = 0;
  private framesDropped = 0;

  protected constructor(
    lane: string,
    private readonly callbacks: CameraCallbacks,
    log: Logger = createLogger('silent'),
  ) {
    super(lane, 'camera', (report) => callbacks.onStatus(report), log);
  }

  abstract start(): Promise<void>;
  abstract stop(): Promise<void>;

  status(): CameraStatusReport {
    return {
      lane: this.lane,
      ...this.stateReport(),
      framesIn: this.framesIn,
      framesDropped: this.framesDropped,
    };
  }

  protected deliver(bytes: Uint8Array, sceneStart = false): Frame {
    this.framesIn += 1;
    const frame: Frame = { lane: this.lane, seq: this.framesIn, atMs: Date.now(), bytes };
    if (sceneStart) frame.sceneStart = true;
    this.callListener('frame', () => this.callbacks.onFrame(frame));
    return frame;
  }

  protected countDropped(): void {
    this.framesDropped += 1;
  }
}
