import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { settingsSchema } from '../../src/config/settingsSchema.js';
import { createLogger } from '../../src/core/logger.js';
import { memberServiceOf, openRecognitionCore, type RecognitionCore } from '../../src/recognitionCore.js';
import { InferencePool } from '../../src/vision/inferencePool.js';

const FACES = path.resolve('test/fixtures/faces');
const PEOPLE = ['amy', 'bernadette', 'howard', 'leonard', 'penny', 'raj', 'sheldon', 'stuart'];
const crop = (person: string, n: number) => readFileSync(path.join(FACES, person, `${person}${n}.png`));

/**
 * The acceptance protocol on real faces: enroll crop 1 of each of the 8 people,
 * identify crops 2–5 with the default trust policy, then the unlabelled group photos.
 */
describe('recognition on the faces-bbt set', () => {
  let dir: string;
  let core: RecognitionCore;
  const memberOf = new Map<string, string>();

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'memberlens-recognition-'));
    const settings = settingsSchema.parse({ dataDir: dir, logLevel: 'silent' });
    const log = createLogger('silent');
    // Two inference workers: the decisions are the engine's either way, and the file runs in half the time.
    core = await openRecognitionCore(settings, log, () =>
      InferencePool.create({ size: 2, vision: settings.vision, log, maxQueueLength: 100, workerNice: 0 }),
    );
    const members = memberServiceOf(core, settings, log);
    // Eight different people: enrolled side by side, on both workers.
    await Promise.all(
      PEOPLE.map(async (person) => {
        const result = await members.enrollMember({
          name: person,
          consent: { method: 'written', staff: 'test' },
          images: [{ label: `${person}1.png`, bytes: crop(person, 1) }],
          source: 'cli',
          actor: 'test',
        });
        expect(result.rejected).toEqual([]);
        memberOf.set(result.member.id, person);
      }),
    );
  });

  afterAll(async () => {
    await core?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('enrolled one face per person', () => {
    expect(core.gallery.size).toBe(8);
    expect(core.gallery.memberCount).toBe(8);
  });

  it('detects every crop 2–5, ranks the right member first for each, and never names a wrong member', async () => {
    const probes = PEOPLE.flatMap((person) => [2, 3, 4, 5].map((n) => ({ person, n })));
    const identified = await Promise.all(probes.map(({ person, n }) => core.identification.identify(crop(person, n))));
    const outcomes: { probe: string; verdict: string }[] = [];
    for (const [k, { person, n }] of probes.entries()) {
      const faces = identified[k]!;
      expect(faces, `${person}${n}: exactly one face`).toHaveLength(1);
      const { decision } = faces[0]!;
      if (decision.kind === 'member') {
        expect(memberOf.get(decision.memberId), `${person}${n}: matched member`).toBe(person);
      } else {
        // Left unknown by the trust policy: the nearest member must still be the right one.
        const nearest = core.gallery.search(await descriptorOf(crop(person, n)));
        expect(memberOf.get(nearest.best!.memberId), `${person}${n}: nearest member`).toBe(person);
      }
      outcomes.push({ probe: `${person}${n}`, verdict: decision.kind === 'member' ? 'correct' : `unknown:${decision.reason}` });
    }
    const unknown = outcomes.filter((o) => o.verdict !== 'correct');
    // Recorded for the closing note: which crops the policy leaves unknown and why.
    console.info(`identified ${outcomes.length - unknown.length}/${outcomes.length}; unknown: ${JSON.stringify(unknown)}`);
    // The policy trades recall for never naming the wrong member or a stranger. With the threshold
    // set from the calibration for 8 members (1 in 10,000 visits), a face size is only named where
    // at least minNameableTrueAcceptRate of members' faces are expected to be; one photo each of
    // these tight crops reaches that, no more (31/32 needed the old fixed 0.55, which accepts
    // 0.15 % of different-person pairs at this size: see README, calibration).
    const named = outcomes.length - unknown.length;
    expect(named / outcomes.length).toBeGreaterThanOrEqual(settingsSchema.parse({}).matching.minNameableTrueAcceptRate);
    expect(unknown.every((o) => o.verdict === 'unknown:too-far')).toBe(true);
  });

  it('never resolves two faces of one group photo to the same member', async () => {
    for (let n = 1; n <= 5; n++) {
      const faces = await core.identification.identify(readFileSync(path.join(FACES, `bbt${n}.jpg`)));
      expect(faces.length, `bbt${n}.jpg has faces`).toBeGreaterThan(0);
      const named = faces.flatMap((f) => (f.decision.kind === 'member' ? [f.decision.memberId] : []));
      expect(new Set(named).size, `bbt${n}.jpg: ${named.map((id) => memberOf.get(id)).join(',')}`).toBe(named.length);
    }
  });

  it('leaves the background extras of bbt2.jpg unknown', async () => {
    const faces = await core.identification.identify(readFileSync(path.join(FACES, 'bbt2.jpg')));
    // The extra is the face nearest the left edge (seated behind Leonard); the cast are Leonard and Sheldon.
    const extras = faces.filter((f) => f.box.x + f.box.width < 60);
    expect(extras.length).toBeGreaterThan(0);
    for (const extra of extras) expect(extra.decision.kind).toBe('unknown');
    const named = faces.flatMap((f) => (f.decision.kind === 'member' ? [memberOf.get(f.decision.memberId)] : []));
    for (const name of named) expect(['leonard', 'sheldon']).toContain(name);
  });

  it('names nobody in face-api\'s demo photos, none of whom is enrolled', async () => {
    const demo = path.resolve('node_modules/@vladmandic/face-api/demo');
    let described = 0;
    for (let n = 1; n <= 6; n++) {
      const faces = await core.identification.identify(readFileSync(path.join(demo, `sample${n}.jpg`)));
      for (const face of faces) {
        expect(face.decision.kind, `sample${n}.jpg`).toBe('unknown');
        if (face.decision.kind === 'unknown' && face.decision.reason !== 'low-quality') described++;
      }
    }
    // Strangers were really compared with the gallery, not all dropped by the quality gate.
    expect(described).toBeGreaterThan(3);
  });

  async function descriptorOf(bytes: Buffer): Promise<Float32Array> {
    const { faces } = await core.analyzer.analyzeBytes(bytes, 'live', { detector: 'ssd' });
    return faces[0]!.descriptor!;
  }
});
