import { copyFileSync, mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { UserError } from '../../src/core/errors.js';
import { defaultManifestPath, faceApiModelDir, verifyModelFiles } from '../../src/vision/modelFiles.js';

const manifest = JSON.parse(readFileSync(defaultManifestPath(), 'utf8')) as { files: Array<{ name: string; bytes: number }> };

function verifyError(modelDir: string): UserError {
  let caught: unknown;
  try {
    verifyModelFiles(modelDir, defaultManifestPath());
  } catch (err) {
    caught = err;
  }
  expect(caught, 'verifyModelFiles should have thrown').toBeInstanceOf(UserError);
  return caught as UserError;
}

describe('verifyModelFiles', () => {
  it('passes on the installed face-api models, which the manifest lists (all four networks)', () => {
    expect(manifest.files.length).toBeGreaterThanOrEqual(8);
    for (const net of ['ssd_mobilenetv1', 'tiny_face_detector', 'face_landmark_68', 'face_recognition']) {
      expect(manifest.files.some((f) => f.name.startsWith(net))).toBe(true);
    }
    expect(() => verifyModelFiles()).not.toThrow();
    expect(() => verifyModelFiles(faceApiModelDir(), defaultManifestPath())).not.toThrow();
  });

  describe('on a copy of the model directory', () => {
    let dir: string;

    beforeEach(() => {
      dir = mkdtempSync(path.join(tmpdir(), 'memberlens-models-'));
      for (const f of manifest.files) copyFileSync(path.join(faceApiModelDir(), f.name), path.join(dir, f.name));
    });

    afterEach(() => {
      rmSync(dir, { recursive: true, force: true });
    });

    it('an intact copy passes', () => {
      expect(() => verifyModelFiles(dir, defaultManifestPath())).not.toThrow();
    });

    it('a deleted file → model-missing, naming the file and how to get it back', () => {
      const victim = manifest.files.find((f) => f.name.endsWith('.bin') && f.name.startsWith('face_recognition'))!.name;
      unlinkSync(path.join(dir, victim));
      const err = verifyError(dir);
      expect(err.code).toBe('model-missing');
      expect(err.message).toContain(path.join(dir, victim));
      expect(err.message).toMatch(/npm ci/);
    });

    it('one flipped byte → model-corrupt, naming the file and how to fix it', () => {
      const victim = manifest.files.find((f) => f.name.endsWith('.bin') && f.name.startsWith('ssd_mobilenetv1'))!;
      const file = path.join(dir, victim.name);
      const bytes = readFileSync(file);
      const middle = Math.floor(bytes.length / 2);
      bytes[middle] = bytes[middle]! ^ 0x01;
      writeFileSync(file, bytes);
      // Same size: only the checksum can catch this.
      expect(readFileSync(file).length).toBe(victim.bytes);
      const err = verifyError(dir);
      expect(err.code).toBe('model-corrupt');
      expect(err.message).toContain(file);
      expect(err.message).toMatch(/Reinstall with "npm ci"/);
      expect(err.message).toMatch(/models\/manifest\.json/);
    });

    it('an altered weights manifest (JSON) is caught as well, not only the .bin files', () => {
      const victim = manifest.files.find((f) => f.name.endsWith('.json'))!;
      const file = path.join(dir, victim.name);
      writeFileSync(file, readFileSync(file, 'utf8').replace('"', "'"));
      const err = verifyError(dir);
      expect(err.code).toBe('model-corrupt');
      expect(err.message).toContain(file);
    });
  });

  it('an unreadable manifest stops start-up with a message naming it', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'memberlens-manifest-'));
    try {
      const broken = path.join(dir, 'manifest.json');
      writeFileSync(broken, '{ "files": ');
      expect(() => verifyModelFiles(faceApiModelDir(), broken)).toThrow(/Model manifest unreadable: .*manifest\.json/);
      writeFileSync(broken, '{}');
      expect(() => verifyModelFiles(faceApiModelDir(), broken)).toThrow(/no "files" list/);
      expect(() => verifyModelFiles(faceApiModelDir(), path.join(dir, 'missing.json'))).toThrow(/Model manifest unreadable/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
