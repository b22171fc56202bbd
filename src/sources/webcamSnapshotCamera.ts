import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { errorMessage } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { WebcamCameraConfig } from './cameraConfigSchema.js';
import type { CameraCallbacks } from './cameraSource.js';
import { CameraSourceBase } from './cameraSourceBase.js';
import { findExecutableOnPath } from './executableOnPath.js';
import { looksLikeJpegOrPng } from './imageSignature.js';
import { RetryBackoff } from './retryBackoff.js';

export type WebcamSnapshotCameraOptions = Omit<WebcamCameraConfig, 'kind'> & { lane: string };

/** The machine the source runs on; a parameter so a test can stand on a machine without the tool. */
export interface WebcamHost {
  platform: NodeJS.Platform;
  env: NodeJS.ProcessEnv;
}

interface NodeWebcam {
  create(options: Record<string, unknown>): {
    capture(location: string, callback: (err: Error | null) => void): void;
  };
}

const CAPTURE_TOOLS: Partial<Record<NodeJS.Platform, { tool: string; howToInstall: string }>> = {
  linux: { tool: 'fswebcam', howToInstall: 'install it (Debian/Ubuntu: sudo apt-get install fswebcam)' },
  darwin: { tool: 'imagesnap', howToInstall: 'install it (Homebrew: brew install imagesnap)' },
};

const USE_FFMPEG_INSTEAD = 'or use a camera of kind "ffmpeg" with input type "usb", which needs no extra tool';

/**
 * Snapshots through node-webcam, which runs a capture tool (fswebcam on Linux, imagesnap
 * on macOS) once per image. Slow and simple: it suits a lane where a frame a second is
 * plenty and ffmpeg cannot open the camera. On Windows node-webcam would need CommandCam,
 * which is not downloaded because install scripts are blocked, so there this source
 * fails with a pointer to ffmpeg's dshow input.
 */
export class WebcamSnapshotCamera extends CameraSourceBase {
  readonly kind = 'webcam' as const;
  private readonly backoff: RetryBackoff;
  private active = false;
  private timer: NodeJS.Timeout | undefined;
  private capturing: Promise<void> = Promise.resolve();
  private shotFolder: string | undefined;

  constructor(
    private readonly options: WebcamSnapshotCameraOptions,
    callbacks: CameraCallbacks,
    log?: Logger,
    private readonly host: WebcamHost = { platform: process.platform, env: process.env },
  ) {
    super(options.lane, callbacks, log);
    this.backoff = new RetryBackoff(options.retryInitialMs, options.retryMaxMs);
  }

  async start(): Promise<void> {
    if (this.active) return;
    this.active = true;
    this.backoff.reset();
    this.setState('starting', 'taking the first snapshot');
    this.snapshot();
  }

  async stop(): Promise<void> {
    this.active = false;
    clearTimeout(this.timer);
    // node-webcam does not hand out the capture process, so a snapshot under way cannot be
    // cut short; it is awaited (one capture, about a second) so its file is cleaned up.
    await this.capturing;
    if (this.shotFolder !== undefined) {
      await rm(this.shotFolder, { recursive: true, force: true });
      this.shotFolder = undefined;
    }
    if (this.currentState !== 'stopped') this.setState('stopped', 'stopped by the service');
  }

  private snapshot(): void {
    this.timer = undefined;
    if (!this.active) return;
    const capture = CAPTURE_TOOLS[this.host.platform];
    if (capture === undefined) {
      this.active = false;
      this.setState(
        'failed',
        this.host.platform === 'win32'
          ? 'snapshots on Windows would need CommandCam, which memberlens does not download; use a camera of kind "ffmpeg" with input { type: "usb", device: "video=<camera name>" } (DirectShow) instead'
          : `no snapshot tool is known for platform ${this.host.platform}; ${USE_FFMPEG_INSTEAD}`,
      );
      return;
    }
    // Checked before every attempt so that installing the tool while the service runs is
    // enough; a missing tool stays 'retrying' rather than 'failed' for that reason.
    if (findExecutableOnPath(capture.tool, this.host.env) === undefined) {
      this.retryLater(`${capture.tool} was not found on PATH: ${capture.howToInstall}, ${USE_FFMPEG_INSTEAD}`);
      return;
    }
    this.capturing = this.captureOnce();
  }

  private async captureOnce(): Promise<void> {
    const startedAtMs = Date.now();
    let bytes: Buffer;
    try {
      bytes = await this.takeShot();
    } catch (err) {
      if (this.active) this.retryLater(`snapshot failed: ${oneLine(errorMessage(err))}`);
      return;
    }
    if (!this.active) return;
    if (bytes.length > this.options.maxFrameBytes || !looksLikeJpegOrPng(bytes)) {
      this.countDropped();
    } else {
      this.backoff.reset();
      if (this.currentState !== 'running') this.setState('running', `snapshots every ${this.options.intervalMs} ms`);
      this.deliver(bytes);
    }
    this.timer = setTimeout(() => this.snapshot(), Math.max(0, startedAtMs + this.options.intervalMs - Date.now()));
  }

  /**
   * Through a file in a private temporary folder, deleted at once: node-webcam's in-memory
   * mode reads the tool's output as text, which corrupts binary JPEG data.
   */
  private async takeShot(): Promise<Buffer> {
    this.shotFolder ??= await mkdtemp(path.join(tmpdir(), 'memberlens-webcam-'));
    const file = path.join(this.shotFolder, 'shot.jpg');
    const webcam = loadNodeWebcam().create({
      width: this.options.widthPx,
      height: this.options.heightPx,
      quality: this.options.jpegQuality,
      output: 'jpeg',
      device: this.options.device ?? false,
      callbackReturn: 'location',
      saveShots: false,
      verbose: false,
    });
    await new Promise<void>((resolve, reject) => {
      webcam.capture(file, (err) => (err ? reject(err) : resolve()));
    });
    try {
      return await readFile(file);
    } finally {
      await rm(file, { force: true });
    }
  }

  private retryLater(reason: string): void {
    const delayMs = this.backoff.nextDelayMs();
    this.setState('retrying', `${reason}; retry ${this.backoff.attempts} in ${delayMs} ms`);
    this.timer = setTimeout(() => this.snapshot(), delayMs);
  }
}

function loadNodeWebcam(): NodeWebcam {
  return createRequire(import.meta.url)('node-webcam') as NodeWebcam;
}

function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim().slice(0, 300);
}
