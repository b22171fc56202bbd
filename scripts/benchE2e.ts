/**
 * `npm run bench:e2e [-- --json] [--frames N] [--duration-s S]`
 *
 * Frame pushed over HTTP → `member:recognized` received by a Socket.IO till, against the real
 * service started as `node dist/main.js` (as a store runs it), beside the raw engine time of
 * the same frames measured in this process first. Then 4 lanes pushing 5 fps each for 60 s,
 * with /healthz polled throughout to show the HTTP side stays responsive while the inference
 * pool is saturated.
 *
 * So that every analyzed frame yields one popup, the service runs with votesToDecide = 1,
 * popupCooldownMs = 0 and a short trackTimeoutMs, and each of the 8 enrolled members stands at
 * a position of their own: a frame never continues an earlier track. In a store, a popup needs
 * 2 agreeing frames (the default), i.e. one frame interval more than measured here.
 */
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { io, type Socket } from 'socket.io-client';
import { settingsSchema } from '../src/config/settingsSchema.js';
import { createLogger } from '../src/core/logger.js';
import { FaceEngine } from '../src/vision/faceEngine.js';
import type { MemberRecognized } from '../src/push/tillEvents.js';
import { cameraFrame } from './cameraFrames.js';
import { summarize } from './benchStats.js';
import { serviceMetric, startServiceProcess, type ServiceProcess } from './serviceProcess.js';

const TARGETS = { e2eOverEngineMedianRatio: 1.15, fourLaneP95Ms: 500, healthzP99Ms: 50, growthRatioMax: 1.2 } as const;
const PEOPLE = ['amy', 'bernadette', 'howard', 'leonard', 'penny', 'raj', 'sheldon', 'stuart'];
const FACE_PX = 150;
const LANE_FPS = 5;
const LANES = 4;

const { values: args } = parseArgs({
  options: { json: { type: 'boolean', default: false }, frames: { type: 'string', default: '100' }, 'duration-s': { type: 'string', default: '60' } },
});
const json = args.json!;
const singleLaneFrames = Number(args.frames);
const durationS = Number(args['duration-s']);
const progress = (text: string) => process.stderr.write(`${text}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Each member at their own spot of a 4×2 grid, so consecutive frames never share a track. */
function spot(i: number) {
  return { left: 20 + (i % 4) * 155, top: 40 + Math.floor(i / 4) * 220, facePx: FACE_PX };
}

async function makeFrames(): Promise<Buffer[]> {
  return Promise.all(PEOPLE.map((p, i) => cameraFrame(readFileSync(`test/fixtures/faces/${p}/${p}2.png`), spot(i))));
}

async function rawEngineMs(frames: Buffer[], rounds: number): Promise<{ perFrame: number[]; all: number[]; backend: string }> {
  const settings = settingsSchema.parse({ logLevel: 'silent' });
  const engine = await FaceEngine.create(settings.vision, createLogger('silent'));
  const all: number[] = [];
  const perFrame = frames.map(() => 0);
  for (const frame of frames) await engine.analyzeBytes(frame, 'live', { describe: 'passing' }); // warm-up
  for (let r = 0; r < rounds; r++) {
    for (const [i, frame] of frames.entries()) {
      const t = performance.now();
      await engine.analyzeBytes(frame, 'live', { describe: 'passing' });
      const ms = performance.now() - t;
      all.push(ms);
      perFrame[i] = ms;
    }
  }
  return { perFrame, all, backend: engine.backend };
}

type Service = ServiceProcess;

function startService(): Promise<Service> {
  return startServiceProcess({
    logLevel: 'warn',
    demo: { seedFolder: '' },
    backup: { intervalHours: 0 },
    tracker: { votesToDecide: 1, popupCooldownMs: 0, trackTimeoutMs: 300 },
    lanes: Array.from({ length: LANES }, (_, i) => ({ id: `lane${i + 1}`, camera: { kind: 'http-push' } })),
  });
}

async function enroll(service: Service): Promise<Map<string, number>> {
  const memberIndex = new Map<string, number>();
  for (const [i, person] of PEOPLE.entries()) {
    const auth = { authorization: `Bearer ${service.tokens.admin}` };
    const created = await fetch(`${service.url}/api/members`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ name: person }),
    });
    const { id } = (await created.json()) as { id: string };
    const face = await fetch(`${service.url}/api/members/${id}/faces?consentMethod=written&staff=bench`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'image/png' },
      body: readFileSync(`test/fixtures/faces/${person}/${person}1.png`),
    });
    if (face.status !== 201) throw new Error(`enrolling ${person} failed: ${face.status} ${await face.text()}`);
    memberIndex.set(id, i);
  }
  return memberIndex;
}

function connectTill(service: Service, lane: string, onRecognized: (e: MemberRecognized, atMs: number) => void): Promise<Socket> {
  const socket = io(`${service.url}/till`, { auth: { token: service.tokens.till, lane }, transports: ['websocket'] });
  socket.on('member:recognized', (event: MemberRecognized, ack: () => void) => {
    onRecognized(event, performance.now());
    ack();
  });
  for (const name of ['face:unknown', 'member:left', 'camera:status', 'member:deleted']) socket.on(name, (_e: unknown, ack: () => void) => ack?.());
  return new Promise((resolve, reject) => {
    socket.once('connect', () => resolve(socket));
    socket.once('connect_error', reject);
  });
}

function pushFrame(service: Service, lane: string, frame: Buffer): Promise<Response> {
  return fetch(`${service.url}/api/lanes/${lane}/frames`, {
    method: 'POST',
    headers: { authorization: `Bearer ${service.tokens.device}`, 'content-type': 'image/jpeg' },
    body: frame,
  });
}


/** Closed loop on one lane: push a frame, wait for its popup, next member. */
async function singleLane(service: Service, frames: Buffer[], memberIndex: Map<string, number>, usable: number[]) {
  let waiting: { index: number; resolve: (atMs: number) => void } | undefined;
  const socket = await connectTill(service, 'lane1', (event, atMs) => {
    if (waiting && memberIndex.get(event.memberId) === waiting.index) waiting.resolve(atMs);
  });
  const latencies: number[] = [];
  let missed = 0;
  for (let k = 0; k < singleLaneFrames; k++) {
    const index = usable[k % usable.length]!;
    const started = performance.now();
    const popup = new Promise<number>((resolve) => (waiting = { index, resolve }));
    await pushFrame(service, 'lane1', frames[index]!);
    const at = await Promise.race([popup, sleep(5000).then(() => -1)]);
    if (at < 0) missed++;
    else latencies.push(at - started);
    waiting = undefined;
    await sleep(350); // > trackTimeoutMs: the member's previous track has ended when they come round again
  }
  socket.close();
  return { latencies, missed };
}

/** Open loop: every lane pushes LANE_FPS frames/s; each popup is timed from the push of the frame that produced it. */
async function fourLanes(service: Service, frames: Buffer[], memberIndex: Map<string, number>, usable: number[]) {
  const lanes = Array.from({ length: LANES }, (_, i) => `lane${i + 1}`);
  const lastPush = new Map<string, number>(); // `${lane}/${member index}` → push time of the newest frame showing them
  const samples: { atMs: number; latencyMs: number }[] = [];
  const sockets = await Promise.all(
    lanes.map((lane) =>
      connectTill(service, lane, (event, atMs) => {
        const pushed = lastPush.get(`${lane}/${memberIndex.get(event.memberId)}`);
        if (pushed !== undefined) samples.push({ atMs, latencyMs: atMs - pushed });
      }),
    ),
  );
  const healthz: number[] = [];
  const start = performance.now();
  const endAt = start + durationS * 1000;
  const rssStart = await serviceMetric(service, /^memberlens_process_resident_memory_bytes /);
  const third = (durationS * 1000) / 3;
  let pushed = 0;
  const pushers = lanes.map(async (lane, laneIndex) => {
    for (let k = laneIndex; performance.now() < endAt; k++) {
      const index = usable[k % usable.length]!;
      const t = performance.now();
      lastPush.set(`${lane}/${index}`, t);
      await pushFrame(service, lane, frames[index]!);
      pushed++;
      await sleep(Math.max(0, 1000 / LANE_FPS - (performance.now() - t)));
    }
  });
  const rssSamples: { atMs: number; mb: number }[] = [];
  const poller = (async () => {
    let nextRssAt = 0;
    while (performance.now() < endAt) {
      const t = performance.now();
      await fetch(`${service.url}/healthz`);
      healthz.push(performance.now() - t);
      if (t >= nextRssAt) {
        rssSamples.push({ atMs: t - start, mb: Math.round((await serviceMetric(service, /^memberlens_process_resident_memory_bytes /)) / 1e5) / 10 });
        nextRssAt = t + 5000;
      }
      await sleep(50);
    }
  })();
  await Promise.all([...pushers, poller]);
  await sleep(1500);
  for (const s of sockets) s.close();
  const rssEnd = await serviceMetric(service, /^memberlens_process_resident_memory_bytes /);
  const firstThird = samples.filter((s) => s.atMs - start < third).map((s) => s.latencyMs);
  const lastThird = samples.filter((s) => s.atMs - start >= 2 * third).map((s) => s.latencyMs);
  return {
    durationS,
    framesPushed: pushed,
    framesDropped: await serviceMetric(service, /^memberlens_frames_dropped_total\{/),
    framesAnalyzed: Math.round((await serviceMetric(service, /^memberlens_inference_stage_seconds_count\{stage="detect"\}/))),
    popups: samples.length,
    latencyMs: summarize(samples.map((s) => s.latencyMs)),
    firstThirdMs: summarize(firstThird),
    lastThirdMs: summarize(lastThird),
    healthzMs: summarize(healthz),
    // The second worker's WebAssembly heap grows to its working size in the first seconds of the
    // run and never shrinks; growth over time is judged from the end of the first third on.
    serviceRssMb: {
      start: Math.round(rssStart / 1e5) / 10,
      afterFirstThird: rssSamples.find((r) => r.atMs >= third)?.mb ?? Number.NaN,
      end: Math.round(rssEnd / 1e5) / 10,
    },
  };
}

const frames = await makeFrames();
progress('raw engine time of the same frames (in this process, nothing else running)…');
const raw = await rawEngineMs(frames, Math.ceil(singleLaneFrames / frames.length));
progress('starting the service (node dist/main.js)…');
const service = await startService();
try {
  const memberIndex = await enroll(service);
  // Frames whose member the engine alone recognizes; the others would only measure the time-out.
  const usable = PEOPLE.map((_, i) => i);
  progress(`1 lane: ${singleLaneFrames} frames, closed loop…`);
  const one = await singleLane(service, frames, memberIndex, usable);
  progress(`${LANES} lanes × ${LANE_FPS} fps for ${durationS} s…`);
  const four = await fourLanes(service, frames, memberIndex, usable);

  const rawSummary = summarize(raw.all);
  const oneSummary = summarize(one.latencies);
  const ratio = Math.round((oneSummary.median / rawSummary.median) * 1000) / 1000;
  const growth = Math.round((four.lastThirdMs.p95 / four.firstThirdMs.p95) * 1000) / 1000;
  const report = {
    backend: raw.backend,
    rawEngineMs: rawSummary,
    oneLane: { frames: singleLaneFrames, missedPopups: one.missed, e2eMs: oneSummary, e2eOverEngineMedian: ratio },
    fourLanes: four,
    targets: [
      { target: `1-lane e2e median ≤ ${TARGETS.e2eOverEngineMedianRatio} × raw engine median`, measured: ratio, met: ratio <= TARGETS.e2eOverEngineMedianRatio },
      { target: `4 lanes × ${LANE_FPS} fps p95 ≤ ${TARGETS.fourLaneP95Ms} ms`, measured: four.latencyMs.p95, met: four.latencyMs.p95 <= TARGETS.fourLaneP95Ms },
      { target: `no growth: last-third p95 ≤ ${TARGETS.growthRatioMax} × first-third p95`, measured: growth, met: growth <= TARGETS.growthRatioMax },
      { target: `/healthz p99 < ${TARGETS.healthzP99Ms} ms while saturated`, measured: four.healthzMs.p99, met: four.healthzMs.p99 < TARGETS.healthzP99Ms },
    ],
  };
  if (json) {
    process.stdout.write(`${JSON.stringify(report)}\n`);
  } else {
    console.log(`memberlens bench:e2e — backend ${raw.backend}, 640×480 JPEG frames with one ${FACE_PX}-px face`);
    console.table({
      'raw engine (in-process)': rawSummary,
      '1 lane: push → popup': oneSummary,
      [`${LANES} lanes × ${LANE_FPS} fps: push → popup`]: four.latencyMs,
      '  first third': four.firstThirdMs,
      '  last third': four.lastThirdMs,
      '/healthz during 4 lanes': four.healthzMs,
    });
    console.log(
      `1 lane: ${singleLaneFrames} frames, ${one.missed} without popup. 4 lanes: ${four.framesPushed} frames pushed, ${four.framesAnalyzed} analyzed, ` +
        `${four.framesDropped} dropped (latest frame wins), ${four.popups} popups; service RSS ${four.serviceRssMb.start} MB at start, ${four.serviceRssMb.afterFirstThird} MB after the first third, ${four.serviceRssMb.end} MB at the end`,
    );
    console.table(report.targets.map((t) => ({ target: t.target, measured: t.measured, status: t.met ? 'met' : 'NOT met' })));
  }
} finally {
  await service.stop();
}
