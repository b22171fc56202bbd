import { mkdirSync, readFileSync, rmSync, writeFileSync, copyFileSync } from 'node:fs';
import path from 'node:path';
import { cameraFrame } from './cameraFrames.js';

/**
 * Regenerates demo/: the members the demo lane knows (enrolled on a first start with an
 * empty database) and the frames its replay camera plays — members walking up one after
 * another with empty lane between them, and a stranger who must stay unknown.
 */
const FACES = 'test/fixtures/faces';
const MEMBERS = { Amy: 'amy/amy1.png', Raj: 'raj/raj1.png', Penny: 'penny/penny1.png' };
const VISITS = [
  { crop: 'amy/amy2.png', frames: 6 },
  { crop: undefined, frames: 4 },
  { crop: 'raj/raj4.png', frames: 6 },
  { crop: undefined, frames: 4 },
  { crop: 'stuart/stuart1.png', frames: 6 },
  { crop: undefined, frames: 4 },
  { crop: 'penny/penny1.png', frames: 6 },
  { crop: undefined, frames: 4 },
];

rmSync('demo', { recursive: true, force: true });
mkdirSync('demo/members', { recursive: true });
mkdirSync('demo/frames', { recursive: true });
for (const [name, file] of Object.entries(MEMBERS)) copyFileSync(path.join(FACES, file), `demo/members/${name}.png`);
let n = 0;
for (const visit of VISITS) {
  const crop = visit.crop ? readFileSync(path.join(FACES, visit.crop)) : undefined;
  for (let i = 0; i < visit.frames; i++) {
    // A small drift from frame to frame, as a person standing at the counter moves.
    const frame = await cameraFrame(crop, { left: 200 + i * 4, top: 120 + (i % 2) * 3, facePx: 220 });
    writeFileSync(`demo/frames/${String(++n).padStart(3, '0')}.jpg`, frame);
  }
}
writeFileSync(
  'demo/README.md',
  '# demo\n\nMade by `npx tsx scripts/makeDemo.ts` from `test/fixtures/faces` (face-api.js example images, MIT).\n\n' +
    '- `members/`: enrolled as demo members (file name = member name) on a first start with an empty database.\n' +
    '- `frames/`: 640×480 camera frames the default demo lane replays at 2 fps: Amy, Raj, a stranger (Stuart, not enrolled), Penny, with empty lane between.\n',
);
console.log(`wrote ${n} frames`);
