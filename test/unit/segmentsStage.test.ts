import { afterEach, describe, expect, it, vi } from 'vitest';
import { createLogger } from '../../src/core/logger.js';
import { SegmentsStage } from '../../src/stages/segmentsStage.js';

const HOUR_MS = 3_600_000;

describe('segments stage', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('recomputes every member at start and every segments.recomputeEveryHours, and stops the pass in progress', async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    const signals: AbortSignal[] = [];
    const recomputeAll = vi.fn(async (signal?: AbortSignal) => {
      signals.push(signal!);
      return { members: 3, medians: null };
    });
    const stage = new SegmentsStage({ segments: { recomputeAll }, everyHours: 24, log: createLogger('silent') });
    // The constructor only stores what it is given.
    expect(recomputeAll).not.toHaveBeenCalled();

    stage.start();
    await vi.waitFor(() => expect(recomputeAll).toHaveBeenCalledTimes(1));
    vi.advanceTimersByTime(23 * HOUR_MS);
    expect(recomputeAll).toHaveBeenCalledTimes(1);
    vi.advanceTimersByTime(HOUR_MS);
    await vi.waitFor(() => expect(recomputeAll).toHaveBeenCalledTimes(2));

    await stage.stop();
    expect(signals.every((s) => s.aborted)).toBe(true);
    vi.advanceTimersByTime(48 * HOUR_MS);
    expect(recomputeAll).toHaveBeenCalledTimes(2);
  });
});
