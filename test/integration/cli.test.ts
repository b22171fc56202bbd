import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MEMBERLENS_CLI } from '../support/cli.js';

const run = promisify(execFile);
const FACES = path.resolve('test/fixtures/faces');
const SAMPLE = path.resolve('node_modules/@vladmandic/face-api/demo/sample1.jpg');

/** Runs the real CLI in a child process, as an operator or another program would. */
async function cli(dataDir: string, ...args: string[]): Promise<{ code: number; lines: any[]; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [MEMBERLENS_CLI, '--data-dir', dataDir, ...args], {
      env: { ...process.env, MEMBERLENS_LOG_LEVEL: 'warn' },
      maxBuffer: 16 * 1024 * 1024,
    });
    return { code: 0, lines: parseLines(stdout), stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, lines: parseLines(e.stdout), stderr: e.stderr };
  }
}

function parseLines(stdout: string): any[] {
  return stdout.split('\n').filter(Boolean).map((line) => JSON.parse(line));
}

describe('memberlens CLI', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'memberlens-cli-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('embed prints one JSON line per file in order, faces largest first, and goes on past bad files', async () => {
    const empty = path.join(dir, 'empty.jpg');
    writeFileSync(empty, '');
    const pdf = path.join(dir, 'invoice.jpg');
    writeFileSync(pdf, '%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n');
    const files = [SAMPLE, empty, path.join(dir, 'missing.png'), pdf, path.join(FACES, 'amy/amy1.png')];
    const { code, lines } = await cli(dir, 'embed', ...files);
    expect(lines.map((l) => l.file)).toEqual(files);
    expect(code).toBe(1);

    const [sample, emptyOut, missing, pdfOut, amy] = lines;
    expect(sample.faces.length).toBeGreaterThan(1);
    const areas = sample.faces.map((f: any) => f.box.width * f.box.height);
    expect(areas).toEqual([...areas].sort((a, b) => b - a));
    for (const face of [...sample.faces, ...amy.faces]) {
      expect(Object.keys(face.box).sort()).toEqual(['height', 'width', 'x', 'y']);
      expect(face.score).toBeGreaterThan(0);
      expect(face.quality).toHaveProperty('passed');
      expect(face.descriptor).toHaveLength(128);
      expect(face.descriptor.every((v: unknown) => typeof v === 'number' && Number.isFinite(v))).toBe(true);
    }
    expect(amy.faces).toHaveLength(1);
    expect(emptyOut.error).toMatch(/empty/);
    expect(missing.error).toMatch(/not found/);
    expect(pdfOut.error).toMatch(/not JPEG, PNG or WebP/);
  });

  it('enrolls only with recorded consent, identifies, lists and deletes', async () => {
    const amy1 = path.join(FACES, 'amy/amy1.png');
    const refused = await cli(dir, 'enroll', '--name', 'Amy', amy1);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/--consent/);
    expect((await cli(dir, 'members', 'list')).lines).toEqual([]);

    const enrolled = await cli(dir, 'enroll', '--name', 'Amy', '--phone', '13800138000', '--consent', 'written', '--staff', 'lin', amy1);
    expect(enrolled.code).toBe(0);
    const { memberId } = enrolled.lines[0];
    expect(memberId).toMatch(/^m_/);

    const probe = path.join(FACES, 'amy/amy2.png');
    const identified = await cli(dir, 'identify', probe);
    expect(identified.lines[0].faces[0].match).toMatchObject({ kind: 'member', memberId, name: 'Amy' });
    expect(identified.lines[0].faces[0].match.distance).toBeLessThan(0.55);

    const listed = await cli(dir, 'members', 'list', '--query', '138');
    expect(listed.lines).toMatchObject([{ id: memberId, name: 'Amy', faces: 1 }]);

    expect((await cli(dir, 'members', 'delete', memberId)).lines).toEqual([{ deleted: memberId, faces: 1 }]);
    const missing = await cli(dir, 'members', 'delete', memberId);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/No member/);

    const after = await cli(dir, 'identify', probe);
    expect(after.lines[0].faces[0].match).toMatchObject({ kind: 'unknown', reason: 'empty-gallery' });
  });

  it('refuses a second enrollment of the same face under another member', async () => {
    const first = await cli(dir, 'enroll', '--name', 'Raj', '--consent', 'written', path.join(FACES, 'raj/raj1.png'));
    expect(first.code).toBe(0);
    const second = await cli(dir, 'enroll', '--name', 'Raj again', '--consent', 'written', path.join(FACES, 'raj/raj2.png'));
    expect(second.code).toBe(2);
    expect(second.stderr).toMatch(/already belongs to member/);
  });

  it('refuses control and bidi-control characters in names, staff and labels with exit code 2', async () => {
    const amy1 = path.join(FACES, 'amy/amy1.png');
    const name = await cli(dir, 'enroll', '--name', 'a\u0001b', '--consent', 'written', amy1);
    expect(name.code).toBe(2);
    expect(name.stderr).toMatch(/--name contains a control character \(U\+0001\); remove it/);
    const staff = await cli(dir, 'enroll', '--name', 'Lin', '--consent', 'written', '--staff', '\u202eabc', amy1);
    expect(staff.code).toBe(2);
    expect(staff.stderr).toMatch(/--staff contains a bidirectional-control character \(U\+202E\)/);
    const label = await cli(dir, 'tokens', 'create', 'till', '--label', 'lane\u20662');
    expect(label.code).toBe(2);
    expect(label.stderr).toMatch(/--label contains a bidirectional-control character \(U\+2066\)/);
    expect(label.lines).toEqual([]);
    // Decomposed input is stored composed.
    const composed = await cli(dir, 'tokens', 'create', 'till', '--label', 'Cafe\u0301');
    expect(composed.lines[0].label).toBe('Caf\u00e9');
  });

  it('keeps no stranger\'s descriptor on disk after identify', async () => {
    const probe = path.join(FACES, 'penny/penny2.png');
    const embedded = await cli(dir, 'embed', probe);
    const bytes = Buffer.from(new Float32Array(embedded.lines[0].faces[0].descriptor).buffer);
    await cli(dir, 'identify', probe);
    for (const file of ['memberlens.db', 'memberlens.db-wal']) {
      let content: Buffer;
      try {
        content = readFileSync(path.join(dir, file));
      } catch {
        continue;
      }
      // The first 16 bytes (4 floats) are enough to recognise a stored copy.
      expect(content.includes(bytes.subarray(0, 16))).toBe(false);
    }
  });
});
