/**
 * `npm run bench:soak [-- --frames 10000] [--json]`
 *
 * Pushes camera frames through the real service (`node dist/main.js`, two inference workers)
 * until it has analyzed N frames, and samples the service's RSS as it goes. The frames are what
 * a till camera sends, each with sensor noise of its own: people (members and a stranger) walk
 * up, stand swaying at the counter and leave, with empty spells in between, and now and then a
 * garbage "frame". Someone moving keeps the scene gate passing frames to the engine, so the
 * analyzed frames are mostly searches near a followed face, with whole-frame re-checks and new
 * faces among them. Memory must reach a plateau: after the warm-up (the WebAssembly heaps of
 * the workers grow to their working size and never shrink), RSS may grow by less than 5 % over
 * the rest of the run.
 */
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { FRAME_HEIGHT_PX, FRAME_WIDTH_PX } from './cameraFrames.js';
import { noisyCameraFrame } from './calibration/tillCamera.js';
import { serviceMetric, startServiceProcess } from './serviceProcess.js';

const GROWTH_LIMIT = 0.05;
/** Issue target for the service's RSS at the end of the soak, two workers. */
const RSS_END_MB_MAX = 500;
const WARM_UP_SHARE = 0.1;
const LANES = 2;
const LANE_FPS = 8;
const FACE_PX = 200;
/** One visit at the counter: walking up, standing (swaying a little), leaving, then an empty counter. */
const APPROACH_FRAMES = 5;
const STANDING_FRAMES = 48;
const EMPTY_FRAMES = 12;

const { values } = parseArgs({ options: { frames: { type: 'string', default: '10000' }, json: { type: 'boolean', default: false } } });
const target = Number(values.frames);
const progress = (text: string) => process.stderr.write(`${text}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const service = await startServiceProcess({
  logLevel: 'warn',
  demo: { seedFolder: '' },
  backup: { intervalHours: 0 },
  inference: { workers: 2 },
  lanes: Array.from({ length: LANES }, (_, i) => ({ id: `lane${i + 1}`, camera: { kind: 'http-push' } })),
});
const auth = (role: string) => ({ authorization: `Bearer ${service.tokens[role]}` });

const metric = (series: RegExp) => serviceMetric(service, series);

try {
  // Two members enrolled, so frames exercise matching and the tracker's popups as well as unknowns.
  for (const person of ['amy', 'raj']) {
    const created = await fetch(`${service.url}/api/members`, { method: 'POST', headers: { ...auth('admin'), 'content-type': 'application/json' }, body: JSON.stringify({ name: person }) });
    const { id } = (await created.json()) as { id: string };
    await fetch(`${service.url}/api/members/${id}/faces?consentMethod=written&staff=soak`, {
      method: 'POST',
      headers: { ...auth('admin'), 'content-type': 'image/png' },
      body: readFileSync(`test/fixtures/faces/${person}/${person}1.png`),
    });
  }
  progress('soak: rendering the visits…');
  let seed = 1;
  const centre = { left: (FRAME_WIDTH_PX - FACE_PX) >> 1, top: (FRAME_HEIGHT_PX - FACE_PX) >> 1 };
  const frames: Uint8Array[] = [];
  for (const file of ['amy/amy2.png', 'raj/raj3.png', 'stuart/stuart1.png', 'penny/penny2.png']) {
    const crop = readFileSync(`test/fixtures/faces/${file}`);
    for (let i = 0; i < APPROACH_FRAMES; i++) {
      const k = i / (APPROACH_FRAMES - 1);
      frames.push(await noisyCameraFrame(crop, { left: 30 + k * (centre.left - 30), top: 200 + k * (centre.top - 200), facePx: Math.round(120 + k * (FACE_PX - 120)) }, seed++));
    }
    for (let i = 0; i < STANDING_FRAMES; i++) {
      frames.push(await noisyCameraFrame(crop, { left: centre.left + Math.round(8 * Math.sin(i / 2)), top: centre.top + Math.round(4 * Math.cos(i / 3)), facePx: FACE_PX }, seed++));
    }
    for (let i = 0; i < EMPTY_FRAMES; i++) frames.push(await noisyCameraFrame(undefined, { ...centre, facePx: FACE_PX }, seed++));
  }
  const garbage = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.alloc(4000, 7)]);

  const samples: { analyzed: number; rssMb: number; wasmHeapMb: number; atS: number }[] = [];
  const started = performance.now();
  let analyzed = 0;
  let pushed = 0;
  let refused = 0;
  let stop = false;
  const pushers = Array.from({ length: LANES }, async (_, lane) => {
    for (let k = 0; !stop; k++) {
      const t = performance.now();
      // Every 200th frame is garbage: it must cost that frame only.
      // The lanes start at different visits, so their workers are not in step.
      const body = k % 200 === 199 ? garbage : frames[(k + lane * 97) % frames.length]!;
      const res = await fetch(`${service.url}/api/lanes/lane${lane + 1}/frames`, { method: 'POST', headers: { ...auth('device'), 'content-type': 'image/jpeg' }, body });
      if (res.status === 202) pushed++;
      else refused++;
      await sleep(Math.max(0, 1000 / LANE_FPS - (performance.now() - t)));
    }
  });
  const deadline = performance.now() + 3 * 3_600_000;
  while (analyzed < target && performance.now() < deadline) {
    await sleep(5000);
    analyzed = await metric(/^memberlens_inference_stage_seconds_count\{stage="detect"\}/);
    const rssMb = Math.round((await metric(/^memberlens_process_resident_memory_bytes /)) / 1e5) / 10;
    const wasmHeapMb = Math.round((await metric(/^memberlens_inference_wasm_heap_bytes /)) / 1e5) / 10;
    samples.push({ analyzed, rssMb, wasmHeapMb, atS: Math.round((performance.now() - started) / 1000) });
    if (samples.length % 12 === 0) progress(`soak: ${analyzed}/${target} frames analyzed, RSS ${rssMb} MB (workers' WebAssembly memory ${wasmHeapMb} MB)`);
  }
  stop = true;
  await Promise.all(pushers);
  const failed = await metric(/^memberlens_frames_failed_total\{/);
  const unchanged = await metric(/^memberlens_frames_unchanged_total\{/);
  const warm = samples.find((s) => s.analyzed >= target * WARM_UP_SHARE) ?? samples[0]!;
  const end = samples.at(-1)!;
  const growth = Math.round(((end.rssMb - warm.rssMb) / warm.rssMb) * 1000) / 1000;
  const report = {
    framesAnalyzed: end.analyzed,
    framesPushed: pushed,
    pushRefused: refused,
    framesFailed: failed,
    framesUnchanged: unchanged,
    durationS: end.atS,
    rssMb: { afterWarmUp: warm.rssMb, warmUpAtFrames: warm.analyzed, end: end.rssMb, max: Math.max(...samples.map((s) => s.rssMb)) },
    growth,
    wasmHeapMbAtEnd: end.wasmHeapMb,
    target: { rssGrowthBelow: GROWTH_LIMIT, met: growth < GROWTH_LIMIT && end.analyzed >= target },
    rssEndTarget: { mbMax: RSS_END_MB_MAX, met: end.rssMb <= RSS_END_MB_MAX },
    samples,
  };
  if (values.json) process.stdout.write(`${JSON.stringify(report)}\n`);
  else {
    console.log(`memberlens bench:soak — ${end.analyzed} frames analyzed in ${end.atS} s (${pushed} pushed, ${unchanged} passed over by the scene gate, ${failed} failed as garbage or undecodable)`);
    console.log(`service RSS: ${warm.rssMb} MB after warm-up (${warm.analyzed} frames), ${end.rssMb} MB at the end, max ${report.rssMb.max} MB`);
    console.log(`RSS growth after warm-up: ${(growth * 100).toFixed(1)} % (target < ${GROWTH_LIMIT * 100} %): ${report.target.met ? 'met' : 'NOT met'}`);
    console.log(`RSS at the end ≤ ${RSS_END_MB_MAX} MB: ${report.rssEndTarget.met ? 'met' : 'NOT met'}; the workers' WebAssembly memory at the end: ${end.wasmHeapMb} MB`);
  }
} finally {
  await service.stop();
}
