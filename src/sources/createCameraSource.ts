import type { Logger } from '../core/logger.js';
import type { CameraConfig } from './cameraConfigSchema.js';
import type { CameraCallbacks } from './cameraSource.js';
import { FfmpegCamera } from './ffmpegCamera.js';
import { HttpPushCamera } from './httpPushCamera.js';
import { ReplayFolderCamera } from './replayFolderCamera.js';
import { WebcamSnapshotCamera } from './webcamSnapshotCamera.js';

export { cameraConfigSchema, type CameraConfig, type CameraConfigInput } from './cameraConfigSchema.js';

/** Narrow on `kind`, e.g. `kind === 'http-push'` gives the source whose push() the frames route calls. */
export type AnyCameraSource = FfmpegCamera | WebcamSnapshotCamera | ReplayFolderCamera | HttpPushCamera;

/** Builds the camera of one lane from its parsed settings; nothing runs until start(). */
export function createCameraSource(lane: string, config: CameraConfig, callbacks: CameraCallbacks, log?: Logger): AnyCameraSource {
  switch (config.kind) {
    case 'ffmpeg':
      return new FfmpegCamera({ ...config, lane }, callbacks, log);
    case 'webcam':
      return new WebcamSnapshotCamera({ ...config, lane }, callbacks, log);
    case 'replay':
      return new ReplayFolderCamera({ ...config, lane }, callbacks, log);
    case 'http-push':
      return new HttpPushCamera({ ...config, lane }, callbacks, log);
  }
}
