import sharp from 'sharp';
import { cameraBackground, FRAME_HEIGHT_PX, FRAME_WIDTH_PX } from '../cameraFrames.js';

/** How a till camera degrades a face, beyond its size. */
export type CameraCondition = 'colour' | 'grey-noisy' | 'dim';
export const CAMERA_CONDITIONS: readonly CameraCondition[] = ['colour', 'grey-noisy', 'dim'];

/** Sensor noise of a cheap webcam in a shop, as the standard deviation of 8-bit pixel values. */
const NOISE_SD = { colour: 2, 'grey-noisy': 6, dim: 5 } as const;
/** Backlit or evening counters: the face at about half its brightness. */
const DIM_GAIN = 0.55;
/** Focus and motion blur of a fixed-focus webcam. */
const GREY_BLUR_SIGMA = 0.7;
const JPEG_QUALITY = { colour: 80, 'grey-noisy': 70, dim: 75 } as const;

/** A deterministic Gaussian source, so a calibration run can be repeated exactly. */
export function gaussian(seed: number): () => number {
  let s = seed >>> 0 || 1;
  const uniform = () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return ((s >>> 0) + 0.5) / 4294967296;
  };
  return () => Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform());
}

/**
 * A 640×480 camera frame with the face crop scaled to `cropPx` in the middle, degraded as the
 * condition says: the picture the live pipeline analyzes at the till.
 */
export async function tillCameraFrame(crop: Uint8Array, cropPx: number, condition: CameraCondition, seed: number): Promise<Buffer> {
  let face = sharp(crop).resize(cropPx, cropPx).removeAlpha().toColourspace('srgb');
  if (condition === 'grey-noisy') face = face.greyscale().toColourspace('srgb').blur(GREY_BLUR_SIGMA);
  if (condition === 'dim') face = face.linear(DIM_GAIN, 0);
  const faceBytes = await face.toBuffer();
  const raw = await sharp(cameraBackground(), { raw: { width: FRAME_WIDTH_PX, height: FRAME_HEIGHT_PX, channels: 3 } })
    .composite([{ input: faceBytes, left: (FRAME_WIDTH_PX - cropPx) >> 1, top: (FRAME_HEIGHT_PX - cropPx) >> 1 }])
    .removeAlpha()
    .raw()
    .toBuffer();
  addSensorNoise(raw, NOISE_SD[condition], seed, condition === 'grey-noisy');
  return sharp(raw, { raw: { width: FRAME_WIDTH_PX, height: FRAME_HEIGHT_PX, channels: 3 } })
    .jpeg({ quality: JPEG_QUALITY[condition] })
    .toBuffer();
}

/** Gaussian noise of standard deviation `sd` on every pixel of raw RGB, in place; `grey` puts the same noise on all three channels. */
export function addSensorNoise(raw: Buffer, sd: number, seed: number, grey = false): void {
  const noise = gaussian(seed);
  for (let i = 0; i < raw.length; i += 3) {
    const n0 = noise() * sd;
    for (let c = 0; c < 3; c++) {
      const v = raw[i + c]! + (grey ? n0 : noise() * sd);
      raw[i + c] = v < 0 ? 0 : v > 255 ? 255 : Math.round(v);
    }
  }
}

/** Sensor noise of the live frames the lane bench and the scene gate's tests make: a webcam in a lit shop. */
export const LIVE_NOISE_SD = 3;

/**
 * A live camera frame as the till camera sends it at 5 fps: the face crop (none = the empty
 * counter) at `place`, and sensor noise of its own (`seed`), so no two frames are equal even
 * when nobody moves.
 */
export async function noisyCameraFrame(crop: Uint8Array | undefined, place: { left: number; top: number; facePx: number }, seed: number): Promise<Buffer> {
  let base = sharp(cameraBackground(), { raw: { width: FRAME_WIDTH_PX, height: FRAME_HEIGHT_PX, channels: 3 } });
  if (crop) {
    const face = await sharp(crop).resize(place.facePx, place.facePx).removeAlpha().toColourspace('srgb').toBuffer();
    base = base.composite([{ input: face, left: Math.round(place.left), top: Math.round(place.top) }]);
  }
  const raw = await base.removeAlpha().raw().toBuffer();
  addSensorNoise(raw, LIVE_NOISE_SD, seed);
  return sharp(raw, { raw: { width: FRAME_WIDTH_PX, height: FRAME_HEIGHT_PX, channels: 3 } }).jpeg({ quality: 80 }).toBuffer();
}
