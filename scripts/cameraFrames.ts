import sharp from 'sharp';

export const FRAME_WIDTH_PX = 640;
export const FRAME_HEIGHT_PX = 480;
/** A member standing at the till fills about this much of a 640×480 camera frame. */
export const FRAME_FACE_PX = 200;
/** Typical of webcam MJPEG streams. */
const FRAME_JPEG_QUALITY = 80;

let background: Buffer | undefined;

/**
 * A gradient rather than flat grey, so the JPEG is not unrealistically small and the
 * detector sees some structure outside the face.
 */
export function cameraBackground(): Buffer {
  if (background) return background;
  background = Buffer.alloc(FRAME_WIDTH_PX * FRAME_HEIGHT_PX * 3);
  for (let y = 0; y < FRAME_HEIGHT_PX; y++) {
    for (let x = 0; x < FRAME_WIDTH_PX; x++) {
      const o = (y * FRAME_WIDTH_PX + x) * 3;
      background[o] = 60 + Math.round((x / FRAME_WIDTH_PX) * 120);
      background[o + 1] = 80 + Math.round((y / FRAME_HEIGHT_PX) * 100);
      background[o + 2] = 140 - Math.round(((x + y) / (FRAME_WIDTH_PX + FRAME_HEIGHT_PX)) * 80);
    }
  }
  return background;
}

/**
 * What a till camera sends: one face crop scaled to `facePx` at (left, top) of a 640×480
 * JPEG; with no crop, an empty lane.
 */
export async function cameraFrame(crop?: Uint8Array, place: { left?: number; top?: number; facePx?: number } = {}): Promise<Buffer> {
  const base = sharp(cameraBackground(), { raw: { width: FRAME_WIDTH_PX, height: FRAME_HEIGHT_PX, channels: 3 } });
  if (!crop) return base.jpeg({ quality: FRAME_JPEG_QUALITY }).toBuffer();
  const facePx = place.facePx ?? FRAME_FACE_PX;
  const face = await sharp(crop).resize(facePx, facePx).removeAlpha().toColourspace('srgb').toBuffer();
  return base
    .composite([{ input: face, left: place.left ?? (FRAME_WIDTH_PX - facePx) >> 1, top: place.top ?? (FRAME_HEIGHT_PX - facePx) >> 1 }])
    .jpeg({ quality: FRAME_JPEG_QUALITY })
    .toBuffer();
}
