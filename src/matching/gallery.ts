import { assertValidDescriptor, DESCRIPTOR_LENGTH } from '../vision/faceDescriptor.js';
import { loadDistanceKernel } from './distanceKernel.js';
import { exactSquaredDistance, NearestTwoMembers, type RankedFace } from './exactRanking.js';
import { QuantizedIndex } from './quantizedIndex.js';

export interface GalleryHit {
  memberId: string;
  faceId: string;
  /** Exact Euclidean distance over the float32 descriptors. */
  distance: number;
}

export interface GallerySearch {
  best?: GalleryHit;
  /** Nearest face of a member other than best's: the margin of a match is taken against it. */
  secondBest?: GalleryHit;
}

/** simd-int8: WebAssembly SIMD pre-scan then exact re-rank; js-float: exact scan in plain JS. */
export type SearchKernel = 'simd-int8' | 'js-float';

export interface GalleryOptions {
  /** Slots reserved up front; the gallery doubles whenever it fills. */
  initialCapacity?: number;
  /** 'auto' uses simd-int8 when the runtime and the built kernel allow it. */
  kernel?: 'auto' | SearchKernel;
}

const DEFAULT_INITIAL_CAPACITY = 1024;

interface MemberEntry {
  /** Small integer standing for the member inside the WebAssembly kernel. */
  key: number;
  faceIds: Set<string>;
}

/**
 * Every enrolled face descriptor in memory, in one contiguous float32 block (slot i holds
 * floats [128·i, 128·i + 128)), searchable 1:N. Removal moves the last slot into the hole
 * and zeroes what it leaves behind, so a deleted face's numbers do not linger.
 */
export class Gallery {
  readonly kernel: SearchKernel;
  /** Why the faster kernel is not in use, for the startup log; undefined when it is. */
  readonly kernelFallbackReason: string | undefined;

  private capacity: number;
  private count = 0;
  private descriptors: Float32Array;
  private readonly quantized: QuantizedIndex | undefined;
  private readonly faceIdBySlot: string[] = [];
  private readonly memberIdBySlot: string[] = [];
  private readonly slotByFaceId = new Map<string, number>();
  private readonly members = new Map<string, MemberEntry>();
  private nextMemberKey = 0;

  static async create(options: GalleryOptions = {}): Promise<Gallery> {
    const capacity = options.initialCapacity ?? DEFAULT_INITIAL_CAPACITY;
    if (!Number.isInteger(capacity) || capacity < 1) {
      throw new Error(`initialCapacity must be a positive integer, got ${capacity}`);
    }
    const wanted = options.kernel ?? 'auto';
    if (wanted === 'js-float') return new Gallery(capacity, undefined, undefined);

    const loaded = await loadDistanceKernel();
    if (!loaded.available) {
      if (wanted === 'simd-int8') throw new Error(`simd-int8 search kernel unavailable: ${loaded.reason}`);
      return new Gallery(capacity, undefined, loaded.reason);
    }
    return new Gallery(capacity, await QuantizedIndex.create(loaded.module, capacity), undefined);
  }

  private constructor(capacity: number, quantized: QuantizedIndex | undefined, fallbackReason: string | undefined) {
    this.capacity = capacity;
    this.descriptors = new Float32Array(capacity * DESCRIPTOR_LENGTH);
    this.quantized = quantized;
    this.kernel = quantized === undefined ? 'js-float' : 'simd-int8';
    this.kernelFallbackReason = fallbackReason;
  }

  /** Number of face descriptors held. */
  get size(): number {
    return this.count;
  }

  /** Number of distinct members with at least one face. */
  get memberCount(): number {
    return this.members.size;
  }

  /** Each face held, with its member: to compare with the database. */
  *faces(): IterableIterator<{ faceId: string; memberId: string }> {
    for (let slot = 0; slot < this.count; slot++) yield { faceId: this.faceIdBySlot[slot]!, memberId: this.memberIdBySlot[slot]! };
  }

  has(faceId: string): boolean {
    return this.slotByFaceId.has(faceId);
  }

  add(faceId: string, memberId: string, descriptor: Float32Array): void {
    if (typeof faceId !== 'string' || faceId === '') throw new Error('faceId must be a non-empty string');
    if (typeof memberId !== 'string' || memberId === '') throw new Error('memberId must be a non-empty string');
    assertValidDescriptor(descriptor, `descriptor of face ${faceId}`);
    if (this.slotByFaceId.has(faceId)) {
      throw new Error(`face ${faceId} is already in the gallery; remove it before adding it again`);
    }
    if (this.count === this.capacity) this.grow();

    let member = this.members.get(memberId);
    if (member === undefined) {
      member = { key: this.nextMemberKey++, faceIds: new Set() };
      this.members.set(memberId, member);
    }
    const slot = this.count;
    this.descriptors.set(descriptor, slot * DESCRIPTOR_LENGTH);
    this.quantized?.write(slot, descriptor, member.key);
    this.faceIdBySlot[slot] = faceId;
    this.memberIdBySlot[slot] = memberId;
    this.slotByFaceId.set(faceId, slot);
    member.faceIds.add(faceId);
    this.count++;
  }

  /** Forgets one face; false when it was not in the gallery. */
  remove(faceId: string): boolean {
    const slot = this.slotByFaceId.get(faceId);
    if (slot === undefined) return false;
    const memberId = this.memberIdBySlot[slot]!;
    const last = this.count - 1;
    if (slot !== last) {
      this.descriptors.copyWithin(slot * DESCRIPTOR_LENGTH, last * DESCRIPTOR_LENGTH, (last + 1) * DESCRIPTOR_LENGTH);
      this.quantized?.move(last, slot);
      const movedFaceId = this.faceIdBySlot[last]!;
      this.faceIdBySlot[slot] = movedFaceId;
      this.memberIdBySlot[slot] = this.memberIdBySlot[last]!;
      this.slotByFaceId.set(movedFaceId, slot);
    }
    this.descriptors.fill(0, last * DESCRIPTOR_LENGTH, (last + 1) * DESCRIPTOR_LENGTH);
    this.quantized?.clear(last);
    this.faceIdBySlot.length = last;
    this.memberIdBySlot.length = last;
    this.slotByFaceId.delete(faceId);
    this.count = last;

    const member = this.members.get(memberId)!;
    member.faceIds.delete(faceId);
    if (member.faceIds.size === 0) this.members.delete(memberId);
    return true;
  }

  /** Forgets every face of a member (consent withdrawn, member deleted); returns how many. */
  removeMember(memberId: string): number {
    const member = this.members.get(memberId);
    if (member === undefined) return 0;
    const faceIds = [...member.faceIds];
    for (const faceId of faceIds) this.remove(faceId);
    return faceIds.length;
  }

  /** The nearest face and the nearest face of another member, by exact Euclidean distance. */
  search(query: Float32Array): GallerySearch {
    assertValidDescriptor(query, 'search query');
    const nearest = new NearestTwoMembers();
    if (this.quantized === undefined) {
      let limit = Infinity;
      for (let slot = 0; slot < this.count; slot++) {
        const squaredDistance = exactSquaredDistance(this.descriptors, slot * DESCRIPTOR_LENGTH, query);
        if (squaredDistance > limit) continue;
        nearest.offer(this.faceIdBySlot[slot]!, this.memberIdBySlot[slot]!, squaredDistance);
        limit = nearest.admissionLimit;
      }
    } else if (this.count > 0) {
      for (const slot of this.quantized.candidateSlots(query, this.count)) {
        const squaredDistance = exactSquaredDistance(this.descriptors, slot * DESCRIPTOR_LENGTH, query);
        nearest.offer(this.faceIdBySlot[slot]!, this.memberIdBySlot[slot]!, squaredDistance);
      }
    }
    const result: GallerySearch = {};
    if (nearest.best !== undefined) result.best = toHit(nearest.best);
    if (nearest.secondBest !== undefined) result.secondBest = toHit(nearest.secondBest);
    return result;
  }

  /**
   * Every byte that holds descriptor data, used or spare, so a privacy audit (and the
   * tests) can check that a deleted face left nothing behind.
   */
  inspectStorage(): { float32Descriptors: Float32Array; quantizedMemory?: Uint8Array } {
    const view: { float32Descriptors: Float32Array; quantizedMemory?: Uint8Array } = {
      float32Descriptors: this.descriptors,
    };
    if (this.quantized !== undefined) view.quantizedMemory = this.quantized.memoryBytes();
    return view;
  }

  private grow(): void {
    const capacity = this.capacity * 2;
    // First, because WebAssembly memory is the one that can refuse to grow (4 GiB).
    this.quantized?.grow(capacity, this.count);
    const descriptors = new Float32Array(capacity * DESCRIPTOR_LENGTH);
    descriptors.set(this.descriptors);
    // The old block is left to the garbage collector, which does not clear memory.
    this.descriptors.fill(0);
    this.descriptors = descriptors;
    this.capacity = capacity;
  }
}

function toHit(face: RankedFace): GalleryHit {
  return { memberId: face.memberId, faceId: face.faceId, distance: Math.sqrt(face.squaredDistance) };
}
