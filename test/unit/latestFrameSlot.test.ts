import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import type { Frame } from '../../src/sources/cameraSource.js';
import { LatestFrameSlot } from '../../src/sources/latestFrameSlot.js';

const frame = (seq: number): Frame => ({ lane: 'L1', seq, atMs: seq, bytes: new Uint8Array([seq & 0xff]) });

describe('LatestFrameSlot', () => {
  it('keeps only the newest waiting frame and counts each one it replaces', () => {
    const slot = new LatestFrameSlot();
    expect(slot.take()).toBeUndefined();
    slot.offer(frame(1));
    slot.offer(frame(2));
    slot.offer(frame(3));
    expect(slot.pending).toBe(1);
    expect(slot.dropped).toBe(2);
    expect(slot.take()?.seq).toBe(3);
    expect(slot.pending).toBe(0);
    expect(slot.take()).toBeUndefined();
  });

  it('hands a frame straight to a waiting consumer without holding or dropping it', async () => {
    const slot = new LatestFrameSlot();
    const waiting = slot.next();
    slot.offer(frame(7));
    expect(slot.pending).toBe(0);
    expect((await waiting)?.seq).toBe(7);
    expect(slot.dropped).toBe(0);
  });

  it('refuses a second consumer and releases the waiting one on close', async () => {
    const slot = new LatestFrameSlot();
    const first = slot.next();
    await expect(slot.next()).rejects.toThrow(/another next\(\)/);
    slot.close();
    await expect(first).resolves.toBeUndefined();
    slot.offer(frame(1));
    expect(slot.pending).toBe(0);
    await expect(slot.next()).resolves.toBeUndefined();
  });

  it('against a slow consumer: at most one pending, drops counted exactly, newest always delivered', async () => {
    const slot = new LatestFrameSlot();
    const offered = 120;
    const delivered: number[] = [];
    let maxPending = 0;
    let producing = true;

    const consumer = (async () => {
      for (;;) {
        const next = await slot.next();
        if (next === undefined) return;
        delivered.push(next.seq);
        // Inference that takes several producer periods per frame.
        await sleep(12);
        if (!producing && slot.pending === 0) return;
      }
    })();

    for (let seq = 1; seq <= offered; seq += 1) {
      slot.offer(frame(seq));
      maxPending = Math.max(maxPending, slot.pending);
      await sleep(1);
    }
    producing = false;
    await consumer;

    expect(maxPending).toBe(1);
    expect(delivered.length).toBeLessThan(offered / 2);
    expect(delivered.at(-1)).toBe(offered);
    for (let i = 1; i < delivered.length; i += 1) expect(delivered[i]!).toBeGreaterThan(delivered[i - 1]!);
    const deliveredSet = new Set(delivered);
    const neverDelivered = Array.from({ length: offered }, (_, i) => i + 1).filter((s) => !deliveredSet.has(s));
    expect(slot.dropped).toBe(neverDelivered.length);
    expect(slot.pending).toBe(0);
  });
});
