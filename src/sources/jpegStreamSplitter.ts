const MARKER = 0xff;
const START_OF_IMAGE = Buffer.from([0xff, 0xd8]);
const END_OF_IMAGE = Buffer.from([0xff, 0xd9]);

/**
 * Cuts ffmpeg's image2pipe MJPEG output into single JPEG files by their start (FF D8) and
 * end (FF D9) markers. Scanning for markers is enough here because ffmpeg's MJPEG encoder
 * writes no embedded thumbnails, and inside the compressed data every FF byte is followed
 * by 00, so FF D9 can only be the real end. A marker may straddle two pipe chunks, which
 * is why the last byte of each chunk is remembered.
 */
export class JpegStreamSplitter {
  private parts: Buffer[] = [];
  private partsBytes = 0;
  private inImage = false;
  private previousChunkEndedWithMarker = false;

  constructor(
    private readonly maxImageBytes: number,
    private readonly onImage: (bytes: Buffer) => void,
    /** Called when an image outgrows maxImageBytes and is thrown away. */
    private readonly onOversize: () => void,
  ) {}

  push(chunk: Buffer): void {
    let from = 0;
    while (from < chunk.length) {
      from = this.inImage ? this.readImageBody(chunk, from) : this.findImageStart(chunk, from);
    }
    this.previousChunkEndedWithMarker = chunk.length > 0 && chunk[chunk.length - 1] === MARKER;
  }

  /** Forgets a half-read image, e.g. when the ffmpeg process that was writing it died. */
  reset(): void {
    this.parts = [];
    this.partsBytes = 0;
    this.inImage = false;
    this.previousChunkEndedWithMarker = false;
  }

  private findImageStart(chunk: Buffer, from: number): number {
    if (from === 0 && this.previousChunkEndedWithMarker && chunk[0] === 0xd8) {
      this.beginImage(Buffer.from([MARKER]));
      return 0;
    }
    const at = chunk.indexOf(START_OF_IMAGE, from);
    if (at < 0) return chunk.length;
    this.beginImage();
    return this.readImageBody(chunk, at);
  }

  private beginImage(carried?: Buffer): void {
    this.parts = carried === undefined ? [] : [carried];
    this.partsBytes = carried?.length ?? 0;
    this.inImage = true;
  }

  /** `from` is where this chunk's share of the current image begins. */
  private readImageBody(chunk: Buffer, from: number): number {
    const straddlingEnd = from === 0 && this.partsBytes > 0 && this.previousChunkEndedWithMarker && chunk[0] === 0xd9;
    const endAt = straddlingEnd ? 0 : chunk.indexOf(END_OF_IMAGE, from);
    const endExclusive = straddlingEnd ? 1 : endAt < 0 ? -1 : endAt + 2;
    if (endExclusive < 0) {
      this.append(chunk.subarray(from));
      return chunk.length;
    }
    this.append(chunk.subarray(from, endExclusive));
    if (this.inImage) {
      // Copied once into its own buffer so a frame never pins the pipe's larger chunks.
      const image = Buffer.concat(this.parts, this.partsBytes);
      this.parts = [];
      this.partsBytes = 0;
      this.inImage = false;
      this.onImage(image);
    }
    return endExclusive;
  }

  private append(part: Buffer): void {
    if (!this.inImage) return;
    if (this.partsBytes + part.length > this.maxImageBytes) {
      this.parts = [];
      this.partsBytes = 0;
      this.inImage = false;
      this.onOversize();
      return;
    }
    this.parts.push(part);
    this.partsBytes += part.length;
  }
}
