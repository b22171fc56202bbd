import { io, type Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningApp } from '../../src/app.js';
import type { MemberRecognized } from '../../src/push/tillEvents.js';
import { faceCrop as crop, faceFrame, metricValue, pushFrames as pushFramesTo, standAtCounter, waitUntil } from '../support/frames.js';
import { bearer, startTestApp, type TestApp } from '../support/testApp.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * The whole service on a temp dir and port 0: members enrolled over REST, frames pushed over
 * HTTP as a camera that pushes would, popups received by a real Socket.IO till.
 */
describe('till service end to end', () => {
  let service: TestApp;
  let app: RunningApp;
  let admin: string;
  let till: string;
  let device: string;
  const members: Record<string, string> = {};
  const sockets: Socket[] = [];
  let lane1FramesPushed = 0;

  beforeAll(async () => {
    service = await startTestApp('service', {
      inference: { workers: 2 },
      lanes: [{ id: 'lane1', camera: { kind: 'http-push' } }, { id: 'lane2', camera: { kind: 'http-push' } }],
      backup: { intervalHours: 24 }, // the default: this test runs with the daily backup, the first one at start
      till: { recoveryWindowMs: 120_000, ackTimeoutMs: 5_000 },
    });
    app = service.app;
    ({ admin, till, device } = service.tokens);
  });

  afterAll(async () => {
    for (const s of sockets) s.close();
    await service?.stop();
  });

  const api = (method: string, route: string, body?: unknown, headers: Record<string, string> = {}, auth = admin) =>
    fetch(`${app.url}${route}`, {
      method,
      headers: { ...bearer(auth), ...(body && !(body instanceof Uint8Array) ? { 'content-type': 'application/json' } : {}), ...headers },
      body: body === undefined ? undefined : body instanceof Uint8Array ? body : JSON.stringify(body),
    });

  async function pushFrames(lane: string, file: string | undefined, count: number, intervalMs = 200) {
    await pushFramesTo(app.url, lane, device, await faceFrame(file), { count, intervalMs, each: (res) => expect(res.status).toBe(202) });
  }

  function connectTill(lane: string, auth = till) {
    const socket = io(`${app.url}/till`, { auth: { token: auth, lane }, transports: ['websocket'], reconnectionDelay: 100 });
    sockets.push(socket);
    const recognized: MemberRecognized[] = [];
    const unknown: unknown[] = [];
    socket.on('member:recognized', (event: MemberRecognized, ack: () => void) => {
      recognized.push(event);
      ack();
    });
    socket.on('face:unknown', (event: unknown, ack: () => void) => {
      unknown.push(event);
      ack();
    });
    for (const name of ['member:left', 'camera:status', 'member:deleted']) socket.on(name, (_e: unknown, ack: () => void) => ack?.());
    return { socket, recognized, unknown };
  }

  it('enrolls two members over REST with recorded consent', async () => {
    for (const [name, file] of [['Amy', 'amy/amy1.png'], ['Raj', 'raj/raj1.png']] as const) {
      const created = await api('POST', '/api/members', { name });
      expect(created.status).toBe(201);
      const { id } = (await created.json()) as { id: string };
      const noConsent = await api('POST', `/api/members/${id}/faces`, new Uint8Array(crop(file)), { 'content-type': 'image/png' });
      expect(noConsent.status).toBe(409);
      const enrolled = await api('POST', `/api/members/${id}/faces?consentMethod=written&staff=lin`, new Uint8Array(crop(file)), {
        'content-type': 'image/png',
      });
      expect(enrolled.status).toBe(201);
      members[name] = id;
    }
    const listed = (await (await api('GET', '/api/members')).json()) as { members: { id: string }[] };
    expect(listed.members.map((m) => m.id).sort()).toEqual(Object.values(members).sort());
  });

  it('refuses a till with a wrong token or a device token', async () => {
    for (const auth of ['ml_till_wrong', device]) {
      const socket = io(`${app.url}/till`, { auth: { token: auth, lane: 'lane1' }, transports: ['websocket'], reconnection: false });
      sockets.push(socket);
      const error = await new Promise<Error>((resolve) => socket.once('connect_error', resolve));
      expect(error.message).toMatch(/till token missing or invalid/);
    }
  });

  it('pops up member 1 exactly once, and never for a stranger', async () => {
    const lane1 = connectTill('lane1');
    const lane2 = connectTill('lane2');
    await new Promise<void>((r) => lane1.socket.once('connect', () => r()));
    const amy = standAtCounter(app.url, 'lane1', device, await faceFrame('amy/amy2.png'));
    await waitUntil(() => lane1.recognized.length >= 1, 'Amy\'s popup');
    await sleep(1000); // she stays a moment: still one popup
    lane1FramesPushed += await amy.leave();
    await pushFrames('lane1', undefined, 10, 250); // Amy walks away: her track ends
    lane1FramesPushed += 10;
    const stranger = standAtCounter(app.url, 'lane1', device, await faceFrame('stuart/stuart1.png'));
    await waitUntil(() => lane1.unknown.length >= 1, 'the stranger to be reported unknown');
    await sleep(1000);
    lane1FramesPushed += await stranger.leave();
    expect(lane1.recognized.map((e) => e.memberId)).toEqual([members.Amy]);
    const popup = lane1.recognized[0]!;
    expect(popup).toMatchObject({ lane: 'lane1', name: 'Amy', tier: { name: '普通', discountRate: 1 }, points: 0, balance: 0 });
    expect(popup.confidence).toBeGreaterThan(0);
    expect(lane1.unknown.length).toBeGreaterThanOrEqual(1);
    expect(lane2.recognized).toEqual([]);
  });

  it('delivers a popup missed during a short disconnect once after the till reconnects', async () => {
    const lane2 = connectTill('lane2');
    await new Promise<void>((r) => lane2.socket.once('connect', () => r()));
    await sleep(300); // let the session mark that makes the session resumable arrive
    // A dropped network, not a deliberate disconnect; held down until the popup has been sent.
    lane2.socket.io.reconnection(false);
    const dropped = new Promise((r) => lane2.socket.once('disconnect', r));
    lane2.socket.io.engine.close();
    await dropped;
    const raj = standAtCounter(app.url, 'lane2', device, await faceFrame('raj/raj4.png'));
    await waitUntil(async () => (await metricValue(app.url, admin, 'memberlens_recognitions_total{lane="lane2"}')) === 1, 'Raj\'s popup to be sent');
    await raj.leave();
    expect(lane2.recognized).toEqual([]);
    lane2.socket.io.reconnection(true);
    lane2.socket.connect();
    await new Promise<void>((r) => lane2.socket.once('connect', () => r()));
    await waitUntil(() => lane2.recognized.length >= 1, 'the missed popup after reconnecting', 15_000);
    await sleep(1000); // and not a second time
    expect(lane2.socket.recovered).toBe(true);
    expect(lane2.recognized.map((e) => e.memberId)).toEqual([members.Raj]);
  });

  it('serves health and metrics', async () => {
    const health = await fetch(`${app.url}/healthz`);
    expect(health.status).toBe(200);
    expect(await metricValue(app.url, admin, 'memberlens_recognitions_total{lane="lane1"}')).toBe(1);
    expect(await metricValue(app.url, admin, 'memberlens_frames_in_total{lane="lane1"}')).toBe(lane1FramesPushed);
    expect((await api('GET', '/metrics', undefined, {}, till)).status).toBe(403);
    expect((await fetch(`${app.url}/api/members`)).status).toBe(401);
  });

  it('keeps recognizing on lane 1 while the camera of lane 2 sends garbage, and lane 2 recovers once it sends pictures again', async () => {
    const sumOf = async (series: RegExp) =>
      (await (await api('GET', '/metrics')).text())
        .split('\n')
        .filter((l) => series.test(l))
        .reduce((sum, l) => sum + Number(l.split(' ').at(-1)), 0);
    const failedBefore = await sumOf(/^memberlens_frames_failed_total\{lane="lane2"/);
    const lane1 = connectTill('lane1');
    const lane2 = connectTill('lane2');
    await Promise.all([lane1, lane2].map((t) => new Promise<void>((r) => t.socket.once('connect', () => r()))));

    const real = await faceFrame('raj/raj4.png');
    const garbage = [
      new Uint8Array(Array.from({ length: 40_000 }, (_, i) => (i * 7919 + 13) % 251)), // noise
      real.subarray(0, real.length / 3), // a JPEG cut off mid-stream
      new TextEncoder().encode('<html>not a picture</html>'),
    ];
    let sending = true;
    const broken = (async () => {
      for (let i = 0; sending && i < 400; i++) {
        await pushFramesTo(app.url, 'lane2', device, garbage[i % garbage.length]!, { count: 1, intervalMs: 100 });
      }
    })();
    const raj = standAtCounter(app.url, 'lane1', device, real);
    await waitUntil(() => lane1.recognized.some((e) => e.memberId === members.Raj), 'Raj\'s popup on lane 1 while lane 2 sends garbage');
    await waitUntil(async () => (await sumOf(/^memberlens_frames_failed_total\{lane="lane2"/)) >= failedBefore + 3, 'garbage frames counted as failed on lane 2');
    sending = false;
    await Promise.all([broken, raj.leave()]);
    expect((await fetch(`${app.url}/healthz`)).status).toBe(200);

    // The same lane, pictures again: Amy is recognized there.
    const amy = standAtCounter(app.url, 'lane2', device, await faceFrame('amy/amy2.png'));
    await waitUntil(() => lane2.recognized.some((e) => e.memberId === members.Amy), 'Amy\'s popup on lane 2 after the garbage');
    await amy.leave();
  });
});
