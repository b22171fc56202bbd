import { open, readdir } from 'node:fs/promises';
import path from 'node:path';
import { errorMessage } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { ReplayCameraConfig } from './cameraConfigSchema.js';
import type { CameraCallbacks } from './cameraSource.js';
import { CameraSourceBase } from './cameraSourceBase.js';
import { looksLikeJpegOrPng } from './imageSignature.js';

export type ReplayFolderCameraOptions = Omit<ReplayCameraConfig, 'kind'> & { lane: string };

const IMAGE_EXTENSION = /\.(jpe?g|png)$/i;
// Numeric collation so that frame2.jpg plays before frame10.jpg, as a person expects.
const nameOrder = new Intl.Collator('en', { numeric: true });

/**
 * Plays a folder of still images as if a camera were looking at them: the demo lane, so a
 * newcomer sees recognition without hardware, and a way to reproduce a lane's problem
 * from saved frames. The folder is listed again at each loop, so images added while it
 * plays are picked up.
 */
export class ReplayFolderCamera extends CameraSourceBase {
  readonly kind = 'replay' as const;
  private active = false;
  private files: string[] = [];
  private nextIndex = 0;
  private nextAtMs = 0;
  private timer: NodeJS.Timeout | undefined;
  private playing: Promise<void> = Promise.resolve();

  constructor(
    private readonly options: ReplayFolderCameraOptions,
    callbacks: CameraCallbacks,
    log?: Logger,
  ) {
    super(options.lane, callbacks, log);
  }

  async start(): Promise<void> {
    if (this.active) return;
    this.active = true;
    this.setState('starting', `reading folder ${this.options.folder}`);
    if (!(await this.loadFileList())) return;
    this.nextIndex = 0;
    this.nextAtMs = Date.now();
    this.setState('running', `replaying ${this.files.length} images from ${this.options.folder}`);
    this.schedule();
  }

  async stop(): Promise<void> {
    this.active = false;
    clearTimeout(this.timer);
    await this.playing;
    if (this.currentState !== 'stopped') this.setState('stopped', 'stopped by the service');
  }

  private schedule(): void {
    this.timer = setTimeout(() => {
      this.playing = this.playNext();
    }, Math.max(0, this.nextAtMs - Date.now()));
  }

  private async playNext(): Promise<void> {
    const file = this.files[this.nextIndex];
    if (file !== undefined) {
      const bytes = await this.readImage(file);
      if (!this.active) return;
      // Each loop of a recording shows its people walking up anew (the demo lane greets whoever
      // opens the till page, whenever that is).
      if (bytes !== undefined) this.deliver(bytes, this.nextIndex === 0);
    }
    this.nextIndex += 1;
    if (this.nextIndex >= this.files.length) {
      if (!this.options.loop) {
        this.active = false;
        this.setState('stopped', `end of folder ${this.options.folder}`);
        return;
      }
      if (!(await this.loadFileList()) || !this.active) return;
      this.nextIndex = 0;
    }
    // Timed from the planned moment, not from now, so slow reads do not slow the replay.
    this.nextAtMs = Math.max(this.nextAtMs + 1000 / this.options.fps, Date.now() - 1000);
    this.schedule();
  }

  private async loadFileList(): Promise<boolean> {
    try {
      const entries = await readdir(this.options.folder, { withFileTypes: true });
      this.files = entries
        .filter((e) => e.isFile() && IMAGE_EXTENSION.test(e.name))
        .map((e) => e.name)
        .sort(nameOrder.compare);
    } catch (err) {
      this.fail(`cannot read folder ${this.options.folder}: ${errorMessage(err)}`);
      return false;
    }
    if (this.files.length === 0) {
      this.fail(`folder ${this.options.folder} holds no .jpg, .jpeg or .png images; add some or point the replay camera elsewhere`);
      return false;
    }
    return true;
  }

  private fail(detail: string): void {
    this.active = false;
    this.setState('failed', detail);
  }

  /** Undefined (and counted as dropped) for a file that vanished, is too large or is no image. */
  private async readImage(name: string): Promise<Uint8Array | undefined> {
    const file = path.join(this.options.folder, name);
    try {
      const handle = await open(file, 'r');
      try {
        // Sized before reading, so a stray video in the folder is not loaded whole.
        const { size } = await handle.stat();
        if (size <= this.options.maxFrameBytes) {
          const bytes = await handle.readFile();
          if (looksLikeJpegOrPng(bytes)) return bytes;
        }
      } finally {
        await handle.close();
      }
    } catch (err) {
      this.log.warn({ err, lane: this.lane, file }, 'replay image unreadable');
    }
    this.countDropped();
    return undefined;
  }
}
