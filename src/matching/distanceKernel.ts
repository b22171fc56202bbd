import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { webAssembly, type WasmCompiledModule } from './webAssemblyApi.js';

/**
 * Where the compiled kernel may sit. Under tsx/vitest the module runs from src/, where the
 * binary is committed; the compiled dist/ tree gets no copy from tsc, so it falls back to
 * the same file in src/ (both layouts are two levels below the package root).
 */
const KERNEL_FILE_URLS = [
  new URL('./kernel/build/distance.wasm', import.meta.url),
  new URL('../../src/matching/kernel/build/distance.wasm', import.meta.url),
];

export type DistanceKernel =
  | { available: true; module: WasmCompiledModule }
  | { available: false; reason: string };

let loading: Promise<DistanceKernel> | undefined;

/** Reads, checks and compiles the SIMD kernel once per process; never throws. */
export function loadDistanceKernel(): Promise<DistanceKernel> {
  loading ??= compileFromDisk();
  return loading;
}

async function compileFromDisk(): Promise<DistanceKernel> {
  const missing: string[] = [];
  for (const url of KERNEL_FILE_URLS) {
    let bytes: Buffer;
    try {
      bytes = await readFile(url);
    } catch {
      missing.push(fileURLToPath(url));
      continue;
    }
    // The kernel is small and valid by construction; a runtime that rejects it lacks SIMD.
    if (!webAssembly.validate(bytes)) {
      return { available: false, reason: 'this JavaScript runtime does not support WebAssembly SIMD' };
    }
    return { available: true, module: await webAssembly.compile(bytes) };
  }
  return {
    available: false,
    reason: `distance kernel not built (looked for ${missing.join(', ')}); run \`npm run build:wasm\``,
  };
}
