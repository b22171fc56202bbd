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

/**
 * A customer standing at the counter: the same frame keeps coming, as from a camera, until
 * `leave()`; bounded so a stuck test cannot push forever. Tests wait on what the service
 * reports rather than on how fast this machine happens to be.
 */
export function standAtCounter(url: string, lane: string, token: string, frame: Uint8Array, { intervalMs = 250, maxFrames = 480 } = {}) {
  let standing = true;
  let pushed = 0;
  const done = (async () => {
    for (let i = 0; standing && i < maxFrames; i++) {
      await pushFrame(url, lane, token, frame);
      pushed++;
      await sleep(intervalMs);
    }
  })();
  return {
    /** Stops the frames; resolves with how many were pushed. */
    leave: async () => {
      standing = false;
      await done;
      return pushed;
    },
  };
}

/** Polls until `predicate` holds; fails naming what it waited for. */
export async function waitUntil(predicate: () => boolean | Promise<boolean>, what: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(200);
  }
}

/** One series of the service's /metrics, e.g. 'memberlens_unknown_faces_total{lane="lane1"}'; 0 when absent. */
export async function metricValue(url: string, adminToken: string, series: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`, { headers: bearer(adminToken) })).text();
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? 0 : Number(line.slice(series.length + 1));
}
