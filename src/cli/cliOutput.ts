import type { IdentifiedFace } from '../matching/identification.js';
import type { FaceObservation } from '../vision/faceEngine.js';

/** One JSON document per line on stdout, so that other programs can stream the results. */
export function jsonLine(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, (_key, v: unknown) => (v === Infinity ? null : v))}\n`);
}

/** The public `embed` contract: {file, faces: [{box, score, quality, descriptor}]}, largest face first. */
export function toEmbedRecord(file: string, faces: FaceObservation[]) {
  return {
    file,
    faces: faces.map((face) => ({
      box: face.box,
      score: face.score,
      quality: face.quality,
      descriptor: face.descriptor ? Array.from(face.descriptor) : null,
    })),
  };
}

export function toIdentifyRecord(file: string, faces: IdentifiedFace[], nameOf: (memberId: string) => string | undefined) {
  return {
    file,
    faces: faces.map(({ box, score, quality, decision }) => ({
      box,
      score,
      quality: { passed: quality.passed, reasons: quality.reasons },
      match:
        decision.kind === 'member'
          ? { kind: 'member', memberId: decision.memberId, name: nameOf(decision.memberId) ?? null, distance: round4(decision.distance), margin: round4(decision.margin) }
          : { kind: 'unknown', reason: decision.reason, distance: round4(decision.distance), margin: round4(decision.margin) },
    })),
  };
}

function round4(v: number | undefined): number | undefined {
  return v === undefined || !Number.isFinite(v) ? v : Math.round(v * 10_000) / 10_000;
}
