/**
 * One-off: turns the Face Research Lab London Set (DeBruine & Jones 2017, CC BY 4.0; 1350 px
 * studio photos) into the small face crops the calibration and its tests use, in
 * test/fixtures/calibration/london/<face_id>/<view>.jpg. The enrollment detector finds the face;
 * the crop is a square 1.6× the face box around its centre, 160 px, so `cameraFrame` can place
 * it at any size a till camera sees.
 *
 *   npx tsx scripts/prepareCalibrationFaces.ts DIR_OF_LONDON_SET
 *
 * DIR holds one folder per face_id with files like 001_03_neutral_front.jpg.
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { settingsSchema } from '../src/config/settingsSchema.js';
import { createLogger } from '../src/core/logger.js';
import { FaceEngine } from '../src/vision/faceEngine.js';

const CROP_SIDE_PX = 160;
const CROP_OVER_BOX = 1.6;
const VIEW = /_(\d\d)_(neutral|smiling)_(front|left_3quarter|right_3quarter)\.jpg$/;

const [source] = process.argv.slice(2);
if (!source) throw new Error('usage: npx tsx scripts/prepareCalibrationFaces.ts DIR_OF_LONDON_SET');
const out = path.resolve('test/fixtures/calibration/london');
const settings = settingsSchema.parse({ logLevel: 'warn' });
const engine = await FaceEngine.create(settings.vision, createLogger('warn'));
let written = 0;
let skipped = 0;
for (const person of readdirSync(source).filter((d) => /^\d+$/.test(d)).sort()) {
  for (const file of readdirSync(path.join(source, person)).sort()) {
    const view = VIEW.exec(file);
    if (!view) continue;
    const bytes = readFileSync(path.join(source, person, file));
    const { faces } = await engine.analyzeBytes(bytes, 'enroll', { describe: 'passing' });
    const face = faces[0];
    if (!face) {
      skipped++;
      continue;
    }
    const meta = await sharp(bytes).metadata();
    const side = Math.round(Math.max(face.box.width, face.box.height) * CROP_OVER_BOX);
    const cx = face.box.x + face.box.width / 2;
    const cy = face.box.y + face.box.height / 2;
    const left = Math.max(0, Math.min(meta.width! - side, Math.round(cx - side / 2)));
    const top = Math.max(0, Math.min(meta.height! - side, Math.round(cy - side / 2)));
    const crop = await sharp(bytes).extract({ left, top, width: side, height: side }).resize(CROP_SIDE_PX, CROP_SIDE_PX).jpeg({ quality: 90 }).toBuffer();
    mkdirSync(path.join(out, person), { recursive: true });
    writeFileSync(path.join(out, person, `${view[2]}_${view[3]}.jpg`), crop);
    written++;
  }
}
console.log(JSON.stringify({ written, skipped, out }));
process.exit(0);
