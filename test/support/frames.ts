import { readFileSync } from 'node:fs';
import path from 'node:path';
import { cameraFrame } from '../../scripts/cameraFrames.js';
import { bearer } from './testApp.js';

const FACES = path.resolve('test/fixtures/faces');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A face crop from test/fixtures/faces, e.g. 'amy/amy1.png'. */
export const faceCrop = (file: string) => readFileSync(path.join(FACES, file));

/** A camera frame with that face standing at the till (220 px), or with no crop an empty lane. */
export const faceFrame = (file?: string) => (file ? cameraFrame(faceCrop(file), { facePx: 220 }) : cameraFrame());

/** POSTs one JPEG frame to a lane with a device token, as a pushing camera would. */
export const pushFrame = (url: string, lane: string, token: string, frame: Uint8Array) =>
  fetch(`${url}/api/lanes/${lane}/frames`, { method: 'POST', headers: { ...bearer(token), 'content-type': 'image/jpeg' }, body: frame });

/** Pushes the same frame `count` times, waiting `intervalMs` after each; `each` sees every answer. */
export async function pushFrames(
  url: string,
  lane: string,
  token: string,
  frame: Uint8Array,
  { count, intervalMs, each }: { count: number; intervalMs: number; each?: (res: Response) => void },
): Promise<void> {
  for (let i = 0; i < count; i++) {
    const res = await pushFrame(url, lane, token, frame);
    each?.(res);
    await sleep(intervalMs);
  }
}
