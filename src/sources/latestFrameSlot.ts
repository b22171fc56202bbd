import type { Frame } from './cameraSource.js';

/**
 * Backpressure between a camera and inference that is slower than it: at most one frame
 * waits, and a newer one replaces it. A queue would only make the popup later — the
 * cashier needs who stands there now, not who stood there a second ago.
 */
export class LatestFrameSlot {
  private waitingFrame: Frame | undefined;
  private consumer: ((frame: Frame | undefined) => void) | undefined;
  private droppedCount = 0;
  private closed = false;

  /** Hands the frame to a consumer waiting in next(), else keeps it, replacing (and counting) an older one. */
  offer(frame: Frame): void {
    if (this.closed) return;
    const consumer = this.consumer;
    if (consumer !== undefined) {
      this.consumer = undefined;
      consumer(frame);
      return;
    }
    if (this.waitingFrame !== undefined) this.droppedCount += 1;
    this.waitingFrame = frame;
  }

  take(): Frame | undefined {
    const frame = this.waitingFrame;
    this.waitingFrame = undefined;
    return frame;
  }

  /**
   * The waiting frame, or the next one offered. Resolves undefined once the slot is closed.
   * One consumer per slot: a second call while one waits is a programming error.
   */
  next(): Promise<Frame | undefined> {
    const frame = this.take();
    if (frame !== undefined || this.closed) return Promise.resolve(frame);
    if (this.consumer !== undefined) {
      return Promise.reject(new Error('LatestFrameSlot.next() called while another next() is still waiting'));
    }
    return new Promise((resolve) => {
      this.consumer = resolve;
    });
  }

  /** Ends the lane loop: a waiting next() resolves undefined and later offers are ignored. */
  close(): void {
    this.closed = true;
    this.waitingFrame = undefined;
    const consumer = this.consumer;
    this.consumer = undefined;
    consumer?.(undefined);
  }

  /** Frames replaced before anyone took them. */
  get dropped(): number {
    return this.droppedCount;
  }

  /** Frames waiting to be taken: 0 or 1. */
  get pending(): number {
    return this.waitingFrame === undefined ? 0 : 1;
  }
}
