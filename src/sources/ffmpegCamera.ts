import { spawn, type ChildProcess } from 'node:child_process';
import { errorMessage } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { FfmpegCameraConfig } from './cameraConfigSchema.js';
import type { CameraCallbacks } from './cameraSource.js';
import { CameraSourceBase } from './cameraSourceBase.js';
import { describeFfmpegInput, ffmpegArguments } from './ffmpegArguments.js';
import { resolveFfmpegBinary } from './ffmpegBinary.js';
import { JpegStreamSplitter } from './jpegStreamSplitter.js';
import { OutputTail } from './outputTail.js';
import { RetryBackoff } from './retryBackoff.js';

export type FfmpegCameraOptions = Omit<FfmpegCameraConfig, 'kind'> & { lane: string };

/**
 * A camera read through an ffmpeg child process: USB, RTSP, HTTP MJPEG or a video file.
 * ffmpeg does all decoding and frame-rate thinning in its own process, so a camera that
 * sends 30 fps of 1080p costs this process only the few JPEGs it asked for. Whenever
 * ffmpeg ends (camera unplugged, network down, stream stalled) it is started again with
 * a growing delay; only a video file that is not looped ends for good.
 */
export class FfmpegCamera extends CameraSourceBase {
  readonly kind = 'ffmpeg' as const;
  private readonly backoff: RetryBackoff;
  private readonly stderrTail: OutputTail;
  private readonly splitter: JpegStreamSplitter;
  private active = false;
  private child: ChildProcess | undefined;
  private childClosed: Promise<void> = Promise.resolve();
  private retryTimer: NodeJS.Timeout | undefined;
  private stallTimer: NodeJS.Timeout | undefined;
  private stalled = false;
  private stopping: Promise<void> | undefined;

  constructor(
    private readonly options: FfmpegCameraOptions,
    callbacks: CameraCallbacks,
    log?: Logger,
  ) {
    super(options.lane, callbacks, log);
    this.backoff = new RetryBackoff(options.retryInitialMs, options.retryMaxMs);
    this.stderrTail = new OutputTail(options.stderrTailLines);
    this.splitter = new JpegStreamSplitter(options.maxFrameBytes, (image) => this.onImage(image), () => this.countDropped());
  }

  /** The running ffmpeg's process id, for diagnostics; undefined between attempts. */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  async start(): Promise<void> {
    if (this.active) return;
    this.active = true;
    this.stopping = undefined;
    this.backoff.reset();
    this.launch();
  }

  stop(): Promise<void> {
    this.stopping ??= this.shutdown();
    return this.stopping;
  }

  private launch(): void {
    this.retryTimer = undefined;
    if (!this.active) return;
    let binary: string;
    try {
      binary = this.options.ffmpegPath ?? resolveFfmpegBinary().path;
    } catch (err) {
      // Retrying cannot make ffmpeg appear; the operator has to install it.
      this.active = false;
      this.setState('failed', errorMessage(err));
      return;
    }
    this.setState('starting', `starting ffmpeg for ${describeFfmpegInput(this.options.input)}`);
    this.stderrTail.clear();
    this.splitter.reset();
    this.stalled = false;

    const child = spawn(binary, ffmpegArguments(this.options), { stdio: ['ignore', 'pipe', 'pipe'], windowsHide: true });
    this.child = child;
    let markClosed!: () => void;
    this.childClosed = new Promise((resolve) => { markClosed = resolve; });
    let settled = false;
    const settle = (outcome: { code: number | null; signal: NodeJS.Signals | null } | { error: Error }) => {
      if (settled) return;
      settled = true;
      if (this.child === child) this.child = undefined;
      clearTimeout(this.stallTimer);
      markClosed();
      this.afterExit(outcome);
    };

    child.stdout?.on('data', (chunk: Buffer) => this.splitter.push(chunk));
    child.stderr?.on('data', (chunk: Buffer) => this.stderrTail.write(chunk));
    // Stream errors (EPIPE while ffmpeg dies) are followed by 'close'; listening keeps
    // them from becoming uncaught exceptions.
    child.stdout?.on('error', () => {});
    child.stderr?.on('error', () => {});
    child.once('error', (error) => settle({ error }));
    // 'close' rather than 'exit': it fires after stdout is drained, so the last frames of
    // a file are delivered before the camera reports that it stopped.
    child.once('close', (code, signal) => settle({ code, signal }));
    this.armStallTimer(child);
  }

  private afterExit(outcome: { code: number | null; signal: NodeJS.Signals | null } | { error: Error }): void {
    if (!this.active) return;
    const input = this.options.input;
    if ('code' in outcome && outcome.code === 0 && !this.stalled && input.type === 'file' && !input.loop) {
      this.active = false;
      this.setState('stopped', `end of ${describeFfmpegInput(input)}`);
      return;
    }
    const reason = this.stalled
      ? `no frame from ffmpeg for ${this.options.stallTimeoutMs} ms`
      : 'error' in outcome
        ? `ffmpeg could not be started: ${outcome.error.message}`
        : `ffmpeg exited with ${outcome.signal === null ? `code ${outcome.code}` : `signal ${outcome.signal}`}`;
    const tail = this.stderrTail.text();
    const delayMs = this.backoff.nextDelayMs();
    this.setState('retrying', `${reason}${tail.length > 0 ? ` (${tail})` : ''}; retry ${this.backoff.attempts} in ${delayMs} ms`);
    this.retryTimer = setTimeout(() => this.launch(), delayMs);
  }

  private onImage(image: Buffer): void {
    if (!this.active) return;
    this.backoff.reset();
    this.stallTimer?.refresh();
    if (this.currentState !== 'running') this.setState('running', describeFfmpegInput(this.options.input));
    this.deliver(image);
  }

  private armStallTimer(child: ChildProcess): void {
    clearTimeout(this.stallTimer);
    this.stallTimer = setTimeout(() => {
      // A network camera can keep its connection open while sending nothing; ffmpeg then
      // waits forever, so the only way forward is to end it and connect again.
      this.stalled = true;
      child.kill('SIGKILL');
    }, this.options.stallTimeoutMs);
  }

  private async shutdown(): Promise<void> {
    this.active = false;
    clearTimeout(this.retryTimer);
    clearTimeout(this.stallTimer);
    const child = this.child;
    if (child !== undefined) {
      child.kill('SIGTERM');
      const forceKill = setTimeout(() => child.kill('SIGKILL'), this.options.stopGraceMs);
      await this.childClosed;
      clearTimeout(forceKill);
    }
    if (this.currentState !== 'stopped') this.setState('stopped', 'stopped by the service');
  }
}
