import { Worker } from 'node:worker_threads';
// Held open in the main thread, which keeps glibc from unloading libvips when a worker exits
// while another still uses it (lovell/sharp#2263).
import sharp from 'sharp';
import type { VisionSettings } from '../config/settingsSchema.js';
import { UserError, errorMessage } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { FaceAnalyzer } from './faceAnalyzer.js';
import type { Analysis, AnalyzeOptions, Purpose } from './faceEngine.js';
import { type PoolToWorker, type WorkerInit, type WorkerToPool, fromWireError } from './inferenceProtocol.js';
import type { BackendName } from './tensorflowBackend.js';
import type { ThreadPriority } from './threadPriority.js';

export interface InferencePoolOptions {
  /** Worker threads, each with its own engine (`inference.workers`, with 0 resolved to the core count). */
  size: number;
  vision: VisionSettings;
  log: Logger;
  /** Calls allowed to wait for a free worker; beyond that a call is refused as 'overloaded'. */
  maxQueueLength: number;
  /** Nice value of the worker threads on Linux (`inference.workerNice`, see lowerThisThreadPriority). */
  workerNice: number;
  /** `inference.workerWasmHeapMaxBytes`: a worker whose WebAssembly memory grew past this is replaced by a fresh one; 0 = never. */
  workerWasmHeapMaxBytes?: number;
  /** `inference.workerYoungGenerationMaxMb`: cap on each worker's V8 young generation; undefined = V8's default. */
  workerYoungGenerationMaxMb?: number;
}

export interface InferencePoolStats {
  /** Workers up and able to take a call; below the configured size while a crashed one is replaced. */
  size: number;
  busy: number;
  queued: number;
  /** Calls answered with an Analysis. */
  completed: number;
  /** Calls that rejected for any reason: bad image, crash, overload, close. */
  failed: number;
  /** WebAssembly memory of the ready workers, as each last reported it (WASM backend; 0 otherwise). */
  wasmHeapBytes: number;
}

interface Job {
  id: number;
  bytes: Uint8Array;
  purpose: Purpose;
  options: AnalyzeOptions;
  resolve: (analysis: Analysis) => void;
  reject: (err: Error) => void;
}

interface Slot {
  index: number;
  worker: Worker;
  job: Job | undefined;
  /** From the worker's 'error' event, which precedes 'exit' and says why it died. */
  crash: Error | undefined;
  priority: ThreadPriority | undefined;
  /** Said it is retiring: takes no more calls, and its exit is expected. */
  retiring: boolean;
  /** Its WebAssembly memory after its latest call. */
  wasmHeapBytes: number;
}

/** Enough for a worker to finish the image it is on; after that it is terminated mid-call. */
const STOP_GRACE_MS = 5_000;
/** First wait before retrying a replacement worker that failed to start; doubles up to the max. */
const RESPAWN_DELAY_MS = 1_000;
const RESPAWN_DELAY_MAX_MS = 30_000;

/**
 * Runs the face engine in worker threads. WASM inference blocks its thread for 0.3–0.6 s
 * per image; on the main thread that would stall HTTP and Socket.IO for as long.
 */
export class InferencePool implements FaceAnalyzer {
  /** Started workers, including ones still loading models; close() stops all of them. */
  private readonly workers = new Set<Worker>();
  /** Workers whose engine is ready. */
  private readonly slots: Slot[] = [];
  private readonly queue: Job[] = [];
  private nextJobId = 1;
  private completed = 0;
  private failed = 0;
  private retired = 0;
  private firstBackend: BackendName | undefined;
  private closing: Promise<void> | undefined;

  private constructor(
    private readonly init: WorkerInit,
    private readonly log: Logger,
    private readonly maxQueueLength: number,
    private readonly youngGenerationMaxMb: number | undefined,
  ) {}

  /** Resolves once every worker has its engine ready; rejects with the first worker's start-up error. */
  static async create(opts: InferencePoolOptions): Promise<InferencePool> {
    // libvips keeps recent operations and their pixels (up to 50 MB, process-wide) for a repeat
    // that never comes: every camera frame is new. Off, the service's RSS was about 25 MB lower.
    sharp.cache(false);
    const size = opts.size;
    if (!Number.isInteger(size) || size < 1) throw new RangeError(`InferencePool size must be a whole number ≥ 1, got ${size}`);
    if (!Number.isInteger(opts.maxQueueLength) || opts.maxQueueLength < 0) {
      throw new RangeError(`InferencePool maxQueueLength must be a whole number ≥ 0, got ${opts.maxQueueLength}`);
    }
    const init: WorkerInit = { vision: opts.vision, logLevel: opts.log.level, nice: opts.workerNice, wasmHeapMaxBytes: opts.workerWasmHeapMaxBytes ?? 0 };
    const pool = new InferencePool(init, opts.log, opts.maxQueueLength, opts.workerYoungGenerationMaxMb);
    const started = await Promise.allSettled(Array.from({ length: size }, (_, i) => pool.startWorker(i)));
    const failure = started.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (failure) {
      await pool.close();
      throw failure.reason;
    }
    // A worker that died after saying ready is already being replaced.
    for (const s of started) if (s.status === 'fulfilled' && pool.workers.has(s.value.worker)) pool.slots.push(s.value);
    const priority = pool.slots[0]?.priority;
    opts.log.info(
      { size, backend: pool.backend, nice: priority?.nice ?? 0, ...(priority?.skipped ? { priorityLeftAlone: priority.skipped } : {}) },
      `Inference pool: ${size} worker thread(s)`,
    );
    return pool;
  }

  /** The TensorFlow.js backend the workers run on. */
  get backend(): BackendName {
    // create() resolves only after a worker said which backend it runs.
    return this.firstBackend!;
  }

  analyzeBytes(bytes: Uint8Array, purpose: Purpose, options: AnalyzeOptions = {}): Promise<Analysis> {
    if (this.closing) {
      this.failed++;
      return Promise.reject(closedError());
    }
    const idle = this.slots.find((s) => s.job === undefined);
    if (!idle && this.queue.length >= this.maxQueueLength) {
      this.failed++;
      return Promise.reject(
        new UserError(
          `Face analysis is overloaded: ${this.slots.length} image(s) in progress and ${this.queue.length} waiting. Try again in a moment.`,
          'overloaded',
        ),
      );
    }
    // A copy the worker can own: transferring the caller's buffer would empty it under the caller.
    const copy = new Uint8Array(bytes.byteLength);
    copy.set(bytes);
    return new Promise<Analysis>((resolve, reject) => {
      const job: Job = { id: this.nextJobId++, bytes: copy, purpose, options, resolve, reject };
      if (idle) this.run(idle, job);
      else this.queue.push(job);
    });
  }

  stats(): InferencePoolStats {
    return {
      size: this.slots.length,
      busy: this.slots.filter((s) => s.job !== undefined).length,
      queued: this.queue.length,
      completed: this.completed,
      failed: this.failed,
      wasmHeapBytes: this.slots.reduce((sum, s) => sum + s.wasmHeapBytes, 0),
    };
  }

  /** Workers replaced so far because their WebAssembly memory grew past workerWasmHeapMaxBytes. */
  get retiredWorkers(): number {
    return this.retired;
  }

  /** What each ready worker did about its CPU priority, by worker index. */
  threadPriorities(): ThreadPriority[] {
    return this.slots.map((s) => s.priority ?? { skipped: 'not reported' });
  }

  /** Rejects calls in progress and waiting, then resolves when every worker thread has exited. */
  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    for (const job of this.queue.splice(0)) this.settleFailed(job, closedError());
    for (const slot of this.slots) {
      if (slot.job) this.settleFailed(slot.job, closedError());
      slot.job = undefined;
    }
    await Promise.all([...this.workers].map(stopWorker));
  }

  private startWorker(index: number): Promise<Slot> {
    const entry = workerEntry();
    const worker = new Worker(entry.script, {
      eval: entry.eval,
      execArgv: entry.execArgv,
      workerData: this.init,
      name: `memberlens-inference-${index}`,
      ...(this.youngGenerationMaxMb ? { resourceLimits: { maxYoungGenerationSizeMb: this.youngGenerationMaxMb } } : {}),
    });
    this.workers.add(worker);
    const slot: Slot = { index, worker, job: undefined, crash: undefined, priority: undefined, retiring: false, wasmHeapBytes: 0 };
    let ready = false;
    return new Promise<Slot>((resolve, reject) => {
      worker.on('message', (message: WorkerToPool) => {
        switch (message.type) {
          case 'ready':
            ready = true;
            slot.priority = message.priority;
            this.firstBackend ??= message.backend;
            resolve(slot);
            break;
          case 'start-failed':
            reject(fromWireError(message.error, `Inference worker ${index} could not start the face engine: `));
            void worker.terminate();
            break;
          case 'result':
          case 'error':
            this.onReply(slot, message);
            break;
        }
      });
      worker.on('error', (err) => {
        slot.crash = err;
      });
      worker.on('exit', (code) => {
        this.workers.delete(worker);
        if (!ready) {
          // A no-op when 'start-failed' already rejected with the engine's own reason.
          const why = slot.crash ? errorMessage(slot.crash) : `exit code ${code}`;
          reject(new Error(`Inference worker ${index} could not start: ${why}`));
          return;
        }
        this.onExit(slot, code);
      });
    });
  }

  private run(slot: Slot, job: Job): void {
    slot.job = job;
    const message: PoolToWorker = { type: 'analyze', id: job.id, bytes: job.bytes, purpose: job.purpose, options: job.options };
    try {
      slot.worker.postMessage(message, [job.bytes.buffer as ArrayBuffer]);
    } catch (err) {
      // Options that cannot be cloned: the caller's mistake, and the worker is still free.
      slot.job = undefined;
      this.settleFailed(job, err instanceof Error ? err : new Error(String(err)));
      this.next(slot);
    }
  }

  private onReply(slot: Slot, message: Extract<WorkerToPool, { type: 'result' | 'error' }>): void {
    const job = slot.job;
    if (!job || job.id !== message.id) return;
    slot.job = undefined;
    slot.wasmHeapBytes = message.wasmHeapBytes ?? 0;
    if (message.retiring) this.onRetiring(slot);
    else this.next(slot);
    if (message.type === 'result') {
      this.completed++;
      job.resolve(message.analysis);
    } else {
      this.settleFailed(job, fromWireError(message.error));
    }
  }

  private next(slot: Slot): void {
    const job = this.queue.shift();
    if (job) this.run(slot, job);
  }

  /** The worker's last answer came: it exits next, and a fresh worker takes its place. */
  private onRetiring(slot: Slot): void {
    slot.retiring = true;
    const at = this.slots.indexOf(slot);
    if (at >= 0) this.slots.splice(at, 1);
    this.retired++;
    this.log.info({ worker: slot.index, wasmHeapMb: Math.round(slot.wasmHeapBytes / 1e6) }, `Inference worker ${slot.index} replaced to give back its grown WebAssembly memory`);
  }

  private onExit(slot: Slot, code: number): void {
    const at = this.slots.indexOf(slot);
    if (at >= 0) this.slots.splice(at, 1);
    if (this.closing) return;
    if (slot.retiring) {
      this.replace(slot.index, RESPAWN_DELAY_MS);
      return;
    }
    const why = slot.crash ? errorMessage(slot.crash) : `exit code ${code}`;
    this.log.error({ worker: slot.index, err: slot.crash, code }, `Inference worker ${slot.index} stopped unexpectedly (${why}); replacing it`);
    if (slot.job) {
      this.settleFailed(slot.job, new Error(`Inference worker ${slot.index} stopped unexpectedly while analyzing this image (${why})`));
      slot.job = undefined;
    }
    this.replace(slot.index, RESPAWN_DELAY_MS);
  }

  private replace(index: number, retryDelayMs: number): void {
    this.startWorker(index).then(
      (slot) => {
        if (this.closing) return;
        this.slots.push(slot);
        this.log.info({ worker: index }, `Inference worker ${index} replaced`);
        this.next(slot);
      },
      (err: unknown) => {
        if (this.closing) return;
        this.log.error({ worker: index, err }, `Inference worker ${index} could not be replaced; retrying in ${retryDelayMs} ms`);
        // With no worker left, waiting calls would hang until a retry succeeds, if ever.
        if (this.slots.length === 0) {
          const reason = `No inference worker is running: ${errorMessage(err)}`;
          for (const job of this.queue.splice(0)) this.settleFailed(job, new Error(reason));
        }
        setTimeout(() => {
          if (!this.closing) this.replace(index, Math.min(retryDelayMs * 2, RESPAWN_DELAY_MAX_MS));
        }, retryDelayMs).unref();
      },
    );
  }

  private settleFailed(job: Job, err: Error): void {
    this.failed++;
    job.reject(err);
  }
}

function closedError(): UserError {
  return new UserError('Face analysis stopped: the inference pool is shutting down.', 'shutting-down');
}

function stopWorker(worker: Worker): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => void worker.terminate(), STOP_GRACE_MS);
    worker.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    worker.postMessage({ type: 'stop' } satisfies PoolToWorker);
  });
}

/**
 * The compiled worker sits next to the compiled pool in dist/. Under vitest or tsx this module
 * is the .ts source, and a new thread knows nothing of TypeScript: on Node 20 a worker ignores
 * loader hooks given as `execArgv: ['--import', 'tsx']` for its entry and everything it imports
 * (nodejs/node#47747), so a two-line bootstrap registers tsx in the thread first.
 */
function workerEntry(): { script: URL | string; eval: boolean; execArgv: string[] | undefined } {
  if (!import.meta.url.endsWith('.ts')) {
    // execArgv undefined: the worker inherits this process's node options.
    return { script: new URL('./inferenceWorker.js', import.meta.url), eval: false, execArgv: undefined };
  }
  const entry = new URL('./inferenceWorker.ts', import.meta.url).href;
  // Resolved from this file, so it works whatever the working directory.
  const tsxApi = import.meta.resolve('tsx/esm/api');
  const script = `import(${JSON.stringify(tsxApi)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(entry)}); });`;
  // Empty execArgv: a tsx-run parent's own loader flags would register tsx a second time.
  return { script, eval: true, execArgv: [] };
}
