import { existsSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import type * as FaceApi from '@vladmandic/face-api';
import type { Logger } from '../core/logger.js';
import { UserError, errorMessage } from '../core/errors.js';

export type FaceApiModule = typeof FaceApi;
/** face-api's own types describe only tfjs-core; at run time its `tf` is the full @tensorflow/tfjs. */
export type Tf = typeof import('@tensorflow/tfjs');
export type BackendName = 'tensorflow' | 'wasm' | 'cpu';
export type BackendChoice = 'auto' | BackendName;

export interface LoadedBackend {
  faceapi: FaceApiModule;
  tf: Tf;
  name: BackendName;
  /** Why this backend was chosen, for the start-up log line. */
  reason: string;
}

const require = createRequire(import.meta.url);

/**
 * Picks the TensorFlow.js backend once per process. tfjs-node (native libtensorflow) is
 * fastest but is an optional dependency whose install needs a CDN, so it is often missing;
 * WASM is the everyday backend, its .wasm files read from node_modules, never fetched.
 * The pure-JS cpu backend runs only when asked for: it is 30–40× slower than WASM.
 */
export async function loadBackend(choice: BackendChoice, log: Logger): Promise<LoadedBackend> {
  let loaded: LoadedBackend;
  if (choice === 'tensorflow' || choice === 'auto') {
    const native = await tryNative();
    if (native.ok) {
      loaded = { faceapi: native.faceapi, tf: native.tf, name: 'tensorflow', reason: 'tfjs-node loaded' };
    } else if (choice === 'tensorflow') {
      throw new UserError(
        `vision.backend is "tensorflow" but @tensorflow/tfjs-node does not load (${native.why}). ` +
          'Install it where its download is reachable, or set vision.backend to "auto" or "wasm".',
        'backend-unavailable',
      );
    } else {
      loaded = await loadWasmOrCpu('wasm', `tfjs-node unavailable (${native.why}); using WASM`);
    }
  } else {
    loaded = await loadWasmOrCpu(choice, `vision.backend forced to "${choice}"`);
  }
  log.info({ backend: loaded.name, reason: loaded.reason }, `TensorFlow.js backend: ${loaded.name}`);
  return loaded;
}

async function tryNative(): Promise<{ ok: true; faceapi: FaceApiModule; tf: Tf } | { ok: false; why: string }> {
  try {
    // Without its native addon, requiring tfjs-node would still load the whole tfjs and tfjs-node's
    // kernels before it throws, and they would stay in memory for nothing (measured in a fresh
    // process: face-api with the failed attempt first 57.4 MB, without it 45.8 MB).
    const missing = missingNativeAddon();
    if (missing) return { ok: false, why: missing };
    // Loading the native binding throws when its shared library does not load.
    require('@tensorflow/tfjs-node');
    const faceapi = require('@vladmandic/face-api/dist/face-api.node.js') as FaceApiModule;
    const tf = faceapi.tf as unknown as Tf;
    await tf.ready();
    return { ok: true, faceapi, tf };
  } catch (err) {
    return { ok: false, why: firstLine(errorMessage(err)) };
  }
}

async function loadWasmOrCpu(name: 'wasm' | 'cpu', reason: string): Promise<LoadedBackend> {
  const faceapi = require('@vladmandic/face-api/dist/face-api.node-wasm.js') as FaceApiModule;
  if (name === 'wasm') {
    const wasm = require('@tensorflow/tfjs-backend-wasm') as typeof import('@tensorflow/tfjs-backend-wasm');
    const wasmDir = path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm'));
    // usePlatformFetch=false: emscripten reads the files with fs; true would try fetch() on a path.
    wasm.setWasmPaths(wasmDir + path.sep, false);
  }
  const tf = faceapi.tf as unknown as Tf;
  const ok = await tf.setBackend(name);
  if (!ok) throw new UserError(`TensorFlow.js backend "${name}" failed to initialise`, 'backend-unavailable');
  await tf.ready();
  return { faceapi, tf, name, reason };
}

/**
 * Why tfjs-node cannot load, read from the files alone: it is not installed, or its install never
 * downloaded the native addon (lib/napi-v<N>/tfjs_binding.node, fetched from a CDN).
 */
function missingNativeAddon(): string | undefined {
  let packageJson: string;
  try {
    packageJson = require.resolve('@tensorflow/tfjs-node/package.json');
  } catch {
    return 'Cannot find module @tensorflow/tfjs-node';
  }
  const lib = path.join(path.dirname(packageJson), 'lib');
  const found = existsSync(lib) && readdirSync(lib).some((dir) => existsSync(path.join(lib, dir, 'tfjs_binding.node')));
  return found ? undefined : `its native addon was never downloaded (no ${path.join(lib, 'napi-v*', 'tfjs_binding.node')})`;
}

function firstLine(text: string): string {
  return text.split('\n', 1)[0]!.slice(0, 200);
}
