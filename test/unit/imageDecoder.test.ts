import { readFileSync } from 'node:fs';
import { crc32 } from 'node:zlib';
import sharp, { type Sharp } from 'sharp';
import { describe, expect, it } from 'vitest';
import { settingsSchema } from '../../src/config/settingsSchema.js';
import { ImageError } from '../../src/core/errors.js';
import { type DecodeLimits, decodeImage } from '../../src/vision/imageDecoder.js';

const limits: DecodeLimits = settingsSchema.parse({}).vision;
const SAMPLE_JPEG = readFileSync(new URL('../../node_modules/@vladmandic/face-api/demo/sample1.jpg', import.meta.url));

/** A small real image whose pixels are known: left half red, right half blue. */
async function twoTone(width: number, height: number): Promise<Sharp> {
  const half = Math.floor(width / 2);
  const data = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 3;
      if (x < half) data[i] = 255;
      else data[i + 2] = 255;
    }
  }
  return sharp(data, { raw: { width, height, channels: 3 } });
}

async function expectImageError(bytes: Uint8Array, code: string, message: RegExp, custom: DecodeLimits = limits): Promise<ImageError> {
  const err: unknown = await decodeImage(bytes, custom).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err, `expected ImageError ${code}`).toBeInstanceOf(ImageError);
  const imageError = err as ImageError;
  expect(imageError.code).toBe(code);
  expect(imageError.message).toMatch(message);
  // Written for a person: one line, no stack or library internals dumped into it.
  expect(imageError.message).not.toMatch(/\n|\bat \S+ \(/);
  return imageError;
}

/** The decoder must stay usable after refusing something: a real photo still decodes. */
async function expectStillDecodes(): Promise<void> {
  const image = await decodeImage(SAMPLE_JPEG, limits);
  expect(image.width).toBe(1920);
  expect(image.height).toBe(1280);
  expect(image.data.length).toBe(1920 * 1280 * 3);
}

/** Rewrites a PNG's IHDR width and height and recomputes the chunk CRC, so the file is a valid PNG header-wise. */
function patchPngSize(png: Buffer, width: number, height: number): Buffer {
  const out = Buffer.from(png);
  expect(out.subarray(12, 16).toString('latin1')).toBe('IHDR');
  out.writeUInt32BE(width, 16);
  out.writeUInt32BE(height, 20);
  // CRC covers chunk type + data: bytes 12..28 (4 + 13).
  out.writeUInt32BE(crc32(out.subarray(12, 29)) >>> 0, 29);
  return out;
}

/** A minimal, valid one-page PDF. */
function minimalPdf(): Buffer {
  const objects = [
    '1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n',
    '2 0 obj\n<< /Type /Pages /Kids [3 0 R] /Count 1 >>\nendobj\n',
    '3 0 obj\n<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] >>\nendobj\n',
  ];
  let body = '%PDF-1.4\n';
  const offsets: number[] = [];
  for (const obj of objects) {
    offsets.push(body.length);
    body += obj;
  }
  const xref = body.length;
  body += `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n`;
  for (const offset of offsets) body += `${String(offset).padStart(10, '0')} 00000 n \n`;
  body += `trailer\n<< /Size ${objects.length + 1} /Root 1 0 R >>\nstartxref\n${xref}\n%%EOF\n`;
  return Buffer.from(body, 'latin1');
}

describe('decodeImage refuses hostile or broken input with an ImageError a person can act on', () => {
  it('an empty buffer → empty-image', async () => {
    await expectImageError(new Uint8Array(0), 'empty-image', /empty.*JPEG, PNG or WebP/);
    await expectStillDecodes();
  });

  it('the first half of a real JPEG → corrupt-image', async () => {
    const truncated = SAMPLE_JPEG.subarray(0, Math.floor(SAMPLE_JPEG.length / 2));
    await expectImageError(truncated, 'corrupt-image', /truncated or damaged/);
    await expectStillDecodes();
  });

  it('a PDF named .jpg → not-an-image', async () => {
    const pdf = minimalPdf();
    expect(pdf.subarray(0, 8).toString('latin1')).toBe('%PDF-1.4');
    await expectImageError(pdf, 'not-an-image', /not JPEG, PNG or WebP/);
    await expectStillDecodes();
  });

  it('a PNG whose header claims 20000×20000 is refused from the header, fast and without the memory', async () => {
    const tiny = await sharp({ create: { width: 16, height: 16, channels: 3, background: '#336699' } }).png().toBuffer();
    const bomb = patchPngSize(tiny, 20_000, 20_000);
    // The patched header is valid: a reader believes it (decoding it would take 1.2 GB of RGB).
    const meta = await sharp(bomb, { limitInputPixels: false }).metadata();
    expect([meta.width, meta.height]).toEqual([20_000, 20_000]);

    global.gc?.();
    const rssBefore = process.memoryUsage().rss;
    const started = performance.now();
    await expectImageError(bomb, 'image-too-large', /20000×20000.*vision\.maxImagePixels.*smaller photo/);
    const elapsedMs = performance.now() - started;
    const rssGrowth = process.memoryUsage().rss - rssBefore;
    expect(elapsedMs).toBeLessThan(1000);
    expect(rssGrowth).toBeLessThan(50 * 1024 * 1024);
    await expectStillDecodes();
  });

  it('bytes over vision.maxImageBytes → image-too-large, before any parsing', async () => {
    const small: DecodeLimits = { ...limits, maxImageBytes: 100_000 };
    expect(SAMPLE_JPEG.length).toBeGreaterThan(small.maxImageBytes);
    await expectImageError(SAMPLE_JPEG, 'image-too-large', new RegExp(`${SAMPLE_JPEG.length} bytes.*100000.*vision\\.maxImageBytes`), small);
    // Exactly at the limit is allowed.
    const atLimit: DecodeLimits = { ...limits, maxImageBytes: SAMPLE_JPEG.length };
    expect((await decodeImage(SAMPLE_JPEG, atLimit)).width).toBe(1920);
  });

  it('random garbage → not-an-image', async () => {
    // Deterministic pseudo-random bytes (xorshift), so a failure can be replayed.
    const garbage = new Uint8Array(64 * 1024);
    let state = 0x9e3779b9;
    for (let i = 0; i < garbage.length; i++) {
      state ^= state << 13;
      state ^= state >>> 17;
      state ^= state << 5;
      garbage[i] = state & 0xff;
    }
    await expectImageError(garbage, 'not-an-image', /not JPEG, PNG or WebP/);
    await expectStillDecodes();
  });

  it('GIF and TIFF are real images but unsupported-format, naming the format', async () => {
    const base = () => sharp({ create: { width: 32, height: 32, channels: 3, background: '#ff0000' } });
    await expectImageError(await base().gif().toBuffer(), 'unsupported-format', /"gif".*JPEG, PNG or WebP/);
    await expectImageError(await base().tiff().toBuffer(), 'unsupported-format', /"tiff".*JPEG, PNG or WebP/);
    await expectStillDecodes();
  });
});

describe('decodeImage turns good input into upright 8-bit RGB', () => {
  /** RGB of one pixel. */
  const pixel = (img: { data: Uint8Array; width: number }, x: number, y: number) => {
    const i = (y * img.width + x) * 3;
    return [img.data[i]!, img.data[i + 1]!, img.data[i + 2]!];
  };

  it('JPEG, PNG and WebP of the same picture give the same size and colours', async () => {
    for (const encode of [(s: Sharp) => s.jpeg({ quality: 95 }), (s: Sharp) => s.png(), (s: Sharp) => s.webp({ quality: 95 })]) {
      const bytes = await encode(await twoTone(64, 40)).toBuffer();
      const image = await decodeImage(bytes, limits);
      expect([image.width, image.height, image.scaleToOriginal]).toEqual([64, 40, 1]);
      expect(image.data.length).toBe(64 * 40 * 3);
      const left = pixel(image, 5, 20);
      const right = pixel(image, 58, 20);
      expect(left[0]).toBeGreaterThan(230);
      expect(left[2]).toBeLessThan(25);
      expect(right[2]).toBeGreaterThan(230);
      expect(right[0]).toBeLessThan(25);
    }
  });

  it('a one-channel grayscale PNG comes out as 3 equal channels', async () => {
    // A horizontal ramp 0..190 in one channel.
    const levels = Buffer.alloc(20 * 10);
    for (let i = 0; i < levels.length; i++) levels[i] = (i % 20) * 10;
    const grey = await sharp(levels, { raw: { width: 20, height: 10, channels: 1 } }).toColourspace('b-w').png().toBuffer();
    expect((await sharp(grey).metadata()).channels).toBe(1);
    const image = await decodeImage(grey, limits);
    expect(image.data.length).toBe(20 * 10 * 3);
    for (const x of [0, 3, 19]) expect(pixel(image, x, 4)).toEqual([x * 10, x * 10, x * 10]);
  });

  it('a 16-bit PNG comes out as 8-bit RGB', async () => {
    const deep = await sharp({ create: { width: 12, height: 8, channels: 3, background: '#c08040' } }).toColourspace('rgb16').png().toBuffer();
    expect((await sharp(deep).metadata()).depth).toBe('ushort');
    const image = await decodeImage(deep, limits);
    expect(image.data.length).toBe(12 * 8 * 3);
    expect(pixel(image, 6, 4)).toEqual([0xc0, 0x80, 0x40]);
  });

  it('an RGBA PNG has its transparency flattened onto white', async () => {
    const width = 8;
    const rgba = Buffer.alloc(width * width * 4);
    // Left half fully transparent black, right half opaque green.
    for (let y = 0; y < width; y++) {
      for (let x = width / 2; x < width; x++) rgba.set([0, 200, 0, 255], (y * width + x) * 4);
    }
    const png = await sharp(rgba, { raw: { width, height: width, channels: 4 } }).png().toBuffer();
    expect((await sharp(png).metadata()).hasAlpha).toBe(true);
    const image = await decodeImage(png, limits);
    expect(image.data.length).toBe(width * width * 3);
    expect(pixel(image, 1, 1)).toEqual([255, 255, 255]);
    expect(pixel(image, 6, 1)).toEqual([0, 200, 0]);
  });

  it('a JPEG with EXIF orientation 6 is rotated upright (width and height swapped)', async () => {
    // Stored 80×40, left red / right blue; orientation 6 means "rotate 90° clockwise to view".
    const jpeg = await (await twoTone(80, 40)).jpeg({ quality: 95 }).withMetadata({ orientation: 6 }).toBuffer();
    const meta = await sharp(jpeg).metadata();
    expect([meta.width, meta.height, meta.orientation]).toEqual([80, 40, 6]);
    const image = await decodeImage(jpeg, limits);
    expect([image.width, image.height]).toEqual([40, 80]);
    // Rotated clockwise, the stored left (red) half is now on top, the blue half below.
    expect(pixel(image, 20, 5)[0]).toBeGreaterThan(230);
    expect(pixel(image, 20, 74)[2]).toBeGreaterThan(230);
  });

  it('an image larger than vision.maxDecodeSidePx is scaled down and says by how much', async () => {
    const big = await (await twoTone(3000, 2000)).jpeg().toBuffer();
    const image = await decodeImage(big, limits);
    expect(limits.maxDecodeSidePx).toBe(1920);
    expect([image.width, image.height]).toEqual([1920, 1280]);
    expect(image.data.length).toBe(1920 * 1280 * 3);
    expect(image.scaleToOriginal).toBeCloseTo(3000 / 1920, 6);
  });

  it('a rotated photo is scaled by its upright longer side', async () => {
    const tall = await (await twoTone(2400, 1200)).jpeg().withMetadata({ orientation: 6 }).toBuffer();
    const image = await decodeImage(tall, { ...limits, maxDecodeSidePx: 600 });
    expect([image.width, image.height]).toEqual([300, 600]);
    expect(image.scaleToOriginal).toBeCloseTo(4, 6);
  });
});
