import sharp from 'sharp';
import type { Box } from './visionTypes.js';

/** A frame shrunk to a small grey picture, what the scene gate compares frames on. */
export interface SceneThumbnail {
  grey: Uint8Array;
  width: number;
  height: number;
  /** Factor from thumbnail pixels back to the frame's pixels. */
  scaleToFrame: number;
}

export interface SceneChange {
  /** Share (0–1) of thumbnail pixels whose grey level moved by more than the level asked for. */
  changedShare: number;
  /** Where the changed pixels lie, in frame pixels; undefined when none changed. */
  region: Box | undefined;
}

/**
 * The grey thumbnail of an encoded frame, or undefined when the bytes are no image the gate can
 * read (the face engine then reports why). libjpeg decodes a JPEG straight at 1/8 of its size
 * when asked for a small picture, so this costs about a millisecond, not a full decode; the
 * area average of the shrink is what keeps sensor noise out of the comparison.
 */
export async function sceneThumbnail(bytes: Uint8Array, { widthPx, maxImagePixels }: { widthPx: number; maxImagePixels: number }): Promise<SceneThumbnail | undefined> {
  try {
    // Bigger frames are left to the face engine, which refuses them with a reason.
    const image = sharp(bytes, { failOn: 'truncated', limitInputPixels: maxImagePixels });
    const { width: frameWidth } = await image.metadata();
    if (!frameWidth) return undefined;
    const { data, info } = await image.resize({ width: widthPx, kernel: 'linear' }).greyscale().raw().toBuffer({ resolveWithObject: true });
    return { grey: new Uint8Array(data.buffer, data.byteOffset, info.width * info.height), width: info.width, height: info.height, scaleToFrame: frameWidth / info.width };
  } catch {
    return undefined;
  }
}

/** Pure: how much of `now` differs from `before` by more than `levels` grey levels, and where. */
export function sceneChange(before: SceneThumbnail, now: SceneThumbnail, levels: number): SceneChange {
  if (before.width !== now.width || before.height !== now.height) {
    // The camera changed resolution: everything is new.
    return { changedShare: 1, region: { x: 0, y: 0, width: now.width * now.scaleToFrame, height: now.height * now.scaleToFrame } };
  }
  let changed = 0;
  let minX = now.width;
  let minY = now.height;
  let maxX = -1;
  let maxY = -1;
  for (let y = 0; y < now.height; y++) {
    const row = y * now.width;
    for (let x = 0; x < now.width; x++) {
      const d = now.grey[row + x]! - before.grey[row + x]!;
      if (d > levels || d < -levels) {
        changed++;
        if (x < minX) minX = x;
        if (x > maxX) maxX = x;
        if (y < minY) minY = y;
        if (y > maxY) maxY = y;
      }
    }
  }
  const s = now.scaleToFrame;
  return {
    changedShare: changed / (now.width * now.height),
    region: changed === 0 ? undefined : { x: minX * s, y: minY * s, width: (maxX - minX + 1) * s, height: (maxY - minY + 1) * s },
  };
}
