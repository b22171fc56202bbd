import type { Analysis, AnalyzeOptions, Purpose } from '../vision/faceEngine.js';

/**
 * What the matching room needs from the vision room: bytes in, faces out. The face engine
 * satisfies it in-process; a worker pool can satisfy it later without matching changing.
 */
export interface FaceAnalyzer {
  analyzeBytes(bytes: Uint8Array, purpose: Purpose, options?: AnalyzeOptions): Promise<Analysis>;
}
