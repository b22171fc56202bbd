/**
 * `npm run bench:soak [-- --frames 10000] [--json]`
 *
 * Pushes camera frames (members, a stranger, an empty lane, and now and then a garbage
 * "frame") through the real service (`node dist/main.js`) until it has analyzed N frames, and
 * samples the service's RSS as it goes. Memory must reach a plateau: after the warm-up (the
 * WebAssembly heaps of the workers grow to their working size and never shrink), RSS may
 * grow by less than 5 % over the rest of the run.
 */
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { cameraFrame } from './cameraFrames.js';
import { serviceMetric, startServiceProcess } from './serviceProcess.js';

const GROWTH_LIMIT = 0.05;
const WARM_UP_SHARE = 0.1;
const LANES = 2;
const LANE_FPS = 8;

const { values } = parseArgs({ options: { frames: { type: 'string', default: '10000' }, json: { type: 'boolean', default: false } } });
const target = Number(values.frames);
const progress = (text: string) => process.stderr.write(`${text}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const service = await startServiceProcess({
  logLevel: 'warn',
  demo: { seedFolder: '' },
  backup: { intervalHours: 0 },
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
  const frames = [
    ...(await Promise.all(['amy/amy2.png', 'raj/raj3.png', 'stuart/stuart1.png', 'penny/penny2.png'].map((f) => cameraFrame(readFileSync(`test/fixtures/faces/${f}`), { facePx: 200 })))),
    await cameraFrame(),
  ];
  const garbage = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.alloc(4000, 7)]);

  const samples: { analyzed: number; rssMb: number; atS: number }[] = [];
  const started = performance.now();
  let analyzed = 0;
  let pushed = 0;
  let refused = 0;
  let stop = false;
  const pushers = Array.from({ length: LANES }, async (_, lane) => {
    for (let k = 0; !stop; k++) {
      const t = performance.now();
      // Every 200th frame is garbage: it must cost that frame only.
      const body = k % 200 === 199 ? garbage : frames[Math.floor(k / 12) % frames.length]!;
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
    samples.push({ analyzed, rssMb, atS: Math.round((performance.now() - started) / 1000) });
    if (samples.length % 12 === 0) progress(`soak: ${analyzed}/${target} frames analyzed, RSS ${rssMb} MB`);
  }
  stop = true;
  await Promise.all(pushers);
  const failed = await metric(/^memberlens_frames_failed_total\{/);
  const warm = samples.find((s) => s.analyzed >= target * WARM_UP_SHARE) ?? samples[0]!;
  const end = samples.at(-1)!;
  const growth = Math.round(((end.rssMb - warm.rssMb) / warm.rssMb) * 1000) / 1000;
  const report = {
    framesAnalyzed: end.analyzed,
    framesPushed: pushed,
    pushRefused: refused,
    framesFailed: failed,
    durationS: end.atS,
    rssMb: { afterWarmUp: warm.rssMb, warmUpAtFrames: warm.analyzed, end: end.rssMb, max: Math.max(...samples.map((s) => s.rssMb)) },
    growth,
    target: { rssGrowthBelow: GROWTH_LIMIT, met: growth < GROWTH_LIMIT && end.analyzed >= target },
    samples,
  };
  if (values.json) process.stdout.write(`${JSON.stringify(report)}\n`);
  else {
    console.log(`memberlens bench:soak — ${end.analyzed} frames analyzed in ${end.atS} s (${pushed} pushed, ${failed} failed as garbage or undecodable)`);
    console.log(`service RSS: ${warm.rssMb} MB after warm-up (${warm.analyzed} frames), ${end.rssMb} MB at the end, max ${report.rssMb.max} MB`);
    console.log(`RSS growth after warm-up: ${(growth * 100).toFixed(1)} % (target < ${GROWTH_LIMIT * 100} %): ${report.target.met ? 'met' : 'NOT met'}`);
  }
} finally {
  await service.stop();
}
