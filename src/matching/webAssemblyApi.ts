/*
 * The project compiles against ES2023 + @types/node 20, which declare no WebAssembly
 * globals (they come with the DOM lib). Typing the few members this room uses here keeps
 * that choice local instead of widening the libs for every other room.
 */

export interface WasmCompiledModule {
  readonly __compiledWasmModule: unique symbol;
}

export interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(deltaPages: number): number;
}

export interface WasmGlobal {
  value: unknown;
}

interface WebAssemblyApi {
  validate(bytes: Uint8Array): boolean;
  compile(bytes: Uint8Array): Promise<WasmCompiledModule>;
  instantiate(module: WasmCompiledModule, imports: object): Promise<{ exports: Record<string, unknown> }>;
  Memory: new (descriptor: { initial: number; maximum?: number }) => WasmMemory;
}

export const webAssembly = (globalThis as unknown as { WebAssembly: WebAssemblyApi }).WebAssembly;
