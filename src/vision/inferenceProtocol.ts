import type { VisionSettings } from '../config/settingsSchema.js';
import { ConfigError, ImageError, UserError } from '../core/errors.js';
import type { Analysis, AnalyzeOptions, Purpose } from './faceEngine.js';
import type { BackendName } from './tensorflowBackend.js';
import type { ThreadPriority } from './threadPriority.js';

/** What the pool hands a worker as workerData: all it needs to build its own engine. */
export interface WorkerInit {
  vision: VisionSettings;
  logLevel: string;
  /** Nice value for the worker thread (Linux); 0 leaves it alone. */
  nice: number;
  /** A worker whose WebAssembly memory passed this after a call retires once it has answered; 0 = never. */
  wasmHeapMaxBytes: number;
}

export type PoolToWorker =
  | { type: 'analyze'; id: number; bytes: Uint8Array; purpose: Purpose; options: AnalyzeOptions }
  /** Exit once the call in progress (if any) has answered. */
  | { type: 'stop' };

export type WorkerToPool =
  | { type: 'ready'; backend: BackendName; priority: ThreadPriority }
  | { type: 'start-failed'; error: WireError }
  /**
   * wasmHeapBytes: the worker's WebAssembly memory after the call (WASM backend only).
   * retiring: this was the worker's last answer; it exits to give back its grown WebAssembly
   * memory (WorkerInit.wasmHeapMaxBytes), and the pool starts a fresh one.
   */
  | { type: 'result'; id: number; analysis: Analysis; wasmHeapBytes?: number; retiring?: true }
  | { type: 'error'; id: number; error: WireError; wasmHeapBytes?: number; retiring?: true };

/**
 * Structured clone keeps an Error's message but not its class or extra fields, so a bad
 * image would reach the caller looking like a crash. The kind names which class to rebuild.
 */
export interface WireError {
  kind: 'image' | 'config' | 'user' | 'bug';
  message: string;
  code?: string;
  stack?: string;
}

export function toWireError(err: unknown): WireError {
  if (err instanceof ImageError) return { kind: 'image', message: err.message, code: err.code };
  if (err instanceof ConfigError) return { kind: 'config', message: err.message, code: err.code };
  if (err instanceof UserError) return { kind: 'user', message: err.message, code: err.code };
  if (err instanceof Error) return { kind: 'bug', message: err.message, ...(err.stack === undefined ? {} : { stack: err.stack }) };
  return { kind: 'bug', message: String(err) };
}

/** The error as the worker threw it; `prefix` puts it in context without losing its class or code. */
export function fromWireError(wire: WireError, prefix = ''): Error {
  const message = prefix + wire.message;
  switch (wire.kind) {
    case 'image':
      return new ImageError(message, wire.code);
    case 'config':
      return new ConfigError(message);
    case 'user':
      return new UserError(message, wire.code);
    case 'bug': {
      const err = new Error(message);
      // The worker's stack points at the failing code; the main thread's would point here.
      if (wire.stack !== undefined) err.stack = prefix + wire.stack;
      return err;
    }
  }
}
