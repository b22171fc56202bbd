import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { IMPOSTOR_TAIL_LEVELS, type Calibration } from './operatingPoint.js';

/** Written by `npm run calibrate -- --write`, shipped with the package beside the model manifest. */
export const CALIBRATION_FILE = fileURLToPath(new URL('../../models/match-calibration.json', import.meta.url));

const distances = z.object({ pairs: z.number().int().min(0), min: z.number(), max: z.number() });
const calibrationSchema = z.object({
  source: z.object({ command: z.string(), sets: z.array(z.string()), conditions: z.array(z.string()), generatedAt: z.string() }),
  buckets: z
    .array(
      z.object({
        facePxMin: z.number().min(0),
        facePxMax: z.number().positive(),
        genuine: distances.extend({ quantiles: z.array(z.number()).min(2) }),
        impostor: distances.extend({ tail: z.array(z.number()).length(IMPOSTOR_TAIL_LEVELS.length) }),
      }),
    )
    .min(1),
});

/** The measured distances the match thresholds come from; a broken file stops the start with what to do. */
export function loadMatchCalibration(file: string = CALIBRATION_FILE): Calibration {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new Error(`cannot read the match calibration ${file} (${(err as Error).message}); reinstall the package or run npm run calibrate -- --write`);
  }
  const parsed = calibrationSchema.safeParse(raw);
  if (!parsed.success) throw new Error(`the match calibration ${file} is malformed (${parsed.error.issues[0]?.message}); run npm run calibrate -- --write`);
  return parsed.data;
}
