import sharp, { type Metadata } from 'sharp';
import { ImageError } from '../core/errors.js';

/** An image decoded to 8-bit RGB, row-major, as the face networks take it. */
export interface DecodedImage {
  data: Uint8Array;
  width: number;
  height: number;
  /** Factor from decoded pixels back to the original image's pixels (≥ 1 when scaled down). */
  scaleToOriginal: number;
}

export interface DecodeLimits {
  maxImageBytes: number;
  maxImagePixels: number;
  maxDecodeSidePx: number;
}

const SUPPORTED_FORMATS = new Set(['jpeg', 'png', 'webp']);

/**
 * Decodes untrusted bytes: checks the header before any pixel is decoded (a 20000×20000 PNG
 * of a few kB would otherwise take gigabytes), applies EXIF orientation so a phone photo
 * is upright, flattens alpha onto white, expands grey to RGB, and scales very large photos
 * down since the detectors work at 416–512 px anyway.
 */
export async function decodeImage(bytes: Uint8Array, limits: DecodeLimits): Promise<DecodedImage> {
  if (bytes.length === 0) throw new ImageError('The file is empty; send a JPEG, PNG or WebP photo.', 'empty-image');
  if (bytes.length > limits.maxImageBytes) {
    throw new ImageError(
      `The image is ${bytes.length} bytes, more than the ${limits.maxImageBytes} allowed (vision.maxImageBytes); send a smaller photo.`,
      'image-too-large',
    );
  }
  let meta: Metadata;
  try {
    meta = await sharp(bytes, { limitInputPixels: false }).metadata();
  } catch {
    throw new ImageError('Not a readable image: the bytes are not JPEG, PNG or WebP.', 'not-an-image');
  }
  if (!meta.format || !SUPPORTED_FORMATS.has(meta.format)) {
    throw new ImageError(`Unsupported image format "${meta.format ?? 'unknown'}"; send a JPEG, PNG or WebP photo.`, 'unsupported-format');
  }
  const width = meta.width ?? 0;
  const height = meta.height ?? 0;
  if (width < 1 || height < 1) throw new ImageError('The image header has no size; the file is damaged.', 'not-an-image');
  if (width * height > limits.maxImagePixels) {
    throw new ImageError(
      `The image claims ${width}×${height} pixels, more than the ${limits.maxImagePixels} allowed (vision.maxImagePixels); ` +
        'send a smaller photo.',
      'image-too-large',
    );
  }

  // EXIF orientations 5–8 swap width and height.
  const upright = (meta.orientation ?? 1) >= 5 ? { w: height, h: width } : { w: width, h: height };
  const longer = Math.max(upright.w, upright.h);
  const scale = longer > limits.maxDecodeSidePx ? limits.maxDecodeSidePx / longer : 1;

  try {
    let pipeline = sharp(bytes, { failOn: 'truncated', limitInputPixels: limits.maxImagePixels })
      .rotate()
      .flatten({ background: '#ffffff' })
      .toColourspace('srgb');
    if (scale < 1) {
      pipeline = pipeline.resize(Math.round(upright.w * scale), Math.round(upright.h * scale), { fit: 'fill' });
    }
    const { data, info } = await pipeline.removeAlpha().raw().toBuffer({ resolveWithObject: true });
    return {
      data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
      width: info.width,
      height: info.height,
      scaleToOriginal: scale < 1 ? 1 / scale : 1,
    };
  } catch (err) {
    throw new ImageError(
      `The image could not be decoded (${(err as Error).message.split('\n', 1)[0]}); the file is probably truncated or damaged.`,
      'corrupt-image',
    );
  }
}
