import { describe, expect, it } from 'vitest';
import type { FaceRecord, GalleryFace } from '../../src/ledger/index.js';
import { coverageOf, FaceCoverageService } from '../../src/services/faceCoverage.js';

/** A unit-length 128-d descriptor pointing mostly along `axis`, tilted towards axis+1 by `tilt`. */
function descriptor(axis: number, tilt = 0): Float32Array {
  const d = new Float32Array(128);
  d[axis] = Math.cos(tilt);
  d[axis + 1] = Math.sin(tilt);
  return d;
}

describe('face coverage', () => {
  it('warns about no face, one face, and faces that are in effect one photo', () => {
    expect(coverageOf([], 0.15)).toMatchObject({ faces: 0, warning: 'no-face' });
    expect(coverageOf([descriptor(0)], 0.15)).toEqual({
      faces: 1,
      warning: 'single-face',
      message: 'one photo: add one or two more from another day or angle so the member is named reliably',
    });
    // The same photo twice, and a third nearly the same: every pair closer than 0.15.
    expect(coverageOf([descriptor(0), descriptor(0), descriptor(0, 0.1)], 0.15)).toMatchObject({ faces: 3, warning: 'faces-too-alike' });
    expect(coverageOf([descriptor(0), descriptor(0, 0.1)], 0.15).message).toMatch(/another day or angle/);
  });

  it('is content once any two faces differ by the setting or more', () => {
    expect(coverageOf([descriptor(0), descriptor(0, 0.3)], 0.15)).toEqual({ faces: 2, warning: null, message: null });
    // Two copies of one photo and one real second view: the member has two views.
    expect(coverageOf([descriptor(0), descriptor(0), descriptor(0, 0.3)], 0.15).warning).toBeNull();
    expect(coverageOf([descriptor(0), descriptor(0, 0.3)], 0.4).warning).toBe('faces-too-alike');
  });

  it('reads each face of the member once and zeroes every decrypted descriptor', () => {
    const stored: Record<string, Float32Array> = { f1: descriptor(0), f2: descriptor(0, 0.05), f3: descriptor(4) };
    const handedOut: Float32Array[] = [];
    const faces = {
      listForMember: (memberId: string) =>
        (memberId === 'm1' ? ['f1', 'f2', 'gone'] : ['f3']).map((id) => ({ id, memberId }) as FaceRecord),
      load: (faceId: string): GalleryFace | undefined => {
        const d = stored[faceId];
        if (!d) return undefined; // deleted since the list was read
        const copy = d.slice();
        handedOut.push(copy);
        return { faceId, memberId: 'm1', descriptor: copy };
      },
    };
    const service = new FaceCoverageService({ faces, facesTooAlikeDistance: 0.15 });
    expect(service.faceCoverage('m1')).toMatchObject({ faces: 2, warning: 'faces-too-alike' });
    expect(service.faceCoverage('m2')).toMatchObject({ faces: 1, warning: 'single-face' });
    expect(handedOut).toHaveLength(3);
    for (const d of handedOut) expect(d.every((v) => v === 0)).toBe(true);
  });
});
