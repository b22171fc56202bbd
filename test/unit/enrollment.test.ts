import { describe, expect, it, vi } from 'vitest';
import { ImageError, UserError } from '../../src/core/errors.js';
import { Enrollment, type EnrollmentImage } from '../../src/matching/enrollment.js';
import type { GallerySearch } from '../../src/matching/gallery.js';
import type { MatchPolicy } from '../../src/matching/matcher.js';
import type { Analysis, AnalyzeOptions, FaceObservation, Purpose } from '../../src/vision/faceEngine.js';
import type { FaceAnalyzer } from '../../src/vision/faceAnalyzer.js';
import type { FaceQuality, QualityReason } from '../../src/vision/faceQuality.js';
import type { Box } from '../../src/vision/visionTypes.js';

const POLICY: MatchPolicy = { thresholdFor: () => 0.5, matchMarginMin: 0.05 };
const TIMINGS = { decode: 1, detect: 2, landmarks: 3, descriptor: 4 };

/** A descriptor whose first number names it, so the fake gallery can answer per face. */
function descriptor(key: number): Float32Array {
  const d = new Float32Array(128).fill(0.01);
  d[0] = key;
  return d;
}

function quality(reasons: QualityReason[] = []): FaceQuality {
  return { sizePx: 160, detectionScore: 0.97, yawDeg: 4, rollDeg: -2, sharpness: 310, brightness: 128, gate: 'enroll', passed: reasons.length === 0, reasons };
}

function face(box: Box, o: { reasons?: QualityReason[]; descriptor?: Float32Array | null; score?: number } = {}): FaceObservation {
  const observation: FaceObservation = {
    box,
    score: o.score ?? 0.97,
    landmarks: [{ x: box.x, y: box.y }],
    quality: quality(o.reasons),
  };
  if (o.descriptor !== null) observation.descriptor = o.descriptor ?? descriptor(1);
  return observation;
}

const BIG: Box = { x: 100, y: 100, width: 200, height: 200 };
const box = (width: number, height: number): Box => ({ x: 400, y: 100, width, height });

/** Answers per image: the image's first byte picks what the analyzer "sees". */
class FakeAnalyzer implements FaceAnalyzer {
  readonly calls: { purpose: Purpose; options: AnalyzeOptions | undefined }[] = [];
  constructor(private readonly answers: Map<number, FaceObservation[] | Error>) {}
  async analyzeBytes(bytes: Uint8Array, purpose: Purpose, options?: AnalyzeOptions): Promise<Analysis> {
    this.calls.push({ purpose, options });
    const answer = this.answers.get(bytes[0]!);
    if (answer === undefined) throw new Error(`no answer prepared for image ${bytes[0]}`);
    if (answer instanceof Error) throw answer;
    return { faces: answer, timingsMs: TIMINGS };
  }
}

/** Gallery answers by the descriptor's first number. */
function fakeGallery(byKey: Record<number, GallerySearch> = {}) {
  return { search: vi.fn((d: Float32Array): GallerySearch => byKey[d[0]!] ?? {}) };
}

const image = (n: number, label = `photo-${n}.jpg`): EnrollmentImage => ({ label, bytes: new Uint8Array([n, 0xff, 0xd8]) });

function screenOne(faces: FaceObservation[] | Error, o: { gallery?: ReturnType<typeof fakeGallery>; memberId?: string } = {}) {
  const analyzer = new FakeAnalyzer(new Map([[1, faces]]));
  const gallery = o.gallery ?? fakeGallery();
  const enrollment = new Enrollment({ analyzer, gallery, policy: POLICY });
  return { analyzer, gallery, result: enrollment.screen([image(1)], o.memberId) };
}

describe('Enrollment.screen', () => {
  it('rejects a photo without a face', async () => {
    const { result } = screenOne([]);
    const { accepted, rejected } = await result;
    expect(accepted).toEqual([]);
    expect(rejected).toEqual([{ label: 'photo-1.jpg', reason: 'no-face', message: expect.stringMatching(/No face/) }]);
  });

  it('asks the analyzer for the enrollment gate, describing passing faces only', async () => {
    const { analyzer, result } = screenOne([face(BIG)]);
    await result;
    expect(analyzer.calls).toEqual([{ purpose: 'enroll', options: { describe: 'passing' } }]);
  });

  it('rejects two faces of similar size: nobody knows which person consented', async () => {
    const { result, gallery } = screenOne([face(BIG), face(box(160, 160))]);
    const { accepted, rejected } = await result;
    expect(accepted).toEqual([]);
    expect(rejected).toEqual([{ label: 'photo-1.jpg', reason: 'several-faces', message: expect.stringMatching(/^2 faces/) }]);
    expect(gallery.search).not.toHaveBeenCalled();
  });

  it('rejects a second face of exactly half the largest area, accepts one just under half', async () => {
    const atHalf = await screenOne([face(BIG), face(box(200, 100))]).result;
    expect(atHalf.rejected.map((r) => r.reason)).toEqual(['several-faces']);

    const underHalf = await screenOne([face(BIG), face(box(199, 100))]).result;
    expect(underHalf.rejected).toEqual([]);
    expect(underHalf.accepted).toHaveLength(1);
  });

  it('accepts the large face when the second one is much smaller (someone in the background)', async () => {
    const large = descriptor(1);
    const { result } = screenOne([face(BIG, { descriptor: large }), face(box(40, 40), { descriptor: descriptor(2) })]);
    const { accepted, rejected } = await result;
    expect(rejected).toEqual([]);
    expect(accepted.map((a) => a.face.descriptor)).toEqual([large]);
    expect(accepted[0]!.face.descriptor).toBe(large);
  });

  it('rejects a face that fails the quality gate, naming every reason', async () => {
    const { result, gallery } = screenOne([face(BIG, { reasons: ['blurry', 'too-dark'], descriptor: null })]);
    const { accepted, rejected } = await result;
    expect(accepted).toEqual([]);
    expect(rejected).toHaveLength(1);
    expect(rejected[0]!.reason).toBe('low-quality');
    expect(rejected[0]!.message).toContain('blurry, too-dark');
    expect(gallery.search).not.toHaveBeenCalled();
  });

  it('rejects a passing face that came without a descriptor', async () => {
    const { result, gallery } = screenOne([face(BIG, { descriptor: null })]);
    const { accepted, rejected } = await result;
    expect(accepted).toEqual([]);
    expect(rejected.map((r) => r.reason)).toEqual(['low-quality']);
    expect(gallery.search).not.toHaveBeenCalled();
  });

  it('turns an analyzer UserError into not-an-image with its message', async () => {
    const { result } = screenOne(new ImageError('The file is not a JPEG or PNG image.'));
    const { accepted, rejected } = await result;
    expect(accepted).toEqual([]);
    expect(rejected).toEqual([{ label: 'photo-1.jpg', reason: 'not-an-image', message: 'The file is not a JPEG or PNG image.' }]);

    const plain = await screenOne(new UserError('Image too large.', 'image-too-large')).result;
    expect(plain.rejected.map((r) => r.reason)).toEqual(['not-an-image']);
  });

  it('lets an error that is not the user’s propagate', async () => {
    const { result } = screenOne(new TypeError('backend crashed'));
    await expect(result).rejects.toThrow(TypeError);
  });

  it("rejects a face that already belongs to another member, for a new or an existing member", async () => {
    const gallery = fakeGallery({ 1: { best: { memberId: 'm_other', faceId: 'f_9', distance: 0.3 } } });
    const forNew = await screenOne([face(BIG)], { gallery }).result;
    expect(forNew.accepted).toEqual([]);
    expect(forNew.rejected).toEqual([
      { label: 'photo-1.jpg', reason: 'enrolled-as-other-member', message: expect.stringContaining('m_other') },
    ]);
    expect(gallery.search).toHaveBeenCalledWith(descriptor(1));

    const forExisting = await screenOne([face(BIG)], { gallery, memberId: 'm_me' }).result;
    expect(forExisting.rejected.map((r) => r.reason)).toEqual(['enrolled-as-other-member']);
  });

  it("accepts the member's own face again", async () => {
    const gallery = fakeGallery({ 1: { best: { memberId: 'm_me', faceId: 'f_1', distance: 0.2 }, secondBest: { memberId: 'm_other', faceId: 'f_9', distance: 0.7 } } });
    const { accepted, rejected } = await screenOne([face(BIG)], { gallery, memberId: 'm_me' }).result;
    expect(rejected).toEqual([]);
    expect(accepted).toHaveLength(1);
  });

  it('accepts a face the matcher does not name: too far, or too close to two members', async () => {
    const tooFar = fakeGallery({ 1: { best: { memberId: 'm_other', faceId: 'f_9', distance: 0.51 } } });
    expect((await screenOne([face(BIG)], { gallery: tooFar }).result).accepted).toHaveLength(1);

    const ambiguous = fakeGallery({
      1: { best: { memberId: 'm_a', faceId: 'f_a', distance: 0.4 }, secondBest: { memberId: 'm_b', faceId: 'f_b', distance: 0.42 } },
    });
    expect((await screenOne([face(BIG)], { gallery: ambiguous }).result).accepted).toHaveLength(1);
  });

  it('accepts a face with its descriptor, its measurements without the gate verdict, and the detection score', async () => {
    const d = descriptor(1);
    const { accepted } = await screenOne([face(BIG, { descriptor: d, score: 0.93 })]).result;
    expect(accepted).toEqual([
      {
        label: 'photo-1.jpg',
        face: {
          descriptor: d,
          quality: { sizePx: 160, detectionScore: 0.97, yawDeg: 4, rollDeg: -2, sharpness: 310, brightness: 128 },
          detectionScore: 0.93,
        },
      },
    ]);
    expect(accepted[0]!.face.quality).not.toHaveProperty('gate');
    expect(accepted[0]!.face.quality).not.toHaveProperty('passed');
    expect(accepted[0]!.face.quality).not.toHaveProperty('reasons');
  });

  it('screens each photo on its own and keeps the order of the photos given', async () => {
    const analyzer = new FakeAnalyzer(
      new Map<number, FaceObservation[] | Error>([
        [1, [face(BIG, { descriptor: descriptor(1) })]],
        [2, []],
        [3, new ImageError('Not an image.')],
        [4, [face(BIG, { descriptor: descriptor(4) })]],
      ]),
    );
    const enrollment = new Enrollment({ analyzer, gallery: fakeGallery(), policy: POLICY });
    const { accepted, rejected } = await enrollment.screen([image(1, 'a'), image(2, 'b'), image(3, 'c'), image(4, 'd')], undefined);
    expect(accepted.map((a) => [a.label, a.face.descriptor[0]])).toEqual([
      ['a', 1],
      ['d', 4],
    ]);
    expect(rejected.map((r) => [r.label, r.reason])).toEqual([
      ['b', 'no-face'],
      ['c', 'not-an-image'],
    ]);
  });
});
