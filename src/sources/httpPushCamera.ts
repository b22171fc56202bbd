import { ImageError, UserError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { HttpPushCameraConfig } from './cameraConfigSchema.js';
import type { CameraCallbacks, Frame } from './cameraSource.js';
import { CameraSourceBase } from './cameraSourceBase.js';
import { looksLikeJpegOrPng } from './imageSignature.js';

export type HttpPushCameraOptions = Omit<HttpPushCameraConfig, 'kind'> & { lane: string };

/**
 * A camera that sends its own frames (an IP camera's HTTP upload, a phone, another
 * service). The HTTP route for POST /api/lanes/:lane/frames hands each body to push();
 * this class gives it a place in the lane's frame sequence.
 */
export class HttpPushCamera extends CameraSourceBase {
  readonly kind = 'http-push' as const;
  private active = false;

  constructor(
    private readonly options: HttpPushCameraOptions,
    callbacks: CameraCallbacks,
    log?: Logger,
  ) {
    super(options.lane, callbacks, log);
  }

  async start(): Promise<void> {
    if (this.active) return;
    this.active = true;
    this.setState('starting', `waiting for the first frame on POST /api/lanes/${this.lane}/frames`);
  }

  async stop(): Promise<void> {
    this.active = false;
    if (this.currentState !== 'stopped') this.setState('stopped', 'stopped by the service');
  }

  /**
   * Throws a UserError the route can answer with: `camera-stopped` while the lane is not
   * running, `image-too-large` or `invalid-image` for a body that is not one JPEG/PNG.
   */
  push(bytes: Uint8Array): Frame {
    if (!this.active) throw new UserError(`the camera of lane ${this.lane} is not running`, 'camera-stopped');
    if (bytes.length > this.options.maxFrameBytes) {
      this.countDropped();
      throw new ImageError(
        `frame of ${bytes.length} bytes is larger than the ${this.options.maxFrameBytes}-byte limit of lane ${this.lane}; send a smaller or more compressed image`,
        'image-too-large',
      );
    }
    if (!looksLikeJpegOrPng(bytes)) {
      this.countDropped();
      throw new ImageError('a frame must be one JPEG or PNG image', 'invalid-image');
    }
    if (this.currentState !== 'running') this.setState('running', `receiving frames on POST /api/lanes/${this.lane}/frames`);
    return this.deliver(bytes);
  }
}
