import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { gaussian, seededRandom, syntheticFaces } from '../../scripts/benchSearch.js';
import { DESCRIPTOR_LENGTH } from '../../src/vision/faceDescriptor.js';
import { Gallery, type GallerySearch, type SearchKernel } from '../../src/matching/gallery.js';
import { compileDistanceWasm, DISTANCE_WASM_URL } from '../../src/matching/kernel/compileDistanceWasm.js';

const KERNELS: SearchKernel[] = ['simd-int8', 'js-float'];

interface Face {
  faceId: string;
  memberId: string;
  descriptor: Float32Array;
}

function randomDescriptor(random: () => number, sigma = 0.12): Float32Array {
  const descriptor = new Float32Array(DESCRIPTOR_LENGTH);
  for (let i = 0; i < DESCRIPTOR_LENGTH; i++) descriptor[i] = gaussian(random) * sigma;
  return descriptor;
}

/** Independent brute force: the nearest face, then the nearest face of another member. */
function referenceSearch(faces: Face[], query: Float32Array): GallerySearch {
  const squared = new Float64Array(faces.length);
  for (let f = 0; f < faces.length; f++) {
    const descriptor = faces[f]!.descriptor;
    let sum = 0;
    for (let i = 0; i < DESCRIPTOR_LENGTH; i++) {
      const difference = descriptor[i]! - query[i]!;
      sum += difference * difference;
    }
    squared[f] = sum;
  }
  const nearest = (excludedMember: string | undefined): number => {
    let found = -1;
    for (let f = 0; f < faces.length; f++) {
      if (faces[f]!.memberId === excludedMember) continue;
      const closer =
        found === -1 ||
        squared[f]! < squared[found]! ||
        (squared[f] === squared[found] && faces[f]!.faceId < faces[found]!.faceId);
      if (closer) found = f;
    }
    return found;
  };
  const hit = (f: number) => ({ memberId: faces[f]!.memberId, faceId: faces[f]!.faceId, distance: Math.sqrt(squared[f]!) });
  const best = nearest(undefined);
  if (best === -1) return {};
  const second = nearest(faces[best]!.memberId);
  return second === -1 ? { best: hit(best) } : { best: hit(best), secondBest: hit(second) };
}

async function galleryOf(faces: Face[], kernel: SearchKernel, initialCapacity = 1024): Promise<Gallery> {
  const gallery = await Gallery.create({ kernel, initialCapacity });
  for (const face of faces) gallery.add(face.faceId, face.memberId, face.descriptor);
  return gallery;
}

function expectSameAnswer(actual: GallerySearch, expected: GallerySearch, context: string): void {
  expect(actual.best?.faceId, `${context}: best face`).toBe(expected.best?.faceId);
  expect(actual.best?.memberId, `${context}: best member`).toBe(expected.best?.memberId);
  expect(actual.secondBest?.faceId, `${context}: second face`).toBe(expected.secondBest?.faceId);
  expect(actual.secondBest?.memberId, `${context}: second member`).toBe(expected.secondBest?.memberId);
  if (expected.best !== undefined) expect(Math.abs(actual.best!.distance - expected.best.distance)).toBeLessThanOrEqual(1e-5);
  if (expected.secondBest !== undefined) {
    expect(Math.abs(actual.secondBest!.distance - expected.secondBest.distance)).toBeLessThanOrEqual(1e-5);
  }
}

function containsSequence(haystack: Uint8Array, needle: Uint8Array): boolean {
  outer: for (let start = haystack.indexOf(needle[0]!); start !== -1; start = haystack.indexOf(needle[0]!, start + 1)) {
    if (start + needle.length > haystack.length) return false;
    for (let i = 1; i < needle.length; i++) if (haystack[start + i] !== needle[i]) continue outer;
    return true;
  }
  return false;
}

/** The gallery's int8 coding of a descriptor: one step per vector, max |value| maps to 127. */
function int8CodesOf(descriptor: Float32Array): Uint8Array {
  const step = Math.fround(Math.max(...descriptor.map(Math.abs)) / 127);
  return new Uint8Array(Int8Array.from(descriptor, (value) => Math.round(value / step)).buffer);
}

function bytesOf(array: Float32Array): Uint8Array {
  return new Uint8Array(array.buffer, array.byteOffset, array.byteLength);
}

describe('Gallery kernel selection', () => {
  it('uses the WebAssembly SIMD kernel on this runtime', async () => {
    const gallery = await Gallery.create();
    expect(gallery.kernel).toBe('simd-int8');
    expect(gallery.kernelFallbackReason).toBeUndefined();
  });

  it('uses plain JS when asked', async () => {
    expect((await Gallery.create({ kernel: 'js-float' })).kernel).toBe('js-float');
  });

  it('ships a kernel binary that matches a fresh build of its source', async () => {
    const committed = new Uint8Array(await readFile(DISTANCE_WASM_URL));
    expect(Buffer.from(committed).equals(Buffer.from(await compileDistanceWasm()))).toBe(true);
  });
});

describe.each(KERNELS)('Gallery bookkeeping (%s)', (kernel) => {
  it('adds, removes single faces and whole members', async () => {
    const random = seededRandom(1);
    const gallery = await Gallery.create({ kernel });
    gallery.add('f1', 'alice', randomDescriptor(random));
    gallery.add('f2', 'alice', randomDescriptor(random));
    gallery.add('f3', 'bob', randomDescriptor(random));
    const carolFace = randomDescriptor(random);
    gallery.add('f4', 'carol', carolFace);
    expect(gallery.size).toBe(4);
    expect(gallery.memberCount).toBe(3);
    expect(gallery.has('f3')).toBe(true);

    expect(gallery.remove('f3')).toBe(true);
    expect(gallery.remove('f3')).toBe(false);
    expect(gallery.has('f3')).toBe(false);
    expect(gallery.memberCount).toBe(2);

    expect(gallery.removeMember('alice')).toBe(2);
    expect(gallery.removeMember('alice')).toBe(0);
    expect(gallery.size).toBe(1);
    expect(gallery.memberCount).toBe(1);
    // carol's face was moved into a freed slot and must still be found, at distance 0
    expect(gallery.search(carolFace)).toEqual({ best: { memberId: 'carol', faceId: 'f4', distance: 0 } });

    gallery.remove('f4');
    expect(gallery.size).toBe(0);
    expect(gallery.memberCount).toBe(0);
    expect(gallery.search(carolFace)).toEqual({});
  });

  it('grows past its initial capacity and keeps every face findable', async () => {
    const random = seededRandom(2);
    const faces: Face[] = Array.from({ length: 300 }, (_, i) => ({
      faceId: `face-${i}`,
      memberId: `member-${i % 97}`,
      descriptor: randomDescriptor(random),
    }));
    const gallery = await galleryOf(faces, kernel, 2);
    expect(gallery.size).toBe(300);
    expect(gallery.memberCount).toBe(97);
    for (const face of faces) {
      expect(gallery.search(face.descriptor).best).toEqual({ memberId: face.memberId, faceId: face.faceId, distance: 0 });
    }
    // removal after growth still swaps the right faces
    for (const face of faces.slice(0, 150)) gallery.remove(face.faceId);
    for (const face of faces.slice(150)) expect(gallery.search(face.descriptor).best?.faceId).toBe(face.faceId);
  });

  it('rejects descriptors that are not 128 finite float32 numbers, and duplicate faces', async () => {
    const gallery = await Gallery.create({ kernel });
    const good = randomDescriptor(seededRandom(3));
    expect(() => gallery.add('a', 'm', new Float32Array(127))).toThrow(/127 numbers; a face descriptor has 128/);
    expect(() => gallery.add('a', 'm', new Float32Array(129))).toThrow(/129 numbers/);
    const withNaN = good.slice();
    withNaN[5] = Number.NaN;
    expect(() => gallery.add('a', 'm', withNaN)).toThrow(/non-finite value \(NaN\) at index 5/);
    const withInfinity = good.slice();
    withInfinity[127] = Number.POSITIVE_INFINITY;
    expect(() => gallery.add('a', 'm', withInfinity)).toThrow(/non-finite value \(Infinity\) at index 127/);
    expect(() => gallery.add('a', 'm', Array.from(good) as unknown as Float32Array)).toThrow(/must be a Float32Array/);
    expect(() => gallery.add('', 'm', good)).toThrow(/faceId/);
    expect(() => gallery.add('a', '', good)).toThrow(/memberId/);
    expect(gallery.size).toBe(0);

    gallery.add('a', 'm', good);
    expect(() => gallery.add('a', 'other', good)).toThrow(/already in the gallery/);
    expect(() => gallery.search(withNaN)).toThrow(/search query holds a non-finite value/);
    expect(() => gallery.search(new Float32Array(64))).toThrow(/search query has 64 numbers/);
    expect(gallery.size).toBe(1);
  });

  it('answers a single-member gallery without a second best', async () => {
    const random = seededRandom(4);
    const faces: Face[] = Array.from({ length: 40 }, (_, i) => ({
      faceId: `face-${i}`,
      memberId: 'only',
      descriptor: randomDescriptor(random),
    }));
    const gallery = await galleryOf(faces, kernel);
    for (let q = 0; q < 10; q++) {
      const query = randomDescriptor(random);
      const answer = gallery.search(query);
      expectSameAnswer(answer, referenceSearch(faces, query), `query ${q}`);
      expect(answer.secondBest).toBeUndefined();
    }
  });
});

describe('Gallery privacy: removed faces leave no bytes behind', () => {
  it.each(KERNELS)('storage after removal equals storage that never held the face (%s)', async (kernel) => {
    const random = seededRandom(5);
    const faces: Face[] = Array.from({ length: 20 }, (_, i) => ({
      faceId: `face-${i}`,
      memberId: `member-${i % 7}`,
      descriptor: randomDescriptor(random),
    }));
    const removedIds = new Set(['face-3', 'face-19', 'face-0', 'face-10', 'face-17']);
    const removedMember = 'member-2'; // faces 2, 9, 16
    const kept = faces.filter((face) => !removedIds.has(face.faceId) && face.memberId !== removedMember);

    // Capacity 4 forces growth, so the moved metadata regions are covered too.
    const used = await galleryOf(faces, kernel, 4);
    for (const faceId of removedIds) expect(used.remove(faceId)).toBe(true);
    expect(used.removeMember(removedMember)).toBe(3);

    // A gallery that only ever saw the kept faces, added in the slot order the swaps left.
    const usedStorage = used.inspectStorage();
    const slotOf = (face: Face): number => {
      const floats = usedStorage.float32Descriptors;
      for (let slot = 0; slot < kept.length; slot++) {
        const stored = floats.subarray(slot * DESCRIPTOR_LENGTH, (slot + 1) * DESCRIPTOR_LENGTH);
        if (stored.every((value, i) => value === face.descriptor[i])) return slot;
      }
      throw new Error(`${face.faceId} is not stored`);
    };
    const fresh = await Gallery.create({ kernel, initialCapacity: 32 });
    for (const face of [...kept].sort((a, b) => slotOf(a) - slotOf(b))) fresh.add(face.faceId, face.memberId, face.descriptor);

    const freshStorage = fresh.inspectStorage();
    expect(usedStorage.float32Descriptors.length).toBe(freshStorage.float32Descriptors.length);
    expect(bytesOf(usedStorage.float32Descriptors)).toEqual(bytesOf(freshStorage.float32Descriptors));
    const floatBytes = bytesOf(usedStorage.float32Descriptors);
    for (const face of faces) {
      expect(containsSequence(floatBytes, bytesOf(face.descriptor)), face.faceId).toBe(kept.includes(face));
    }
    if (kernel === 'simd-int8') {
      // Kept faces must be found (so the replica of the int8 coding is right), removed ones not.
      const memory = usedStorage.quantizedMemory!;
      for (const face of faces) expect(containsSequence(memory, int8CodesOf(face.descriptor)), face.faceId).toBe(kept.includes(face));
    } else {
      expect(usedStorage.quantizedMemory).toBeUndefined();
    }
  });

  it('zeroes everything once every face is gone, searches included', async () => {
    const random = seededRandom(6);
    const gallery = await Gallery.create({ kernel: 'simd-int8', initialCapacity: 8 });
    for (let i = 0; i < 50; i++) gallery.add(`face-${i}`, `member-${i % 5}`, randomDescriptor(random));
    for (let m = 0; m < 5; m++) gallery.removeMember(`member-${m}`);
    const storage = gallery.inspectStorage();
    expect(storage.float32Descriptors.every((v) => v === 0)).toBe(true);
    expect(storage.quantizedMemory!.every((v) => v === 0)).toBe(true);
    // A query (maybe a stranger's) must not stay in the kernel memory after a search.
    gallery.add('face-x', 'member-x', randomDescriptor(random));
    const strangerQuery = randomDescriptor(random);
    gallery.search(strangerQuery);
    gallery.remove('face-x');
    expect(gallery.inspectStorage().quantizedMemory!.every((v) => v === 0)).toBe(true);
  });
});

describe('Gallery search equals exact float search', () => {
  const random = seededRandom(7);

  /** Uniform random vectors: distances concentrate, so the bound is tested under pressure. */
  const randomFaces: Face[] = Array.from({ length: 20_000 }, (_, i) => {
    const descriptor = new Float32Array(DESCRIPTOR_LENGTH);
    for (let d = 0; d < DESCRIPTOR_LENGTH; d++) descriptor[d] = random() - 0.5;
    return { faceId: `r-${i}`, memberId: `rm-${i % 4_000}`, descriptor };
  });

  /** Clustered like face-api output: ~5 photos per person around person centres. */
  const synthetic = syntheticFaces(20_000, 8);
  const clusteredFaces: Face[] = Array.from({ length: 20_000 }, (_, f) => ({
    faceId: synthetic.faceIdOf(f),
    memberId: synthetic.memberIdOf(f),
    descriptor: synthetic.descriptors.slice(f * DESCRIPTOR_LENGTH, (f + 1) * DESCRIPTOR_LENGTH),
  }));

  /** Exact duplicates under other members and faceIds: ties resolved the same way everywhere. */
  const duplicates: Face[] = clusteredFaces.slice(0, 30).map((face, i) => ({
    faceId: `dup-${i}`,
    memberId: `dup-member-${i}`,
    descriptor: face.descriptor.slice(),
  }));

  function nearTieQueries(faces: Face[], count: number): Float32Array[] {
    const queries: Float32Array[] = [];
    for (let q = 0; q < count; q++) {
      const a = faces[Math.floor(random() * faces.length)]!;
      let b = faces[Math.floor(random() * faces.length)]!;
      while (b.memberId === a.memberId) b = faces[Math.floor(random() * faces.length)]!;
      // The midpoint of two members' faces, nudged by float32 ulps: best and second best
      // differ by far less than the int8 error, so only the exact re-rank can order them.
      const query = new Float32Array(DESCRIPTOR_LENGTH);
      for (let i = 0; i < DESCRIPTOR_LENGTH; i++) query[i] = (a.descriptor[i]! + b.descriptor[i]!) / 2 + (random() - 0.5) * 1e-7;
      queries.push(query);
    }
    return queries;
  }

  const scenarios: { name: string; faces: Face[]; queries: () => Float32Array[] }[] = [
    {
      name: 'uniform random vectors',
      faces: randomFaces,
      queries: () => [
        ...Array.from({ length: 40 }, () => Float32Array.from({ length: DESCRIPTOR_LENGTH }, () => random() - 0.5)),
        ...nearTieQueries(randomFaces, 30),
      ],
    },
    {
      name: 'clustered face-like vectors with exact duplicates',
      faces: [...clusteredFaces, ...duplicates],
      queries: () => [
        ...Array.from({ length: 40 }, () => synthetic.queryFor(Math.floor(random() * synthetic.members))),
        ...Array.from({ length: 20 }, () => synthetic.queryFor(undefined)),
        ...nearTieQueries(clusteredFaces, 30),
        ...duplicates.slice(0, 10).map((face) => face.descriptor),
        ...Array.from({ length: 10 }, () => randomDescriptor(random, 0.3)),
      ],
    },
  ];

  it.each(scenarios)('$name: SIMD and JS paths give the reference answer', async ({ faces, queries }) => {
    const simd = await galleryOf(faces, 'simd-int8');
    const js = await galleryOf(faces, 'js-float');
    const list = queries();
    expect(list.length).toBeGreaterThanOrEqual(70);
    for (const [q, query] of list.entries()) {
      const expected = referenceSearch(faces, query);
      const fromSimd = simd.search(query);
      expectSameAnswer(fromSimd, expected, `simd query ${q}`);
      expect(js.search(query), `js query ${q}`).toEqual(fromSimd);
    }
  });

  it('stays exact after many removals and re-additions', async () => {
    const faces = clusteredFaces.slice(0, 5_000);
    const simd = await galleryOf(faces, 'simd-int8', 16);
    let live = [...faces];
    for (let round = 0; round < 3; round++) {
      const removed = live.filter(() => random() < 0.3);
      for (const face of removed) simd.remove(face.faceId);
      live = live.filter((face) => !removed.includes(face));
      for (const face of removed.slice(0, removed.length / 2)) {
        simd.add(face.faceId, face.memberId, face.descriptor);
        live.push(face);
      }
      for (let q = 0; q < 15; q++) {
        const query = synthetic.queryFor(Math.floor(random() * 1_000));
        expectSameAnswer(simd.search(query), referenceSearch(live, query), `round ${round} query ${q}`);
      }
    }
    expect(simd.size).toBe(live.length);
  });
});

describe('Gallery search bound', () => {
  it('copes with descriptors far outside the face-api range', async () => {
    const random = seededRandom(9);
    const faces: Face[] = Array.from({ length: 2_000 }, (_, i) => {
      const descriptor = randomDescriptor(random, i % 2 === 0 ? 10 : 1e-4);
      if (i % 5 === 0) descriptor.fill(0);
      if (i % 7 === 0) descriptor[i % DESCRIPTOR_LENGTH] = 1e6;
      return { faceId: `x-${i}`, memberId: `xm-${i % 300}`, descriptor };
    });
    const simd = await galleryOf(faces, 'simd-int8');
    const queries = [new Float32Array(DESCRIPTOR_LENGTH), ...Array.from({ length: 20 }, () => randomDescriptor(random, 3))];
    for (const [q, query] of queries.entries()) expectSameAnswer(simd.search(query), referenceSearch(faces, query), `query ${q}`);
  });
});
