import { DESCRIPTOR_LENGTH } from '../vision/faceDescriptor.js';
import { webAssembly, type WasmCompiledModule, type WasmGlobal, type WasmMemory } from './webAssemblyApi.js';

/*
 * Why the candidates are a provable superset of the exact answer.
 *
 * Gallery vector y is stored as ŷ = s·c with its own step s = max|y_i|/127 and int8 codes c;
 * its exact residual norm r = ‖y − ŷ‖₂ is kept beside it. The query x becomes x̂ = t·k with
 * t = max|x_i|/32767 and int16 codes k; e = ‖x − x̂‖₂. The kernel computes the integer
 * k·c exactly, so x̂·ŷ = t·s·(k·c) and
 *
 *   x·y − x̂·ŷ = x·(y − ŷ) + (x − x̂)·ŷ,   |…| ≤ ‖x‖₂·r + e·‖ŷ‖₂ ≤ ‖x‖₂·r + e·127·√128·s
 *
 * (Cauchy–Schwarz; |c_i| ≤ 127). With d² = ‖x‖² + ‖y‖² − 2x·y and the estimate
 * a = ‖x‖² + ‖y‖² − 2t·s·(k·c), the true squared distance lies in [a − E, a + E] where
 * E = 2‖x‖·r + 2e·127·√128·s + slack, and slack covers float64 rounding in a and in the
 * exact re-rank itself (relative error ≲ 1e-13 of ‖x‖² + ‖y‖², so 1e-9 is generous).
 *
 * If two different members have vectors with upper bounds ≤ T, the best face and the
 * nearest face of any other member are both within T, so every vector whose lower bound
 * exceeds T can be dropped. The survivors are re-ranked with exact float distances.
 */

const QUERY_CODE_MAX = 32767;
const GALLERY_CODE_MAX = 127;
const QUERY_OFFSET = 0;
const QUERY_BYTES = DESCRIPTOR_LENGTH * 2;
const CODE_BYTES = DESCRIPTOR_LENGTH;
/** f64 squared norm | f32 step | f32 residual norm | i32 member | 4 bytes pad (keeps f64 aligned) */
const META_BYTES = 24;
const CANDIDATE_LOWER_BYTES = 8;
const CANDIDATE_SLOT_BYTES = 4;
const BYTES_PER_SLOT = CODE_BYTES + META_BYTES + CANDIDATE_LOWER_BYTES + CANDIDATE_SLOT_BYTES;
const WASM_PAGE_BYTES = 65_536;
const ROUNDING_INFLATION = 1 + 1e-9;
const RELATIVE_SLACK = 1e-9;
const ENCODED_QUERY_NORM_BOUND = GALLERY_CODE_MAX * Math.sqrt(DESCRIPTOR_LENGTH);

interface KernelExports {
  scan(
    queryPtr: number,
    codesPtr: number,
    metaPtr: number,
    candLowerPtr: number,
    candSlotPtr: number,
    count: number,
    queryNorm2: number,
    dotScale: number,
    residualCoef: number,
    quantCoef: number,
    slack: number,
  ): number;
  bestUpper: WasmGlobal;
  secondUpper: WasmGlobal;
}

interface Layout {
  codes: number;
  meta: number;
  candidateLower: number;
  candidateSlot: number;
  end: number;
}

function layoutFor(capacity: number): Layout {
  const codes = QUERY_OFFSET + QUERY_BYTES;
  const meta = codes + capacity * CODE_BYTES;
  const candidateLower = meta + capacity * META_BYTES;
  const candidateSlot = candidateLower + capacity * CANDIDATE_LOWER_BYTES;
  return { codes, meta, candidateLower, candidateSlot, end: candidateSlot + capacity * CANDIDATE_SLOT_BYTES };
}

function pagesFor(bytes: number): number {
  return Math.ceil(bytes / WASM_PAGE_BYTES);
}

/**
 * int8 copies of the gallery in WebAssembly memory, slot for slot with the gallery's
 * float32 master copy, and the SIMD scan that narrows a search to a few exact checks.
 */
export class QuantizedIndex {
  private readonly memory: WasmMemory;
  private readonly kernel: KernelExports;
  private layout: Layout;
  private bytes!: Uint8Array;
  private int8!: Int8Array;
  private int16!: Int16Array;
  private int32!: Int32Array;
  private float32!: Float32Array;
  private float64!: Float64Array;
  /** Never lowered on removal: it only scales the rounding slack, where too large is safe. */
  private maxSquaredNorm = 0;

  static async create(kernelModule: WasmCompiledModule, capacity: number): Promise<QuantizedIndex> {
    const memory = new webAssembly.Memory({ initial: pagesFor(layoutFor(capacity).end) });
    const instance = await webAssembly.instantiate(kernelModule, { env: { memory } });
    return new QuantizedIndex(memory, instance.exports as unknown as KernelExports, capacity);
  }

  private constructor(memory: WasmMemory, kernel: KernelExports, capacity: number) {
    this.memory = memory;
    this.kernel = kernel;
    this.layout = layoutFor(capacity);
    this.refreshViews();
  }

  /** Makes room for `capacity` slots, keeping the first `count`; the metadata block moves up. */
  grow(capacity: number, count: number): void {
    const next = layoutFor(capacity);
    const missingPages = pagesFor(next.end) - this.memory.buffer.byteLength / WASM_PAGE_BYTES;
    if (missingPages > 0) {
      this.memory.grow(missingPages);
      this.refreshViews();
    }
    const previous = this.layout;
    this.bytes.copyWithin(next.meta, previous.meta, previous.meta + count * META_BYTES);
    // What lay between is stale metadata and candidate scratch; empty slots must read as zero.
    this.bytes.fill(0, previous.codes + count * CODE_BYTES, next.meta);
    this.bytes.fill(0, next.meta + count * META_BYTES, next.end);
    this.layout = next;
  }

  write(slot: number, descriptor: Float32Array, memberKey: number): void {
    let maxAbs = 0;
    let squaredNorm = 0;
    for (let i = 0; i < DESCRIPTOR_LENGTH; i++) {
      const value = descriptor[i]!;
      maxAbs = Math.max(maxAbs, Math.abs(value));
      squaredNorm += value * value;
    }
    const step = Math.fround(maxAbs / GALLERY_CODE_MAX);
    const codeBase = this.layout.codes + slot * CODE_BYTES;
    let squaredResidual = 0;
    for (let i = 0; i < DESCRIPTOR_LENGTH; i++) {
      const value = descriptor[i]!;
      const code = step === 0 ? 0 : Math.max(-GALLERY_CODE_MAX, Math.min(GALLERY_CODE_MAX, Math.round(value / step)));
      this.int8[codeBase + i] = code;
      const residual = value - step * code;
      squaredResidual += residual * residual;
    }
    const metaBase = this.layout.meta + slot * META_BYTES;
    this.float64[metaBase / 8] = squaredNorm;
    this.float32[metaBase / 4 + 2] = step;
    // Rounded up so float32 storage can only loosen the bound, never break it.
    this.float32[metaBase / 4 + 3] = Math.fround(Math.sqrt(squaredResidual) * (1 + 1e-6));
    this.int32[metaBase / 4 + 4] = memberKey;
    this.maxSquaredNorm = Math.max(this.maxSquaredNorm, squaredNorm);
  }

  move(from: number, to: number): void {
    const { codes, meta } = this.layout;
    this.bytes.copyWithin(codes + to * CODE_BYTES, codes + from * CODE_BYTES, codes + (from + 1) * CODE_BYTES);
    this.bytes.copyWithin(meta + to * META_BYTES, meta + from * META_BYTES, meta + (from + 1) * META_BYTES);
  }

  clear(slot: number): void {
    const { codes, meta } = this.layout;
    this.bytes.fill(0, codes + slot * CODE_BYTES, codes + (slot + 1) * CODE_BYTES);
    this.bytes.fill(0, meta + slot * META_BYTES, meta + (slot + 1) * META_BYTES);
  }

  /**
   * Slots among the first `count` that may hold the nearest face or the nearest face of
   * another member; every other slot is provably farther than both.
   */
  candidateSlots(query: Float32Array, count: number): number[] {
    let maxAbs = 0;
    let queryNorm2 = 0;
    for (let i = 0; i < DESCRIPTOR_LENGTH; i++) {
      const value = query[i]!;
      maxAbs = Math.max(maxAbs, Math.abs(value));
      queryNorm2 += value * value;
    }
    const step = maxAbs / QUERY_CODE_MAX;
    let squaredQueryError = 0;
    for (let i = 0; i < DESCRIPTOR_LENGTH; i++) {
      const value = query[i]!;
      const code = step === 0 ? 0 : Math.max(-QUERY_CODE_MAX, Math.min(QUERY_CODE_MAX, Math.round(value / step)));
      this.int16[QUERY_OFFSET / 2 + i] = code;
      const residual = value - step * code;
      squaredQueryError += residual * residual;
    }
    const { codes, meta, candidateLower, candidateSlot } = this.layout;
    const found = this.kernel.scan(
      QUERY_OFFSET,
      codes,
      meta,
      candidateLower,
      candidateSlot,
      count,
      queryNorm2,
      2 * step,
      2 * Math.sqrt(queryNorm2) * ROUNDING_INFLATION,
      2 * Math.sqrt(squaredQueryError) * ENCODED_QUERY_NORM_BOUND * ROUNDING_INFLATION,
      RELATIVE_SLACK * (1 + 4 * (queryNorm2 + this.maxSquaredNorm)),
    );
    // A stranger's query must not outlive the search in this memory.
    this.bytes.fill(0, QUERY_OFFSET, QUERY_OFFSET + QUERY_BYTES);

    const secondUpper = this.kernel.secondUpper.value as number;
    // With a single member there is no second-best to protect, only the best.
    const keepUpTo = Number.isFinite(secondUpper) ? secondUpper : (this.kernel.bestUpper.value as number);
    const lowerBase = candidateLower / 8;
    const slotBase = candidateSlot / 4;
    const slots: number[] = [];
    for (let i = 0; i < found; i++) {
      if (this.float64[lowerBase + i]! <= keepUpTo) slots.push(this.int32[slotBase + i]!);
    }
    // The bounds say how near the query came to enrolled faces; they go with the query.
    this.bytes.fill(0, candidateLower, candidateLower + found * CANDIDATE_LOWER_BYTES);
    this.bytes.fill(0, candidateSlot, candidateSlot + found * CANDIDATE_SLOT_BYTES);
    return slots;
  }

  /** The whole WebAssembly memory, for privacy checks that deleted faces left no trace. */
  memoryBytes(): Uint8Array {
    return new Uint8Array(this.memory.buffer);
  }

  private refreshViews(): void {
    const buffer = this.memory.buffer;
    this.bytes = new Uint8Array(buffer);
    this.int8 = new Int8Array(buffer);
    this.int16 = new Int16Array(buffer);
    this.int32 = new Int32Array(buffer);
    this.float32 = new Float32Array(buffer);
    this.float64 = new Float64Array(buffer);
  }
}
