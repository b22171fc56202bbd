import type { Analysis, AnalyzeOptions, Purpose } from './faceEngine.js';

/**
 * What the vision room offers the rooms after it: bytes in, faces out. The face engine
 * satisfies it in-process, the inference pool through worker threads; callers see no difference.
 */
export interface FaceAnalyzer {
  analyzeBytes(bytes: Uint8Array, purpose: Purpose, options?: AnalyzeOptions): Promise<Analysis>;
}
