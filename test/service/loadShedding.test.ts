import { afterAll, beforeAll, expect, it } from 'vitest';
import { faceFrame, metricValue, pushFrame, waitUntil } from '../support/frames.js';
import { bearer, postJson, startTestApp, type TestApp } from '../support/testApp.js';

/** Lower than the default so the test needs only short stalls. */
const SHED_ABOVE_LAG_MS = 100;
/** Each slice of work that holds the main thread, longer than the limit. */
const STALL_SLICE_MS = 180;

let t: TestApp;
let url: string;

beforeAll(async () => {
  t = await startTestApp('shedding', { server: { port: 0, shedLoadAboveLagMs: SHED_ABOVE_LAG_MS } });
  url = t.app.url;
});

afterAll(async () => {
  await t?.stop();
});

const health = async () => (await (await fetch(`${url}/healthz`)).json()) as { shedding: boolean; eventLoopLagMs: number };
const payment = (orderId: string) => ({
  orderId,
  lane: 'lane1',
  channel: 'wechat',
  appId: 'fake-app',
  payerId: 'payer-shedding-1',
  amount: 12,
  paidAt: new Date().toISOString(),
});

/**
 * Keeps this process's event loop — the service's, since the app runs in-process — behind on
 * every turn, as a flood of work would: slices of busy work with a single turn in between.
 */
function stallTheLoop(): { stop: () => Promise<void> } {
  let running = true;
  const done = (async () => {
    while (running) {
      const until = Date.now() + STALL_SLICE_MS;
      while (Date.now() < until) {
        // busy, as a request handler that never yields would be
      }
      await new Promise((r) => setImmediate(r));
    }
  })();
  return {
    stop: async () => {
      running = false;
      await done;
    },
  };
}

it('refuses frames and ledger writes with 503 + Retry-After while the main thread is behind, keeps /healthz and scans, and takes them again once it catches up', async () => {
  expect(await health()).toMatchObject({ shedding: false });
  const before = await postJson(`${url}/api/payments`, t.tokens.pos, payment('quiet-1'));
  expect(before.status).toBe(201);

  const stall = stallTheLoop();
  try {
    await waitUntil(async () => (await health()).shedding, 'the service to start shedding', 20_000);

    const refused = await fetch(`${url}/api/payments`, {
      method: 'POST',
      headers: { ...bearer(t.tokens.pos), 'content-type': 'application/json' },
      body: JSON.stringify(payment('busy-1')),
    });
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toBe('1');
    const body = (await refused.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('overloaded');
    expect(body.error.message).toMatch(/send the same request again in 1 s/);

    const frame = await pushFrame(url, 'lane1', t.tokens.device, await faceFrame('amy/amy2.png'));
    expect(frame.status).toBe(503);

    // Never shed: the cashier's scan and the health check still answer.
    const scan = await postJson(`${url}/api/lanes/lane1/scans`, t.tokens.device, { code: '134567890123456789' });
    expect(scan.status).toBe(200);
    const healthz = await fetch(`${url}/healthz`);
    expect(healthz.status).toBe(200);
    // A wrong token is still told so, not "busy": the guard runs first.
    const forged = await postJson(`${url}/api/payments`, 'ml_forged', payment('busy-2'));
    expect(forged.status).toBe(401);
  } finally {
    await stall.stop();
  }

  await waitUntil(async () => !(await health()).shedding, 'the service to stop shedding', 20_000);
  // The refused payment left nothing behind: sent again, it is new, not a duplicate.
  const again = await postJson(`${url}/api/payments`, t.tokens.pos, payment('busy-1'));
  expect(again.status).toBe(201);
  expect(again.body.duplicate).toBe(false);
  expect(await metricValue(url, t.tokens.admin, 'memberlens_requests_shed_total{what="ledger writes"}')).toBeGreaterThanOrEqual(1);
  expect(await metricValue(url, t.tokens.admin, 'memberlens_requests_shed_total{what="pushed frames"}')).toBeGreaterThanOrEqual(1);
});
