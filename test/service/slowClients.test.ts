import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { postJson, startTestApp, type TestApp } from '../support/testApp.js';

const HEADERS_TIMEOUT_MS = 3000;
const REQUEST_TIMEOUT_MS = 5000;
/** A stalled client trickles a few bytes this often, as a slowloris attack does to look alive. */
const TRICKLE_EVERY_MS = 200;

let t: TestApp;

beforeAll(async () => {
  t = await startTestApp('slow-clients', {
    server: { port: 0, headersTimeoutMs: HEADERS_TIMEOUT_MS, requestTimeoutMs: REQUEST_TIMEOUT_MS },
  });
});

afterAll(async () => {
  await t?.stop();
});

interface SlowClient {
  /** Everything the service sent before it closed the connection, and when it closed. */
  closed: Promise<{ reply: string; afterMs: number }>;
  socket: Socket;
}

/** A raw TCP client that sends `head` at once and then `trickle` bytes one at a time, forever. */
function slowClient(head: string, trickle: string): SlowClient {
  const { hostname, port } = new URL(t.app.url);
  const socket = connect({ host: hostname, port: Number(port) });
  const started = Date.now();
  let reply = '';
  let timer: NodeJS.Timeout | undefined;
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => (reply += chunk));
  socket.once('connect', () => {
    socket.write(head);
    let i = 0;
    timer = setInterval(() => socket.write(trickle[i++ % trickle.length]!), TRICKLE_EVERY_MS);
  });
  const closed = new Promise<{ reply: string; afterMs: number }>((resolve) => {
    socket.once('close', () => {
      clearInterval(timer);
      resolve({ reply, afterMs: Date.now() - started });
    });
    // The service may reset the connection while the client is still writing.
    socket.on('error', () => undefined);
  });
  return { closed, socket };
}

it('disconnects a client that never finishes its headers, or its body, with 408 — and serves everyone else meanwhile', async () => {
  const payment = {
    orderId: 'slow-1',
    lane: 'lane1',
    channel: 'wechat',
    appId: 'fake-app',
    payerId: 'payer-slow-1',
    amount: 20,
    paidAt: new Date().toISOString(),
  };
  const body = JSON.stringify(payment);
  const slowHeaders = slowClient(`POST /api/payments HTTP/1.1\r\nHost: till\r\n`, 'X-Padding: aaaa\r\n');
  const slowBody = slowClient(
    `POST /api/payments HTTP/1.1\r\nHost: till\r\nAuthorization: Bearer ${t.tokens.pos}\r\n` +
      `Content-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`,
    body, // the whole body, one byte per tick: it would take far longer than the request timeout
  );

  // While both hang on, the service answers others as usual.
  expect((await fetch(`${t.app.url}/healthz`)).status).toBe(200);
  const other = await postJson(`${t.app.url}/api/payments`, t.tokens.pos, { ...payment, orderId: 'other-1', payerId: 'payer-other' });
  expect(other.status).toBe(201);
  expect(slowHeaders.socket.closed || slowBody.socket.closed).toBe(false);

  const headers = await slowHeaders.closed;
  expect(headers.reply).toMatch(/^HTTP\/1\.1 408/);
  // Within the timeout plus Node's check interval (1 s here), not after Node's default 30 s.
  expect(headers.afterMs).toBeGreaterThanOrEqual(HEADERS_TIMEOUT_MS - 100);
  expect(headers.afterMs).toBeLessThan(HEADERS_TIMEOUT_MS + 2500);

  const bodyClosed = await slowBody.closed;
  expect(bodyClosed.reply).toMatch(/^HTTP\/1\.1 408/);
  expect(bodyClosed.afterMs).toBeGreaterThanOrEqual(REQUEST_TIMEOUT_MS - 100);
  expect(bodyClosed.afterMs).toBeLessThan(REQUEST_TIMEOUT_MS + 2500);

  // The half-sent payment was never recorded: sent properly now, it is new.
  const sentProperly = await postJson(`${t.app.url}/api/payments`, t.tokens.pos, payment);
  expect(sentProperly.status).toBe(201);
  expect(sentProperly.body.duplicate).toBe(false);
});
