/**
 * The contract between a camera and the rest of the service. A source only does hardware
 * I/O: it turns whatever the camera speaks into encoded still images and says how it is
 * doing. Decoding, detection and backpressure happen downstream.
 */

export interface Frame {
  lane: string;
  /** Increases by one per frame a source delivers, so a consumer can see what it skipped. */
  seq: number;
  /** Wall-clock time the frame reached the service, in epoch milliseconds. */
  atMs: number;
  /** One encoded JPEG or PNG image. */
  bytes: Uint8Array;
  /**
   * The first frame of a recording that starts (over): what was seen before it belongs to
   * another scene, so nobody seen then counts as still visiting.
   */
  sceneStart?: boolean;
}

export type CameraState = 'starting' | 'running' | 'retrying' | 'stopped' | 'failed';

export interface CameraStatusReport {
  lane: string;
  state: CameraState;
  /** Written for the operator: what went wrong and what to do about it. */
  detail?: string;
  framesIn: number;
  /** Images the source itself threw away (too large, unreadable), not those skipped downstream. */
  framesDropped: number;
}

export interface CameraSource {
  readonly lane: string;
  readonly kind: string;
  start(): Promise<void>;
  stop(): Promise<void>;
  status(): CameraStatusReport;
}

export interface CameraCallbacks {
  onFrame(frame: Frame): void;
  onStatus(report: CameraStatusReport): void;
}
