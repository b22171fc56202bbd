/**
 * `npm run bench:lane [-- --json] [--rounds N] [--scene-s S] [--walk-ups N] [--scenes empty,standing,walk-up,saturated]`
 *
 * What one camera lane costs the till PC, today's pipeline beside the new one in the same run.
 * Two services run as a store runs them (`node dist/main.js`, two inference workers, WASM or
 * whatever backend the PC has): "today" with `sceneGate.enabled: false` (every frame analyzed,
 * as before the gate), "new" with the defaults. The scenes alternate between them, round by
 * round, so both see the same load from whatever else the machine runs:
 *
 *   empty      the empty counter, 5 fps
 *   standing   a recognized member standing at the counter, 5 fps (measured after they were named)
 *   walk-up    someone walks up: first frame with their face → `member:recognized` on a till
 *   saturated  two lanes, a face moving on each, 30 fps each: frames analyzed per second
 *
 * Frames are real faces (test/fixtures/faces, the London set in test/fixtures/calibration)
 * composited onto the camera background, each with sensor noise of its own, so no two frames
 * are equal even when nobody moves. CPU is the service process's own CPU time (all its threads,
 * from /proc/<pid>/stat) over wall time, in % of one core: robust to other load on the machine,
 * while latency is not.
 */
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { execFileSync } from 'node:child_process';
import { io, type Socket } from 'socket.io-client';
import type { MemberRecognized } from '../src/push/tillEvents.js';
import { enrollmentPhoto, heldOutPeople, londonPhoto } from './calibration/labelledSets.js';
import { noisyCameraFrame } from './calibration/tillCamera.js';
import { FRAME_HEIGHT_PX, FRAME_WIDTH_PX } from './cameraFrames.js';
import { round2, summarize } from './benchStats.js';
import { serviceMetrics, startServiceProcess, type ServiceProcess } from './serviceProcess.js';

const TARGETS = { emptyCpuPercentMax: 10, standingCpuPercentMax: 35, walkUpP95MsMax: 1000, saturatedThroughputRatioMin: 2 } as const;
const LANE_FPS = 5;
const SATURATED_FPS = 30;
const FACE_PX = 200;
const CENTRE = { left: (FRAME_WIDTH_PX - FACE_PX) >> 1, top: (FRAME_HEIGHT_PX - FACE_PX) >> 1, facePx: FACE_PX };
/** From the side of the frame to the counter in five frames (one second at 5 fps). */
const APPROACH = [0, 0.25, 0.5, 0.75, 1].map((k) => ({
  left: 30 + k * (CENTRE.left - 30),
  top: 200 + k * (CENTRE.top - 200),
  facePx: Math.round(120 + k * (FACE_PX - 120)),
}));
/** Long enough for a track to end (tracker.trackTimeoutMs) before the next person walks up. */
const LEAVE_MS = 2200;
/** A walk-up with no popup by then counts as missed. */
const WALK_UP_GIVE_UP_MS = 6000;
const BBT = ['amy', 'bernadette', 'howard', 'leonard', 'penny', 'raj', 'sheldon', 'stuart'];
const LONDON_MEMBERS = 12;
const NOISE_VARIANTS = 30;

const { values: args } = parseArgs({
  options: {
    json: { type: 'boolean', default: false },
    rounds: { type: 'string', default: '2' },
    'scene-s': { type: 'string', default: '15' },
    'walk-ups': { type: 'string', default: '10' },
    scenes: { type: 'string', default: 'empty,standing,walk-up,saturated' },
  },
});
const rounds = Number(args.rounds);
const sceneMs = Number(args['scene-s']) * 1000;
const scenes = new Set(args.scenes.split(','));
const walkUpsPerRound = scenes.has('walk-up') ? Number(args['walk-ups']) : 0;
const progress = (text: string) => process.stderr.write(`${text}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const CLOCK_TICKS_PER_S = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());

type PipelineName = 'today' | 'new';
const PIPELINES: Record<PipelineName, Record<string, unknown>> = {
  today: { sceneGate: { enabled: false } },
  new: {},
};

interface Person {
  name: string;
  enroll: () => Promise<Uint8Array>;
  live: Uint8Array;
}

interface Pipeline {
  name: PipelineName;
  service: ServiceProcess;
  memberIds: Map<string, string>;
  /** memberId → resolve of the walk-up waiting for that member's popup. */
  waiting: Map<string, (atMs: number) => void>;
  tills: Socket[];
}

function people(): Person[] {
  const bbt = BBT.map((p) => ({
    name: p,
    enroll: async () => readFileSync(`test/fixtures/faces/${p}/${p}1.png`),
    live: readFileSync(`test/fixtures/faces/${p}/${p}2.png`),
  }));
  const london = heldOutPeople()
    .slice(0, LONDON_MEMBERS)
    .map((p) => ({ name: `london-${p}`, enroll: () => enrollmentPhoto(londonPhoto(p, 'neutral_front')), live: readFileSync(londonPhoto(p, 'smiling_front')) }));
  return [...bbt, ...london];
}

/** Every frame of the run, rendered before anything is timed. */
async function renderFrames(cast: Person[]) {
  let seed = 1;
  const variants = (crop: Uint8Array | undefined, place: { left: number; top: number; facePx: number }, count = NOISE_VARIANTS) =>
    Promise.all(Array.from({ length: count }, () => noisyCameraFrame(crop, place, seed++)));
  const sway = (crop: Uint8Array, dx: number) =>
    Promise.all(
      Array.from({ length: NOISE_VARIANTS }, (_, i) =>
        noisyCameraFrame(crop, { ...CENTRE, left: CENTRE.left + dx + Math.round(8 * Math.sin(i / 2)), top: CENTRE.top + Math.round(4 * Math.cos(i / 3)) }, seed++),
      ),
    );
  const empty = await variants(undefined, CENTRE);
  const walkUps = [];
  for (const person of cast) {
    walkUps.push({
      person,
      approach: await Promise.all(APPROACH.map((place) => noisyCameraFrame(person.live, place, seed++))),
      standing: await variants(person.live, CENTRE, 10),
    });
  }
  return { empty, walkUps, saturated: [await sway(cast[0]!.live, -60), await sway(cast[1]!.live, 60)] };
}

async function startPipeline(name: PipelineName, cast: Person[]): Promise<Pipeline> {
  const service = await startServiceProcess({
    logLevel: 'warn',
    demo: { seedFolder: '' },
    backup: { intervalHours: 0 },
    // Nice 0 (the service's default is 10, below the till's other work): on a machine shared with
    // other jobs, niced workers would measure how much the others left over, not the pipeline.
    inference: { workers: 2, workerNice: 0 },
    lanes: ['lane1', 'lane2'].map((id) => ({ id, camera: { kind: 'http-push' } })),
    ...PIPELINES[name],
  });
  const memberIds = new Map<string, string>();
  const auth = { authorization: `Bearer ${service.tokens.admin}` };
  for (const person of cast) {
    const created = await fetch(`${service.url}/api/members`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify({ name: person.name }) });
    const { id } = (await created.json()) as { id: string };
    const face = await fetch(`${service.url}/api/members/${id}/faces?consentMethod=written&staff=bench`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'image/jpeg' },
      body: await person.enroll(),
    });
    if (face.status !== 201) throw new Error(`enrolling ${person.name} failed: ${face.status} ${await face.text()}`);
    memberIds.set(person.name, id);
  }
  const waiting = new Map<string, (atMs: number) => void>();
  const tills = await Promise.all(
    ['lane1', 'lane2'].map((lane) => {
      const socket = io(`${service.url}/till`, { auth: { token: service.tokens.till, lane }, transports: ['websocket'] });
      socket.onAny((event: string, payload: unknown, ack?: unknown) => {
        if (event === 'member:recognized') waiting.get((payload as MemberRecognized).memberId)?.(performance.now());
        if (typeof ack === 'function') ack();
      });
      return new Promise<Socket>((resolve, reject) => {
        socket.once('connect', () => resolve(socket));
        socket.once('connect_error', reject);
      });
    }),
  );
  return { name, service, memberIds, waiting, tills };
}

/** CPU seconds the service process has used so far, all threads. */
function cpuSeconds(service: ServiceProcess): number {
  const stat = readFileSync(`/proc/${service.child.pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // Fields 14 and 15 of proc(5) (utime, stime), counted from the state field, which is field 3.
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_S;
}

function rssMb(service: ServiceProcess): number {
  const status = readFileSync(`/proc/${service.child.pid}/status`, 'utf8');
  return Math.round(Number(/VmRSS:\s+(\d+)/.exec(status)![1]) / 100) / 10;
}

const ANALYZED = /^memberlens_inference_stage_seconds_count\{stage="detect"\}/;
const UNCHANGED = /^memberlens_frames_unchanged_total\{/;

async function counts(p: Pipeline): Promise<{ analyzed: number; unchanged: number }> {
  const [analyzed, unchanged] = await serviceMetrics(p.service, [ANALYZED, UNCHANGED]);
  return { analyzed: analyzed!, unchanged: unchanged! };
}

function pushFrame(p: Pipeline, lane: string, frame: Uint8Array): Promise<void> {
  return fetch(`${p.service.url}/api/lanes/${lane}/frames`, {
    method: 'POST',
    headers: { authorization: `Bearer ${p.service.tokens.device}`, 'content-type': 'image/jpeg' },
    body: frame,
  }).then((res) => {
    if (res.status !== 202) throw new Error(`${p.name}: pushing a frame got ${res.status}`);
  });
}

/** A camera: `frameAt(k)` every 1000/fps ms until `until()` says stop or `durationMs` is over. */
async function camera(p: Pipeline, lane: string, fps: number, durationMs: number, frameAt: (k: number) => Uint8Array, until: () => boolean = () => false): Promise<number> {
  const start = performance.now();
  let k = 0;
  for (; performance.now() - start < durationMs && !until(); k++) {
    await pushFrame(p, lane, frameAt(k));
    await sleep(Math.max(0, start + ((k + 1) * 1000) / fps - performance.now()));
  }
  return k;
}

interface Measured {
  cpuPercent: number;
  framesPushed: number;
  framesAnalyzed: number;
  framesUnchanged: number;
  analyzedPerS: number;
  /**
   * Frames analyzed per second of the service's own CPU time: what the pipeline gets out of the
   * CPU it is given, which, unlike frames per wall-clock second, does not fall when other work
   * on the machine takes the cores.
   */
  analyzedPerCpuS: number;
}

async function measure(p: Pipeline, run: () => Promise<number>): Promise<Measured> {
  const before = await counts(p);
  const cpu0 = cpuSeconds(p.service);
  const t0 = performance.now();
  const framesPushed = await run();
  const wallS = (performance.now() - t0) / 1000;
  const cpu = cpuSeconds(p.service) - cpu0;
  const after = await counts(p);
  const framesAnalyzed = after.analyzed - before.analyzed;
  return {
    cpuPercent: round2((cpu / wallS) * 100),
    framesPushed,
    framesAnalyzed,
    framesUnchanged: after.unchanged - before.unchanged,
    analyzedPerS: round2(framesAnalyzed / wallS),
    analyzedPerCpuS: round2(framesAnalyzed / cpu),
  };
}

type Frames = Awaited<ReturnType<typeof renderFrames>>;

const emptyScene = (p: Pipeline, frames: Frames) => measure(p, () => camera(p, 'lane1', LANE_FPS, sceneMs, (k) => frames.empty[k % frames.empty.length]!));

async function standingScene(p: Pipeline, frames: Frames): Promise<Measured> {
  const walk = frames.walkUps[0]!;
  // Walks up and stands a few seconds first (named, past the new face's full-rate frames); the figures are for standing there afterwards.
  const arriving = [...walk.approach, ...Array.from({ length: 100 }, (_, k) => walk.standing[k % walk.standing.length]!)];
  await camera(p, 'lane1', LANE_FPS, 5000, (k) => arriving[k]!);
  const result = await measure(p, () => camera(p, 'lane1', LANE_FPS, sceneMs, (k) => walk.standing[k % walk.standing.length]!));
  await camera(p, 'lane1', LANE_FPS, LEAVE_MS, (k) => frames.empty[k % frames.empty.length]!);
  return result;
}

/** Milliseconds from the push of the first frame with the face to the member's popup; undefined when none came. */
async function walkUp(p: Pipeline, frames: Frames, index: number): Promise<number | undefined> {
  const { person, approach, standing } = frames.walkUps[index]!;
  const memberId = p.memberIds.get(person.name)!;
  let popupAt: number | undefined;
  p.waiting.set(memberId, (atMs) => (popupAt ??= atMs));
  // The counter is empty for a moment first, as it is between customers.
  await camera(p, 'lane1', LANE_FPS, 1000, (k) => frames.empty[k % frames.empty.length]!);
  const firstFaceAt = performance.now();
  const walk = [...approach, ...Array.from({ length: 100 }, (_, k) => standing[k % standing.length]!)];
  await camera(p, 'lane1', LANE_FPS, WALK_UP_GIVE_UP_MS, (k) => walk[k]!, () => popupAt !== undefined);
  p.waiting.delete(memberId);
  await camera(p, 'lane1', LANE_FPS, LEAVE_MS, (k) => frames.empty[k % frames.empty.length]!);
  return popupAt === undefined ? undefined : popupAt - firstFaceAt;
}

async function saturatedScene(p: Pipeline, frames: Frames): Promise<Measured> {
  const lanes = ['lane1', 'lane2'] as const;
  const play = (durationMs: number) =>
    Promise.all(lanes.map((lane, i) => camera(p, lane, SATURATED_FPS, durationMs, (k) => frames.saturated[i]![k % NOISE_VARIANTS]!))).then((n) => n[0]! + n[1]!);
  await play(3000); // both faces named, the workers warm
  const result = await measure(p, () => play(sceneMs));
  await Promise.all(lanes.map((lane) => camera(p, lane, LANE_FPS, LEAVE_MS, (k) => frames.empty[k % frames.empty.length]!)));
  return result;
}

const cast = people();
progress(`bench:lane — rendering ${cast.length} people's walk-ups and the scenes…`);
const frames = await renderFrames(cast);
progress('starting the two services (today: sceneGate off; new: defaults) and enrolling the members…');
const pipelines = [await startPipeline('today', cast), await startPipeline('new', cast)];
const results = Object.fromEntries(pipelines.map((p) => [p.name, { empty: [] as Measured[], standing: [] as Measured[], saturated: [] as Measured[], walkUpMs: [] as number[], walkUpMissed: [] as string[] }]));
/** The same person's walk-up on both pipelines, back to back: new minus today, in ms. */
const pairedWalkUpDeltaMs: number[] = [];
try {
  let nextWalker = 1; // person 0 stands in the standing scene
  for (let r = 0; r < rounds; r++) {
    // Alternate which pipeline goes first, so neither always follows the other.
    const order = r % 2 === 0 ? pipelines : [...pipelines].reverse();
    for (const p of scenes.has('empty') ? order : []) {
      progress(`round ${r + 1}/${rounds}, ${p.name}: empty counter`);
      results[p.name]!.empty.push(await emptyScene(p, frames));
    }
    for (const p of scenes.has('standing') ? order : []) {
      progress(`round ${r + 1}/${rounds}, ${p.name}: a member standing at the counter`);
      results[p.name]!.standing.push(await standingScene(p, frames));
    }
    for (let w = 0; w < walkUpsPerRound; w++) {
      const index = nextWalker;
      nextWalker = (nextWalker % (frames.walkUps.length - 1)) + 1;
      const pair: Partial<Record<PipelineName, number>> = {};
      for (const p of w % 2 === 0 ? order : [...order].reverse()) {
        const ms = await walkUp(p, frames, index);
        if (ms === undefined) results[p.name]!.walkUpMissed.push(frames.walkUps[index]!.person.name);
        else results[p.name]!.walkUpMs.push((pair[p.name] = ms));
      }
      if (pair.today !== undefined && pair.new !== undefined) pairedWalkUpDeltaMs.push(pair.new - pair.today);
    }
    progress(`round ${r + 1}/${rounds}: walk-ups done`);
    for (const p of scenes.has('saturated') ? order : []) {
      progress(`round ${r + 1}/${rounds}, ${p.name}: saturated, two lanes at ${SATURATED_FPS} fps`);
      results[p.name]!.saturated.push(await saturatedScene(p, frames));
    }
  }
  const medianOf = (ms: Measured[], key: keyof Measured) => summarize(ms.map((m) => m[key])).median;
  const summary = Object.fromEntries(
    pipelines.map((p) => {
      const r = results[p.name]!;
      return [
        p.name,
        {
          empty: { cpuPercent: medianOf(r.empty, 'cpuPercent'), analyzedPerS: medianOf(r.empty, 'analyzedPerS'), runs: r.empty },
          standing: { cpuPercent: medianOf(r.standing, 'cpuPercent'), analyzedPerS: medianOf(r.standing, 'analyzedPerS'), runs: r.standing },
          walkUp: { popupMs: summarize(r.walkUpMs), missed: r.walkUpMissed, allMs: r.walkUpMs.map(round2) },
          saturated: {
            analyzedPerS: medianOf(r.saturated, 'analyzedPerS'),
            analyzedPerCpuS: medianOf(r.saturated, 'analyzedPerCpuS'),
            cpuPercent: medianOf(r.saturated, 'cpuPercent'),
            runs: r.saturated,
          },
          rssMbAtEnd: rssMb(p.service),
        },
      ];
    }),
  );
  const today = summary.today!;
  const next = summary.new!;
  const report = {
    machine: 'shared: other work may run on the same cores; CPU % is the service process’s own CPU time, latency is disturbed by other load',
    laneFps: LANE_FPS,
    rounds,
    sceneS: sceneMs / 1000,
    today,
    new: next,
    ratios: {
      emptyCpu: round2(next.empty.cpuPercent / today.empty.cpuPercent),
      standingCpu: round2(next.standing.cpuPercent / today.standing.cpuPercent),
      walkUpP95: round2(next.walkUp.popupMs.p95 / today.walkUp.popupMs.p95),
      saturatedThroughput: round2(next.saturated.analyzedPerS / today.saturated.analyzedPerS),
      saturatedThroughputPerCpuS: round2(next.saturated.analyzedPerCpuS / today.saturated.analyzedPerCpuS),
    },
    /** Median over the walkers timed on both pipelines of (new − today), ms: the paired view, less disturbed by load that comes and goes. */
    walkUpPairedDeltaMs: { median: summarize(pairedWalkUpDeltaMs).median, pairs: pairedWalkUpDeltaMs.length },
    targets: {
      emptyCpuPercentMax: { target: TARGETS.emptyCpuPercentMax, met: next.empty.cpuPercent <= TARGETS.emptyCpuPercentMax },
      standingCpuPercentMax: { target: TARGETS.standingCpuPercentMax, met: next.standing.cpuPercent <= TARGETS.standingCpuPercentMax },
      walkUpP95MsMax: { target: TARGETS.walkUpP95MsMax, met: next.walkUp.popupMs.p95 <= TARGETS.walkUpP95MsMax && next.walkUp.popupMs.p95 <= today.walkUp.popupMs.p95 },
      saturatedThroughputRatioMin: { target: TARGETS.saturatedThroughputRatioMin, met: next.saturated.analyzedPerS >= TARGETS.saturatedThroughputRatioMin * today.saturated.analyzedPerS },
    },
  };
  if (args.json) process.stdout.write(`${JSON.stringify(report)}\n`);
  else {
    const line = (what: string, a: string, b: string, ratio: number | string, target: string) => console.log(`${what.padEnd(34)} ${a.padStart(12)} ${b.padStart(12)} ${String(ratio).padStart(7)}   ${target}`);
    console.log(`memberlens bench:lane — one ${LANE_FPS} fps lane of 640×480 noisy frames, ${rounds} rounds, medians (machine shared; CPU = the service's own CPU time)`);
    line('', 'today', 'new', 'ratio', 'target (new)');
    line('empty counter, CPU % of one core', `${today.empty.cpuPercent}`, `${next.empty.cpuPercent}`, report.ratios.emptyCpu, `≤ ${TARGETS.emptyCpuPercentMax}: ${report.targets.emptyCpuPercentMax.met ? 'met' : 'NOT met'}`);
    line('  frames analyzed per s', `${today.empty.analyzedPerS}`, `${next.empty.analyzedPerS}`, '', '');
    line('member standing, CPU % of one core', `${today.standing.cpuPercent}`, `${next.standing.cpuPercent}`, report.ratios.standingCpu, `≤ ${TARGETS.standingCpuPercentMax}: ${report.targets.standingCpuPercentMax.met ? 'met' : 'NOT met'}`);
    line('  frames analyzed per s', `${today.standing.analyzedPerS}`, `${next.standing.analyzedPerS}`, '', '');
    line('walk-up → popup p50 ms', `${today.walkUp.popupMs.median}`, `${next.walkUp.popupMs.median}`, '', '');
    line('walk-up → popup p95 ms', `${today.walkUp.popupMs.p95}`, `${next.walkUp.popupMs.p95}`, report.ratios.walkUpP95, `≤ ${TARGETS.walkUpP95MsMax} and ≤ today: ${report.targets.walkUpP95MsMax.met ? 'met' : 'NOT met'}`);
    line('  paired (new − today) median ms', '', `${report.walkUpPairedDeltaMs.median}`, '', `${report.walkUpPairedDeltaMs.pairs} pairs`);
    line('  walk-ups timed / missed', `${today.walkUp.popupMs.count}/${today.walkUp.missed.length}`, `${next.walkUp.popupMs.count}/${next.walkUp.missed.length}`, '', '');
    line('saturated, frames analyzed per s', `${today.saturated.analyzedPerS}`, `${next.saturated.analyzedPerS}`, report.ratios.saturatedThroughput, `≥ ${TARGETS.saturatedThroughputRatioMin}× today: ${report.targets.saturatedThroughputRatioMin.met ? 'met' : 'NOT met'}`);
    line('  per s of the service\'s CPU time', `${today.saturated.analyzedPerCpuS}`, `${next.saturated.analyzedPerCpuS}`, report.ratios.saturatedThroughputPerCpuS, '');
    line('  CPU % of one core', `${today.saturated.cpuPercent}`, `${next.saturated.cpuPercent}`, '', '');
    line('service RSS at the end, MB', `${today.rssMbAtEnd}`, `${next.rssMbAtEnd}`, '', '');
  }
} finally {
  for (const p of pipelines) {
    for (const s of p.tills) s.close();
    await p.service.stop();
  }
}
