import { readFile, writeFile, mkdir } from 'node:fs/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import wabtFactory from 'wabt';

export const DISTANCE_WAT_URL = new URL('./distance.wat', import.meta.url);
export const DISTANCE_WASM_URL = new URL('./build/distance.wasm', import.meta.url);

/** Compiles the kernel text to its binary; the same source always yields the same bytes. */
export async function compileDistanceWasm(): Promise<Uint8Array> {
  const wabt = await wabtFactory();
  const source = await readFile(DISTANCE_WAT_URL, 'utf8');
  const wasmModule = wabt.parseWat('distance.wat', source, { simd: true });
  try {
    wasmModule.validate();
    // No debug names: the binary is committed, and names would only add churn.
    return wasmModule.toBinary({ log: false, write_debug_names: false }).buffer;
  } finally {
    wasmModule.destroy();
  }
}

async function writeDistanceWasm(): Promise<void> {
  const bytes = await compileDistanceWasm();
  await mkdir(new URL('./build/', import.meta.url), { recursive: true });
  await writeFile(DISTANCE_WASM_URL, bytes);
  console.log(`wrote ${fileURLToPath(DISTANCE_WASM_URL)} (${bytes.length} bytes)`);
}

const invokedPath = process.argv[1];
if (invokedPath !== undefined && import.meta.url === pathToFileURL(invokedPath).href) {
  await writeDistanceWasm();
}
