import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { io, type Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LaneView } from '../../src/lanes/laneDirectory.js';
import { faceCrop, faceFrame, pushFrames, standAtCounter, waitUntil } from '../support/frames.js';
import { bearer, postJson, startTestApp, type TestApp } from '../support/testApp.js';
import { MEMBERLENS_CLI } from '../support/cli.js';

const run = promisify(execFile);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Amy walks up for 1 s, then 2 s of empty counter, over and over: the demo lane in small. */
const REPLAY_FPS = 4;
const AMY_FRAMES = 4;
const EMPTY_FRAMES = 8;

interface TillEvent {
  name: string;
  payload: any;
  atMs: number;
}

/**
 * What a till sees of a lane whatever moment it joins, and how the running service follows
 * members changed by another process: real replay and push cameras, real inference, a real
 * Socket.IO till, the real command line in a child process on the same data folder.
 */
describe('lane state for tills, live counts, changes made by the command line', () => {
  let service: TestApp;
  let amyId: string;
  const sockets: Socket[] = [];

  let framesDir: string;

  beforeAll(async () => {
    framesDir = mkdtempSync(path.join(tmpdir(), 'memberlens-lane-state-frames-'));
    service = await startTestApp('lane-state', {
      inference: { workers: 2 },
      lanes: [
        { id: 'replay', camera: { kind: 'replay', folder: await replayFolder(framesDir), fps: REPLAY_FPS, loop: true } },
        { id: 'push', camera: { kind: 'http-push' } },
      ],
    });
  });

  afterAll(async () => {
    for (const s of sockets) s.close();
    await service?.stop();
    rmSync(framesDir, { recursive: true, force: true });
  });

  function connectTill(lane: string): { socket: Socket; events: TillEvent[] } {
    const socket = io(`${service.app.url}/till`, { auth: { token: service.tokens.till, lane }, transports: ['websocket'] });
    sockets.push(socket);
    const events: TillEvent[] = [];
    socket.onAny((name: string, payload: unknown, ack?: unknown) => {
      if (name !== 'session:mark') events.push({ name, payload, atMs: Date.now() });
      if (typeof ack === 'function') ack();
    });
    return { socket, events };
  }

  const named = (events: TillEvent[], name: string, memberId?: string) =>
    events.filter((e) => e.name === name && (memberId === undefined || e.payload.memberId === memberId));

  async function lanes(): Promise<LaneView[]> {
    const res = await fetch(`${service.app.url}/api/lanes`, { headers: bearer(service.tokens.admin) });
    return ((await res.json()) as { lanes: LaneView[] }).lanes;
  }

  async function cli(...args: string[]) {
    const { stdout } = await run(process.execPath, [MEMBERLENS_CLI, '--data-dir', service.dir, ...args], {
      env: { ...process.env, MEMBERLENS_LOG_LEVEL: 'warn' },
    });
    return stdout.split('\n').filter(Boolean).map((line) => JSON.parse(line));
  }

  it('starts with a replay lane and an enrolled member', async () => {
    const created = await postJson(`${service.app.url}/api/members`, service.tokens.admin, { name: 'Amy' });
    expect(created.status).toBe(201);
    amyId = created.body.id;
    const face = await fetch(`${service.app.url}/api/members/${amyId}/faces?consentMethod=written&staff=lin`, {
      method: 'POST',
      headers: { ...bearer(service.tokens.admin), 'content-type': 'image/png' },
      body: new Uint8Array(faceCrop('amy/amy1.png')),
    });
    expect(face.status).toBe(201);
  });

  it('tells a till that joins the camera and scanner state at once', async () => {
    const till = connectTill('replay');
    await waitUntil(() => named(till.events, 'scanner:status').length > 0, 'scanner:status on joining', 5_000);
    const [camera] = named(till.events, 'camera:status');
    expect(camera?.payload.state).toBe('running');
    expect(camera?.payload.framesIn).toBeGreaterThan(0);
    expect(named(till.events, 'scanner:status')[0]!.payload).toMatchObject({ state: 'running', detail: expect.stringContaining('waiting for scans') });
  });

  it('greets a member on a till that joins long after the first greeting (the looping demo lane)', async () => {
    const first = connectTill('replay');
    await waitUntil(() => named(first.events, 'member:recognized', amyId).length > 0, 'Amy recognized on the replay lane', 90_000);
    await waitUntil(() => named(first.events, 'member:left', amyId).length > 0, 'Amy leaving the replay lane', 30_000);
    const late = connectTill('replay');
    // The popup cooldown is 60 s; each loop of the recording is a new visit, so the late till sees one within a few loops.
    await waitUntil(() => named(late.events, 'member:recognized', amyId).length > 0, 'a popup on the till that joined late', 30_000);
  });

  it('sends a till that joins while a member stands at the counter that member\'s popup', async () => {
    const frame = await faceFrame('amy/amy1.png');
    const early = connectTill('push');
    const amy = standAtCounter(service.app.url, 'push', service.tokens.device, frame);
    try {
      await waitUntil(() => named(early.events, 'member:recognized', amyId).length > 0, 'Amy recognized on the push lane', 60_000);
      const joinedAtMs = Date.now();
      const late = connectTill('push');
      await waitUntil(() => named(late.events, 'member:recognized', amyId).length > 0, 'the standing member on the joining till', 3_000);
      expect(named(late.events, 'member:recognized', amyId)[0]!.atMs - joinedAtMs).toBeLessThan(3_000);
      // The till that was there all along saw one popup for the one visit.
      expect(named(early.events, 'member:recognized', amyId)).toHaveLength(1);
    } finally {
      await amy.leave();
    }
  });

  it('counts frames live, not as of the last state change', async () => {
    const before = await lanes();
    await pushFrames(service.app.url, 'push', service.tokens.device, await faceFrame(), { count: 5, intervalMs: 50 });
    await sleep(1_000);
    const after = await lanes();
    const of = (views: LaneView[], id: string) => views.find((l) => l.id === id)!;
    expect(of(after, 'push').camera.framesIn - of(before, 'push').camera.framesIn).toBe(5);
    expect(of(after, 'replay').camera.framesIn).toBeGreaterThan(of(before, 'replay').camera.framesIn);
    expect(of(after, 'replay').camera.state).toBe('running');
    expect(of(after, 'replay').scanner).toMatchObject({ kind: 'http', state: 'running', scansIn: 0 });

    const scanned = await postJson(`${service.app.url}/api/lanes/replay/scans`, service.tokens.device, { code: '13800138000' });
    expect(scanned.status).toBe(200);
    expect(scanned.body.kind).toBe('phone');
    expect(of(await lanes(), 'replay').scanner).toMatchObject({ kind: 'http', state: 'running', scansIn: 1 });
  });

  it('forgets a member deleted from the command line while it runs: the face is unknown on its next frames, the member 404', async () => {
    const till = connectTill('replay');
    await waitUntil(() => named(till.events, 'member:recognized', amyId).length > 0, 'Amy recognized before the deletion', 30_000);
    const [deleted] = await cli('members', 'delete', amyId, '--staff', 'test');
    expect(deleted).toEqual({ deleted: amyId, faces: 1 });
    const deletedAtMs = Date.now();

    await waitUntil(() => service.app.core.gallery.size === 0, 'the erased descriptors leaving the in-memory gallery', 5_000);
    await waitUntil(() => named(till.events, 'member:deleted', amyId).length > 0, 'member:deleted on the till', 5_000);
    const res = await fetch(`${service.app.url}/api/members/${amyId}`, { headers: bearer(service.tokens.admin) });
    expect(res.status).toBe(404);

    await waitUntil(() => till.events.some((e) => e.name === 'face:unknown' && e.atMs > deletedAtMs), 'her face as unknown after the deletion', 30_000);
    expect(named(till.events, 'member:recognized', amyId).filter((e) => e.atMs > deletedAtMs)).toEqual([]);
  });

  it('recognizes a member enrolled from the command line while it runs, without a restart', async () => {
    const [enrolled] = await cli('enroll', '--name', 'Raj', '--consent', 'written', '--staff', 'test', path.resolve('test/fixtures/faces/raj/raj1.png'));
    expect(enrolled.faces).toHaveLength(1);
    await waitUntil(() => service.app.core.gallery.size === 1, 'the new face in the in-memory gallery', 5_000);
    const till = connectTill('push');
    const raj = standAtCounter(service.app.url, 'push', service.tokens.device, await faceFrame('raj/raj1.png'));
    try {
      await waitUntil(() => named(till.events, 'member:recognized', enrolled.memberId).length > 0, 'Raj recognized', 60_000);
    } finally {
      await raj.leave();
    }
  });
}, 300_000);

/** A folder that loops a member walking up and leaving, as the demo lane does. */
async function replayFolder(dir: string): Promise<string> {
  const folder = path.join(dir, 'frames');
  mkdirSync(folder, { recursive: true });
  const amy = await faceFrame('amy/amy1.png');
  const empty = await faceFrame();
  for (let i = 0; i < AMY_FRAMES + EMPTY_FRAMES; i++) writeFileSync(path.join(folder, `${String(i).padStart(3, '0')}.jpg`), i < AMY_FRAMES ? amy : empty);
  return folder;
}
