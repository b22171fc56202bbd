import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { io as connectClient, type Socket as ClientSocket } from 'socket.io-client';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/core/logger.js';
import { TillGateway, type TillGatewayOptions, type TillPrincipal } from '../../src/push/tillGateway.js';
import { TILL_NAMESPACE, type MemberRecognized, type TillHandshakeAuth } from '../../src/push/tillEvents.js';

const TILL_TOKEN = 'till-secret';
const ADMIN_TOKEN = 'admin-secret';
const ACK_TIMEOUT_MS = 200;

const principals = new Map<string, TillPrincipal>([
  [TILL_TOKEN, { role: 'till', tokenId: 'tok-till-1' }],
  [ADMIN_TOKEN, { role: 'admin', tokenId: 'tok-admin-1' }],
]);

let servers: http.Server[] = [];
let gateways: TillGateway[] = [];
let clients: ClientSocket[] = [];

afterEach(async () => {
  for (const client of clients) client.disconnect();
  // Twice at once: stop must be idempotent.
  await Promise.all(gateways.flatMap((gateway) => [gateway.stop(), gateway.stop()]));
  await Promise.all(
    servers.filter((server) => server.listening).map((server) => new Promise((resolve) => server.close(resolve))),
  );
  servers = [];
  gateways = [];
  clients = [];
});

interface Harness {
  gateway: TillGateway;
  url: string;
  connectionCounts: number[];
}

async function startGateway(overrides: Partial<TillGatewayOptions> = {}): Promise<Harness> {
  const httpServer = http.createServer();
  servers.push(httpServer);
  const connectionCounts: number[] = [];
  const gateway = new TillGateway({
    httpServer,
    authenticate: (token) => principals.get(token),
    lanes: () => ['A', 'B'],
    recoveryWindowMs: 120_000,
    ackTimeoutMs: ACK_TIMEOUT_MS,
    log: createLogger('silent'),
    onConnectionsChanged: (n) => connectionCounts.push(n),
    ...overrides,
  });
  gateways.push(gateway);
  gateway.start();
  await new Promise<void>((resolve) => httpServer.listen(0, '127.0.0.1', resolve));
  const { port } = httpServer.address() as AddressInfo;
  return { gateway, url: `http://127.0.0.1:${port}${TILL_NAMESPACE}`, connectionCounts };
}

/** Reconnection is manual so that a test decides what happens while the till is away. */
function till(url: string, auth: Partial<TillHandshakeAuth>): ClientSocket {
  const client = connectClient(url, { auth, transports: ['websocket'], reconnection: false, forceNew: true });
  clients.push(client);
  return client;
}

function connected(client: ClientSocket): Promise<void> {
  return new Promise((resolve, reject) => {
    client.once('connect', () => resolve());
    client.once('connect_error', reject);
  });
}

function refused(client: ClientSocket): Promise<Error> {
  return new Promise((resolve, reject) => {
    client.once('connect', () => reject(new Error('connection was accepted')));
    client.once('connect_error', resolve);
  });
}

async function waitFor(condition: () => boolean, what: string, timeoutMs = 2_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function recognized(lane: string, eventId: string): MemberRecognized {
  return {
    eventId,
    lane,
    at: '2025-05-01T10:00:00.000Z',
    memberId: 'm-42',
    name: 'Li Wei',
    tier: { name: 'Gold', discountRate: 0.9 },
    points: 1280,
    prompts: [],
    balance: 356.5,
    confidence: 0.93,
    thumbnailUrl: '/api/members/m-42/thumbnail',
  };
}

/** Records member:recognized events, acknowledging them unless told not to. */
function collect(client: ClientSocket, { ack = true } = {}): MemberRecognized[] {
  const received: MemberRecognized[] = [];
  client.on('member:recognized', (event: MemberRecognized, done: () => void) => {
    received.push(event);
    if (ack) done();
  });
  return received;
}

describe('TillGateway', () => {
  it('delivers an event to a till of its lane, unchanged, and counts the acknowledgement', async () => {
    const { gateway, url } = await startGateway();
    const client = till(url, { token: TILL_TOKEN, lane: 'A' });
    const received = collect(client);
    await connected(client);

    const sent = recognized('A', 'ev-1');
    gateway.emitToLane('A', 'member:recognized', sent);

    await waitFor(() => gateway.stats().eventsAcked === 1, 'the acknowledgement');
    expect(received).toEqual([sent]);
    expect(gateway.stats()).toMatchObject({ eventsSent: 1, eventsAcked: 1, ackTimeouts: 0 });
  });

  it('keeps lanes apart', async () => {
    const { gateway, url } = await startGateway();
    const laneA = till(url, { token: TILL_TOKEN, lane: 'A' });
    const laneB = till(url, { token: TILL_TOKEN, lane: 'B' });
    const receivedA = collect(laneA);
    const receivedB = collect(laneB);
    await Promise.all([connected(laneA), connected(laneB)]);

    gateway.emitToLane('A', 'member:recognized', recognized('A', 'ev-a'));
    gateway.emitToLane('B', 'member:recognized', recognized('B', 'ev-b'));

    await waitFor(() => receivedA.length === 1 && receivedB.length === 1, 'both lanes');
    expect(receivedA.map((e) => e.eventId)).toEqual(['ev-a']);
    expect(receivedB.map((e) => e.eventId)).toEqual(['ev-b']);
  });

  it('refuses a till without a token and says where to get one', async () => {
    const { gateway, url } = await startGateway();
    const err = await refused(till(url, { lane: 'A' }));
    expect(err.message).toBe('till token missing or invalid; get a till token from the admin');
    expect(gateway.stats().connectedTills).toBe(0);
  });

  it('refuses a wrong token', async () => {
    const { gateway, url } = await startGateway();
    const err = await refused(till(url, { token: 'not-a-token', lane: 'A' }));
    expect(err.message).toContain('get a till token from the admin');
    expect(gateway.stats().connectedTills).toBe(0);
  });

  it('lets an admin token open a till screen', async () => {
    const { gateway, url } = await startGateway();
    await connected(till(url, { token: ADMIN_TOKEN, lane: 'B' }));
    expect(gateway.stats().byLane).toEqual({ B: 1 });
  });

  it('refuses an unknown lane and names the known ones', async () => {
    const { gateway, url } = await startGateway();
    const err = await refused(till(url, { token: TILL_TOKEN, lane: 'Z' }));
    expect(err.message).toContain('unknown lane "Z"');
    expect(err.message).toContain('A, B');
    expect(gateway.stats().connectedTills).toBe(0);
  });

  it('sends a till that drops and comes back within the window what it missed, once', async () => {
    const { gateway, url } = await startGateway();
    const client = till(url, { token: TILL_TOKEN, lane: 'A' });
    const received = collect(client);
    let marks = 0;
    client.on('session:mark', () => (marks += 1));
    await connected(client);
    gateway.emitToLane('A', 'member:recognized', recognized('A', 'before'));
    await waitFor(() => gateway.stats().eventsAcked === 1 && marks > 0, 'the first event and a session mark');

    // A transport close, unlike disconnect(), is what Socket.IO treats as a drop worth resuming.
    client.io.engine.close();
    await waitFor(() => gateway.stats().connectedTills === 0, 'the server to notice the drop');
    const missed = recognized('A', 'while-away');
    gateway.emitToLane('A', 'member:recognized', missed);

    client.connect();
    await connected(client);
    expect(client.recovered).toBe(true);
    await waitFor(() => received.length === 2, 'the missed event');
    expect(received[1]).toEqual(missed);

    gateway.emitToLane('A', 'member:recognized', recognized('A', 'after'));
    await waitFor(() => received.length === 3, 'the next live event');
    await sleep(100);
    expect(received.map((e) => e.eventId)).toEqual(['before', 'while-away', 'after']);
    await waitFor(() => gateway.stats().eventsAcked === 3, 'every event acknowledged');
    expect(gateway.stats()).toMatchObject({ connectedTills: 1, eventsSent: 3, ackTimeouts: 0 });
  });

  it('sends again, with the same eventId, an event the till had not acknowledged when it dropped', async () => {
    const { gateway, url } = await startGateway();
    const client = till(url, { token: TILL_TOKEN, lane: 'A' });
    const received: string[] = [];
    let acking = false;
    client.on('member:recognized', (event: MemberRecognized, done: () => void) => {
      received.push(event.eventId);
      if (acking) done();
    });
    let marks = 0;
    client.on('session:mark', () => (marks += 1));
    await connected(client);
    await waitFor(() => marks > 0, 'a session mark');
    gateway.emitToLane('A', 'member:recognized', recognized('A', 'unacked'));
    await waitFor(() => received.length === 1, 'the event');

    client.io.engine.close();
    await waitFor(() => gateway.stats().connectedTills === 0, 'the server to notice the drop');
    acking = true;
    client.connect();
    await connected(client);

    await waitFor(() => gateway.stats().eventsAcked === 1, 'the acknowledged resend');
    expect(received).toEqual(['unacked', 'unacked']);
  });

  it('starts a till afresh when it comes back after the window', async () => {
    const recoveryWindowMs = 300;
    const { gateway, url } = await startGateway({ recoveryWindowMs, sessionMarkIntervalMs: 75 });
    const client = till(url, { token: TILL_TOKEN, lane: 'A' });
    const received = collect(client);
    let marks = 0;
    client.on('session:mark', () => (marks += 1));
    await connected(client);
    await waitFor(() => marks > 0, 'a session mark');

    client.io.engine.close();
    await waitFor(() => gateway.stats().connectedTills === 0, 'the server to notice the drop');
    gateway.emitToLane('A', 'member:recognized', recognized('A', 'too-late'));
    await sleep(recoveryWindowMs + 75 + 150);

    client.connect();
    await connected(client);
    expect(client.recovered).toBe(false);
    gateway.emitToLane('A', 'member:recognized', recognized('A', 'fresh'));
    await waitFor(() => received.length >= 1, 'the live event');
    await sleep(100);
    expect(received.map((e) => e.eventId)).toEqual(['fresh']);
  });

  it('counts connected tills per lane and notices when they leave', async () => {
    const { gateway, url, connectionCounts } = await startGateway();
    const a1 = till(url, { token: TILL_TOKEN, lane: 'A' });
    const a2 = till(url, { token: TILL_TOKEN, lane: 'A' });
    const b1 = till(url, { token: ADMIN_TOKEN, lane: 'B' });
    await Promise.all([connected(a1), connected(a2), connected(b1)]);
    expect(gateway.stats()).toMatchObject({ connectedTills: 3, byLane: { A: 2, B: 1 } });

    a2.disconnect();
    await waitFor(() => gateway.stats().connectedTills === 2, 'the server to notice the leave');
    expect(gateway.stats().byLane).toEqual({ A: 1, B: 1 });
    expect(connectionCounts).toEqual([1, 2, 3, 2]);
  });

  it('counts an event the till never acknowledges once the ack timeout passes', async () => {
    const { gateway, url } = await startGateway();
    const client = till(url, { token: TILL_TOKEN, lane: 'A' });
    const received = collect(client, { ack: false });
    await connected(client);

    gateway.emitToLane('A', 'member:recognized', recognized('A', 'ignored'));
    await waitFor(() => received.length === 1, 'the event');
    expect(gateway.stats().ackTimeouts).toBe(0);

    await waitFor(() => gateway.stats().ackTimeouts === 1, 'the ack timeout', ACK_TIMEOUT_MS * 5);
    expect(gateway.stats()).toMatchObject({ eventsSent: 1, eventsAcked: 0, ackTimeouts: 1 });
  });
});
