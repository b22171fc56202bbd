import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { UserError } from '../core/errors.js';

interface ManifestFile {
  name: string;
  bytes: number;
  sha256: string;
}

const require = createRequire(import.meta.url);

/** Where the face-api package keeps its weights; models ship inside it, never downloaded. */
export function faceApiModelDir(): string {
  return path.join(path.dirname(require.resolve('@vladmandic/face-api/package.json')), 'model');
}

/** models/manifest.json of this package, found relative to this module in src/ and dist/. */
export function defaultManifestPath(): string {
  return fileURLToPath(new URL('../../models/manifest.json', import.meta.url));
}

/**
 * Checks every weight file the engine loads against the manifest's size and SHA-256.
 * A missing or altered file would otherwise surface as a cryptic tensor-shape error deep in
 * inference, or worse, as silently wrong descriptors that match the wrong member.
 */
export function verifyModelFiles(modelDir: string = faceApiModelDir(), manifestPath: string = defaultManifestPath()): void {
  const manifest = readManifest(manifestPath);
  for (const entry of manifest.files) {
    const file = path.join(modelDir, entry.name);
    if (!existsSync(file)) {
      throw new UserError(
        `Model file missing: ${file}. Reinstall with "npm ci" (the models ship inside @vladmandic/face-api).`,
        'model-missing',
      );
    }
    const bytes = readFileSync(file);
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    if (bytes.length !== entry.bytes || sha256 !== entry.sha256) {
      throw new UserError(
        `Model file corrupt or of another version: ${file} (sha256 ${sha256}, expected ${entry.sha256} from ${manifestPath}). ` +
          'Reinstall with "npm ci"; if @vladmandic/face-api was upgraded on purpose, update models/manifest.json.',
        'model-corrupt',
      );
    }
  }
}


function readManifest(manifestPath: string): { files: ManifestFile[] } {
  try {
    const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as { files?: unknown };
    if (!Array.isArray(manifest.files)) throw new Error('it has no "files" list');
    return manifest as { files: ManifestFile[] };
  } catch (err) {
    throw new UserError(
      `Model manifest unreadable: ${manifestPath} (${(err as Error).message.split('\n', 1)[0]}). Restore it from the memberlens package.`,
      'model-manifest-invalid',
    );
  }
}
