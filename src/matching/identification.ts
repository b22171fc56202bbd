import type { Box } from '../vision/visionTypes.js';
import type { FaceQuality } from '../vision/faceQuality.js';
import type { FaceAnalyzer } from '../vision/faceAnalyzer.js';
import type { Gallery } from './gallery.js';
import { decideMatch, type MatchDecision, type MatchPolicy } from './matcher.js';

export type IdentifiedFace = {
  box: Box;
  score: number;
  quality: FaceQuality;
  decision: MatchDecision | { kind: 'unknown'; reason: 'low-quality' | 'duplicate-in-image'; distance?: number; margin?: number };
};

/**
 * Who is in a still photo. Faces below the live quality gate are not matched at all, and
 * since one person appears at most once in one image, two faces that pick the same member
 * leave only the closer one named.
 */
export class Identification {
  constructor(
    private readonly deps: { analyzer: FaceAnalyzer; gallery: Gallery; policy: MatchPolicy; stillDetector: 'ssd' | 'tiny' },
  ) {}

  async identify(bytes: Uint8Array): Promise<IdentifiedFace[]> {
    const { faces } = await this.deps.analyzer.analyzeBytes(bytes, 'live', {
      describe: 'passing',
      detector: this.deps.stillDetector,
    });
    const identified: IdentifiedFace[] = faces.map((face) => ({
      box: face.box,
      score: face.score,
      quality: face.quality,
      decision: face.descriptor
        ? decideMatch(this.deps.gallery.search(face.descriptor), this.deps.policy, face.box.width)
        : { kind: 'unknown', reason: 'low-quality' },
    }));
    return keepOneFacePerMember(identified);
  }
}

export function keepOneFacePerMember(faces: IdentifiedFace[]): IdentifiedFace[] {
  const closestIndex = new Map<string, number>();
  faces.forEach((face, i) => {
    const d = face.decision;
    if (d.kind !== 'member') return;
    const prev = closestIndex.get(d.memberId);
    const prevDecision = prev === undefined ? undefined : faces[prev]!.decision;
    if (prevDecision === undefined || (prevDecision.kind === 'member' && d.distance < prevDecision.distance)) {
      closestIndex.set(d.memberId, i);
    }
  });
  return faces.map((face, i) => {
    const d = face.decision;
    if (d.kind === 'member' && closestIndex.get(d.memberId) !== i) {
      return { ...face, decision: { kind: 'unknown', reason: 'duplicate-in-image', distance: d.distance, margin: d.margin } };
    }
    return face;
  });
}
