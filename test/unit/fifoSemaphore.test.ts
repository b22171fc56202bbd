import { describe, expect, it } from 'vitest';
import { FifoSemaphore } from '../../src/core/fifoSemaphore.js';

describe('FifoSemaphore', () => {
  it('hands out at most N permits and serves waiters in arrival order', async () => {
    const sem = new FifoSemaphore(2);
    const order: string[] = [];
    const a = await sem.acquire();
    const b = await sem.acquire();
    const waiters = ['c', 'd', 'e'].map((name) => sem.acquire().then((release) => (order.push(name), release)));
    await Promise.resolve();
    expect(order).toEqual([]);
    expect(sem.queued).toBe(3);
    a();
    a(); // a second release of the same permit is ignored
    const c = await waiters[0]!;
    expect(order).toEqual(['c']);
    b();
    const d = await waiters[1]!;
    c();
    const e = await waiters[2]!;
    expect(order).toEqual(['c', 'd', 'e']);
    d();
    e();
    // Both permits are back: two immediate acquisitions, a third waits.
    await sem.acquire();
    await sem.acquire();
    let third = false;
    void sem.acquire().then(() => (third = true));
    await new Promise((r) => setTimeout(r, 10));
    expect(third).toBe(false);
  });

  it('refuses a non-positive permit count', () => {
    expect(() => new FifoSemaphore(0)).toThrow(/positive integer/);
  });
});
