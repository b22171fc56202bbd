import { isMainThread, parentPort, threadId, workerData } from 'node:worker_threads';
import { childLogger, createLogger } from '../core/logger.js';
import { FaceEngine } from './faceEngine.js';
import { type PoolToWorker, type WorkerInit, type WorkerToPool, toWireError } from './inferenceProtocol.js';
import { lowerThisThreadPriority } from './threadPriority.js';

/**
 * One thread of the inference pool: owns one FaceEngine (TensorFlow.js state is per thread)
 * and answers one analyze message at a time, so the main thread never runs a network.
 */
if (isMainThread || !parentPort) throw new Error('inferenceWorker runs only as a worker thread started by InferencePool');
const port = parentPort;
const init = workerData as WorkerInit;
// Its own pino instance at the pool's level: a worker's process.stderr is forwarded to the parent's.
const log = childLogger(createLogger(init.logLevel), 'vision.worker').child({ thread: threadId });

function send(message: WorkerToPool, transfer: ArrayBuffer[] = []): void {
  port.postMessage(message, transfer);
}

let busy = false;
let stopRequested = false;

// Listening before the engine exists lets the pool stop a worker that is still loading models.
port.on('message', (message: PoolToWorker) => {
  if (message.type === 'stop') {
    stopRequested = true;
    // Exiting between calls, never during one, keeps sharp's native work from outliving the thread.
    if (!busy) process.exit(0);
    return;
  }
  void analyze(message);
});

// Before the engine exists, so that loading models already yields to the main thread.
const priority = lowerThisThreadPriority(init.nice);

let engine: FaceEngine;
try {
  engine = await FaceEngine.create(init.vision, log);
  send({ type: 'ready', backend: engine.backend, priority });
} catch (err) {
  // The pool terminates this thread once it has the reason.
  send({ type: 'start-failed', error: toWireError(err) });
}

async function analyze(request: Extract<PoolToWorker, { type: 'analyze' }>): Promise<void> {
  busy = true;
  let reply: Extract<WorkerToPool, { type: 'result' | 'error' }>;
  const transfer: ArrayBuffer[] = [];
  try {
    const analysis = await engine.analyzeBytes(request.bytes, request.purpose, request.options);
    for (const face of analysis.faces) {
      if (!face.descriptor) continue;
      // A descriptor may view a larger tensor buffer; its own copy is 512 bytes to move, not the whole buffer.
      face.descriptor = new Float32Array(face.descriptor);
      transfer.push(face.descriptor.buffer as ArrayBuffer);
    }
    reply = { type: 'result', id: request.id, analysis };
  } catch (err) {
    reply = { type: 'error', id: request.id, error: toWireError(err) };
  }
  // Said with the answer, so the pool gives this worker no further call.
  const heap = engine.wasmHeapBytes();
  const retiring = !stopRequested && init.wasmHeapMaxBytes > 0 && heap !== undefined && heap > init.wasmHeapMaxBytes;
  if (heap !== undefined) reply.wasmHeapBytes = heap;
  if (retiring) reply.retiring = true;
  send(reply, transfer);
  busy = false;
  if (retiring || stopRequested) process.exit(0);
}
