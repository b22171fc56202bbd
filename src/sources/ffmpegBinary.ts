import { createRequire } from 'node:module';
import { UserError } from '../core/errors.js';
import { findExecutableOnPath } from './executableOnPath.js';

export interface FfmpegBinary {
  path: string;
  /** `system` = found on PATH; `bundled` = the static build shipped in @ffmpeg-installer/ffmpeg. */
  origin: 'system' | 'bundled';
}

/**
 * A system ffmpeg wins because the operator installed it on purpose (newer, with the
 * hardware decoders of that machine); the bundled static build is the fallback that makes
 * a fresh install work without one.
 */
export function resolveFfmpegBinary(env: NodeJS.ProcessEnv = process.env): FfmpegBinary {
  const system = findExecutableOnPath('ffmpeg', env);
  if (system !== undefined) return { path: system, origin: 'system' };
  const bundled = bundledFfmpegPath();
  if (bundled !== undefined) return { path: bundled, origin: 'bundled' };
  throw new UserError(
    'ffmpeg was not found: install it (Debian/Ubuntu: sudo apt-get install ffmpeg; Windows: add ffmpeg.exe to PATH) '
      + 'or reinstall memberlens so that @ffmpeg-installer/ffmpeg can provide its binary for this platform',
    'ffmpeg-missing',
  );
}

function bundledFfmpegPath(): string | undefined {
  try {
    // The installer package throws (a string, not an Error) at import time on platforms it
    // has no binary for; requiring it here keeps that from failing the module graph.
    const installer = createRequire(import.meta.url)('@ffmpeg-installer/ffmpeg') as { path?: unknown };
    return typeof installer.path === 'string' ? installer.path : undefined;
  } catch {
    return undefined;
  }
}
