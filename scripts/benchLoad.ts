/**
 * `npm run bench:load [-- --json] [--duration-s 60] [--tills 50] [--lanes 5] [--events-per-s 20] [--payments-per-s 200]
 *   [--inference-workers N] [--tiny-input-px 416]`
 *
 * The loopback load run of issue 5: the real service (`node dist/main.js`) with 50 till
 * screens connected over Socket.IO across the lanes, camera frames pushed so that every
 * analyzed frame yields a `member:recognized` popup, and payments posted open loop at a fixed
 * rate — all at once for a bounded time. Prints p50/p95/p99 of payment latency, of popup
 * latency (frame push → till), of payment → `payment:linked` at the till and of /healthz,
 * the error counts, and the service's RSS at start and end.
 *
 * Popups as in bench:e2e: votesToDecide 1, popupCooldownMs 0, a short trackTimeoutMs and each
 * enrolled member at a spot of their own, so a frame never continues an earlier track. The
 * achieved popup rate is what the inference workers manage while everything else runs on the
 * same cores (this process included); it is measured, not assumed.
 *
 * Payments are open loop: payment k is due at start + k / rate whatever happened to the
 * earlier ones, and its latency counts from that due time, so a stalled service shows up as
 * latency instead of silently lowering the offered rate.
 */
import { readFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { io, type Socket } from 'socket.io-client';
import { PAYMENT_CHANNELS } from '../src/ledger/paymentChannels.js';
import { cameraFrame } from './cameraFrames.js';
import { summarize } from './benchStats.js';
import { serviceMetric, serviceMetrics, startServiceProcess, type ServiceProcess } from './serviceProcess.js';

const PEOPLE = ['amy', 'bernadette', 'howard', 'leonard', 'penny', 'raj', 'sheldon', 'stuart'];
const FACE_PX = 150;
/** Bounds on everything that waits, so the run always ends by itself. */
const REQUEST_TIMEOUT_MS = 10_000;
const MAX_PAYMENTS_IN_FLIGHT = 2_000;
const DRAIN_MS = 15_000;
const STOP_MS = 20_000;
const HEALTHZ_EVERY_MS = 100;
const RSS_EVERY_MS = 5_000;

const { values: args } = parseArgs({
  options: {
    json: { type: 'boolean', default: false },
    'duration-s': { type: 'string', default: '60' },
    tills: { type: 'string', default: '50' },
    lanes: { type: 'string', default: '5' },
    'events-per-s': { type: 'string', default: '20' },
    'payments-per-s': { type: 'string', default: '200' },
    payers: { type: 'string', default: '2000' },
    // 0: the service's own default (one worker per core).
    'inference-workers': { type: 'string', default: '0' },
    // 0: the service's default (vision.tinyInputSizePx); smaller is faster and misses small faces.
    'tiny-input-px': { type: 'string', default: '0' },
  },
});
const json = args.json!;
// Tills, frames or payments can be set to 0 to see what each part of the load costs alone.
const durationS = numberArg('duration-s', 1, 3600);
const tillCount = numberArg('tills', 0, 1000);
const laneCount = numberArg('lanes', 1, 50);
const eventsPerS = numberArg('events-per-s', 0, 1000);
const paymentsPerS = numberArg('payments-per-s', 0, 5000);
const payerCount = numberArg('payers', 1, 1e6);
const inferenceWorkers = numberArg('inference-workers', 0, 16);
const tinyInputPx = numberArg('tiny-input-px', 0, 608);

function numberArg(name: keyof typeof args, min: number, max: number): number {
  const value = Number(args[name]);
  if (!Number.isFinite(value) || value < min || value > max) {
    process.stderr.write(`bench:load: --${name} must be a number from ${min} to ${max}\n`);
    process.exit(2);
  }
  return value;
}

const progress = (text: string) => process.stderr.write(`${text}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const lanes = Array.from({ length: laneCount }, (_, i) => `lane${i + 1}`);

/** Each member at their own spot of a 4×2 grid, so consecutive frames never share a track. */
function spot(i: number) {
  return { left: 20 + (i % 4) * 155, top: 40 + Math.floor(i / 4) * 220, facePx: FACE_PX };
}

// ---------------------------------------------------------------- what is counted

const counts = {
  paymentsSent: 0,
  paymentsOk: 0,
  paymentsNon2xx: {} as Record<string, number>,
  paymentsNetworkErrors: 0,
  paymentsSkippedInFlightCap: 0,
  framesSent: 0,
  framesNon2xx: {} as Record<string, number>,
  framesNetworkErrors: 0,
  healthzOk: 0,
  healthzErrors: 0,
  socketConnectErrors: 0,
  socketUnexpectedDisconnects: 0,
  /** Deliveries a till should have had (one per till of the lane per event) but did not get. */
  missingDeliveries: 0,
  /** The same event id twice on one till. */
  duplicateDeliveries: 0,
  serviceWarnLines: 0,
  serviceErrorLines: 0,
};
const serviceLogMessages = new Map<string, number>();
const paymentMs: number[] = [];
const popupMs: number[] = [];
const linkedMs: number[] = [];
const healthzMs: number[] = [];
/** `${lane}/${member index}` → push time of the newest frame showing them there. */
const lastPush = new Map<string, number>();
/** orderId → when it was due, until its payment:linked arrives at the first till. */
const paymentDueAt = new Map<string, number>();
/** eventId → { lane, deliveries }: every event any till saw during the run. */
const seen = new Map<string, { lane: string; name: string; deliveries: number }>();
let measuring = false;

function tally(bucket: Record<string, number>, key: string | number): void {
  bucket[key] = (bucket[key] ?? 0) + 1;
}

/**
 * The service logs pino JSON lines on stderr; warn (40) and above during the run count as
 * errors — an ack time-out ("till did not acknowledge an event in time") is how a missing
 * acknowledgement shows.
 */
function onServiceLog(chunk: string): void {
  if (!measuring) return;
  for (const line of chunk.split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      const entry = JSON.parse(line) as { level?: number; msg?: string };
      if ((entry.level ?? 0) < 40) continue;
      if (entry.level! >= 50) counts.serviceErrorLines++;
      else counts.serviceWarnLines++;
      const key = `${entry.level! >= 50 ? 'error' : 'warn'}: ${entry.msg ?? '?'}`;
      serviceLogMessages.set(key, (serviceLogMessages.get(key) ?? 0) + 1);
    } catch {
      // a line split across chunks: not worth reassembling for a count
    }
  }
}

// ---------------------------------------------------------------- the service side

async function enroll(service: ServiceProcess): Promise<Map<string, number>> {
  const memberIndex = new Map<string, number>();
  const auth = { authorization: `Bearer ${service.tokens.admin}` };
  for (const [i, person] of PEOPLE.entries()) {
    const created = await fetch(`${service.url}/api/members`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ name: person }),
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
    const { id } = (await created.json()) as { id: string };
    const face = await fetch(`${service.url}/api/members/${id}/faces?consentMethod=written&staff=bench`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'image/png' },
      body: readFileSync(`test/fixtures/faces/${person}/${person}1.png`),
      signal: AbortSignal.timeout(60_000),
    });
    if (face.status !== 201) throw new Error(`enrolling ${person} failed: ${face.status} ${await face.text()}`);
    memberIndex.set(id, i);
  }
  return memberIndex;
}

function metric(service: ServiceProcess, series: RegExp): Promise<number> {
  return serviceMetric(service, series, REQUEST_TIMEOUT_MS);
}
const RSS = /^memberlens_process_resident_memory_bytes /;
/** Longest event-loop stall since the previous scrape (prom-client resets it on each). */
const LAG_MAX = /^memberlens_nodejs_eventloop_lag_max_seconds /;
const mb = (bytes: number) => Math.round(bytes / 1e5) / 10;
const round1 = (v: number) => Math.round(v * 10) / 10;

// ---------------------------------------------------------------- tills

function connectTill(service: ServiceProcess, lane: string, memberIndex: Map<string, number>): Promise<Socket> {
  const socket = io(`${service.url}/till`, { auth: { token: service.tokens.till, lane }, transports: ['websocket'], reconnection: true });
  const mine = new Set<string>();
  // Every event the contract sends is acknowledged, as a till page does; session marks need none.
  socket.onAny((name: string, payload: { eventId?: string; memberId?: string; orderId?: string } | undefined, ack?: unknown) => {
    if (typeof ack === 'function') (ack as () => void)();
    const eventId = payload?.eventId;
    if (!measuring || !eventId) return;
    const now = performance.now();
    if (mine.has(eventId)) {
      counts.duplicateDeliveries++;
      return;
    }
    mine.add(eventId);
    const entry = seen.get(eventId) ?? { lane, name, deliveries: 0 };
    entry.deliveries++;
    seen.set(eventId, entry);
    if (name === 'member:recognized') {
      const pushed = lastPush.get(`${lane}/${memberIndex.get(payload!.memberId!)}`);
      if (pushed !== undefined) popupMs.push(now - pushed);
    } else if (name === 'payment:linked' && entry.deliveries === 1) {
      const due = paymentDueAt.get(payload!.orderId!);
      if (due !== undefined) {
        linkedMs.push(now - due);
        paymentDueAt.delete(payload!.orderId!);
      }
    }
  });
  socket.on('disconnect', (reason) => {
    if (reason !== 'io client disconnect') counts.socketUnexpectedDisconnects++;
  });
  // Counted whenever it happens; a till that lost its connection keeps trying, as a till page does.
  socket.on('connect_error', () => counts.socketConnectErrors++);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      socket.close();
      reject(new Error(`till on ${lane} did not connect within ${REQUEST_TIMEOUT_MS} ms`));
    }, REQUEST_TIMEOUT_MS);
    socket.once('connect', () => {
      clearTimeout(timer);
      resolve(socket);
    });
  });
}

// ---------------------------------------------------------------- load generators

async function pushFrames(service: ServiceProcess, frames: Buffer[], endAt: number): Promise<void> {
  if (eventsPerS === 0) return;
  const perLaneFps = eventsPerS / laneCount;
  const intervalMs = 1000 / perLaneFps;
  await Promise.all(
    lanes.map(async (lane, laneIndex) => {
      // Lanes start staggered, so frames arrive evenly rather than in bursts of laneCount.
      await sleep((intervalMs * laneIndex) / laneCount);
      const started = performance.now();
      for (let k = 0; ; k++) {
        const dueAt = started + k * intervalMs;
        if (dueAt >= endAt) break;
        await sleep(Math.max(0, dueAt - performance.now()));
        const index = (k + laneIndex) % frames.length;
        lastPush.set(`${lane}/${index}`, performance.now());
        counts.framesSent++;
        try {
          const res = await fetch(`${service.url}/api/lanes/${lane}/frames`, {
            method: 'POST',
            headers: { authorization: `Bearer ${service.tokens.device}`, 'content-type': 'image/jpeg' },
            body: frames[index]!,
            signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
          });
          await res.arrayBuffer();
          if (res.status < 200 || res.status >= 300) tally(counts.framesNon2xx, res.status);
        } catch {
          counts.framesNetworkErrors++;
        }
      }
    }),
  );
}

async function postPayments(service: ServiceProcess, endAt: number): Promise<void> {
  if (paymentsPerS === 0) return;
  const run = Date.now().toString(36);
  const paidAt = new Date().toISOString();
  const started = performance.now();
  const intervalMs = 1000 / paymentsPerS;
  const inFlight = new Set<Promise<void>>();
  const send = (k: number, dueAt: number) => {
    const payer = (k * 7919) % payerCount; // a fixed walk over the payers: new members early, returning ones later
    const orderId = `load-${run}-${k}`;
    const body = JSON.stringify({
      orderId,
      lane: lanes[k % laneCount],
      channel: PAYMENT_CHANNELS[payer % PAYMENT_CHANNELS.length],
      appId: 'bench-load-app',
      payerId: `payer-${payer}`,
      amount: `${1 + (k % 500)}.${String(k % 100).padStart(2, '0')}`,
      paidAt,
    });
    counts.paymentsSent++;
    paymentDueAt.set(orderId, dueAt);
    const p = (async () => {
      try {
        const res = await fetch(`${service.url}/api/payments`, {
          method: 'POST',
          headers: { authorization: `Bearer ${service.tokens.pos}`, 'content-type': 'application/json' },
          body,
          signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
        });
        await res.arrayBuffer();
        if (res.status >= 200 && res.status < 300) {
          counts.paymentsOk++;
          paymentMs.push(performance.now() - dueAt);
        } else {
          tally(counts.paymentsNon2xx, res.status);
        }
      } catch {
        counts.paymentsNetworkErrors++;
      }
    })();
    inFlight.add(p);
    void p.finally(() => inFlight.delete(p));
  };
  let k = 0;
  while (performance.now() < endAt) {
    const now = performance.now();
    for (; started + k * intervalMs <= now && started + k * intervalMs < endAt; k++) {
      if (inFlight.size >= MAX_PAYMENTS_IN_FLIGHT) counts.paymentsSkippedInFlightCap++;
      else send(k, started + k * intervalMs);
    }
    await sleep(Math.min(intervalMs, 5));
  }
  // Bounded drain: each request has its own timeout too.
  await Promise.race([Promise.allSettled([...inFlight]), sleep(DRAIN_MS)]);
}

async function pollHealthz(service: ServiceProcess, endAt: number): Promise<void> {
  while (performance.now() < endAt) {
    const t = performance.now();
    try {
      const res = await fetch(`${service.url}/healthz`, { signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
      await res.arrayBuffer();
      if (res.ok) {
        counts.healthzOk++;
        healthzMs.push(performance.now() - t);
      } else counts.healthzErrors++;
    } catch {
      counts.healthzErrors++;
    }
    await sleep(Math.max(0, HEALTHZ_EVERY_MS - (performance.now() - t)));
  }
}

/** The service's counters the report takes the difference of, from one scrape. */
const COUNTERS = {
  analyzed: /^memberlens_inference_stage_seconds_count\{stage="detect"\}/,
  recognitions: /^memberlens_recognitions_total\{/,
  framesFailed: /^memberlens_frames_failed_total\{/,
  framesDropped: /^memberlens_frames_dropped_total\{/,
  ledgerCommits: /^memberlens_ledger_group_commits_total /,
  ledgerWrites: /^memberlens_ledger_grouped_writes_total /,
};

async function serviceCounters(service: ServiceProcess): Promise<Record<keyof typeof COUNTERS, number>> {
  const names = Object.keys(COUNTERS) as (keyof typeof COUNTERS)[];
  const values = await serviceMetrics(service, Object.values(COUNTERS), REQUEST_TIMEOUT_MS);
  return Object.fromEntries(names.map((name, i) => [name, values[i]!])) as Record<keyof typeof COUNTERS, number>;
}

/** RSS and the longest event-loop stall every RSS_EVERY_MS, from the service's own /metrics. */
async function sampleService(service: ServiceProcess, endAt: number, rss: number[], lagMaxS: number[]): Promise<void> {
  while (performance.now() < endAt) {
    try {
      const [bytes, lag] = await serviceMetrics(service, [RSS, LAG_MAX], REQUEST_TIMEOUT_MS);
      rss.push(bytes!);
      lagMaxS.push(lag!);
    } catch {
      // counted through /healthz; a missed sample only thins the peak estimate
    }
    await sleep(Math.min(RSS_EVERY_MS, Math.max(0, endAt - performance.now())));
  }
}

// ---------------------------------------------------------------- the run

progress('making camera frames…');
const frames = await Promise.all(PEOPLE.map((p, i) => cameraFrame(readFileSync(`test/fixtures/faces/${p}/${p}2.png`), spot(i))));
progress(`starting the service (node dist/main.js) with ${laneCount} push lanes…`);
const service = await startServiceProcess(
  {
    logLevel: 'warn',
    demo: { seedFolder: '' },
    backup: { intervalHours: 0 },
    tracker: { votesToDecide: 1, popupCooldownMs: 0, trackTimeoutMs: 300 },
    inference: { workers: inferenceWorkers },
    ...(tinyInputPx > 0 ? { vision: { tinyInputSizePx: tinyInputPx } } : {}),
    lanes: lanes.map((id) => ({ id, camera: { kind: 'http-push' } })),
  },
  { onStderr: onServiceLog },
);
const sockets: Socket[] = [];
try {
  progress('enrolling 8 members…');
  const memberIndex = await enroll(service);
  progress(`connecting ${tillCount} tills…`);
  const tillLane = Array.from({ length: tillCount }, (_, i) => lanes[i % laneCount]!);
  for (let i = 0; i < tillCount; i += 10) {
    sockets.push(...(await Promise.all(tillLane.slice(i, i + 10).map((lane) => connectTill(service, lane, memberIndex)))));
  }
  const tillsPerLane = new Map<string, number>();
  for (const lane of tillLane) tillsPerLane.set(lane, (tillsPerLane.get(lane) ?? 0) + 1);
  const connectedAtStart = await metric(service, /^memberlens_connected_tills /);
  const rssStart = await metric(service, RSS);
  const before = await serviceCounters(service);

  progress(`${durationS} s: ${paymentsPerS} payments/s, ${eventsPerS} frames/s over ${laneCount} lanes, ${tillCount} tills, /healthz every ${HEALTHZ_EVERY_MS} ms…`);
  measuring = true;
  // Other processes on the same cores distort every figure; the load average says how much.
  const loadAtStart = loadavg()[0]!;
  const start = performance.now();
  const endAt = start + durationS * 1000;
  const rssSamples: number[] = [rssStart];
  const lagMaxSamplesS: number[] = [];
  await Promise.all([
    pushFrames(service, frames, endAt),
    postPayments(service, endAt),
    pollHealthz(service, endAt),
    sampleService(service, endAt, rssSamples, lagMaxSamplesS),
  ]);
  const loadEndedS = (performance.now() - start) / 1000;
  await sleep(2000); // the last popups and payment events on their way to the tills
  measuring = false;

  const [rssEnd, lagEndS] = await serviceMetrics(service, [RSS, LAG_MAX], REQUEST_TIMEOUT_MS);
  lagMaxSamplesS.push(lagEndS!);
  const after = await serviceCounters(service);
  const connectedAtEnd = await metric(service, /^memberlens_connected_tills /);
  for (const entry of seen.values()) counts.missingDeliveries += (tillsPerLane.get(entry.lane) ?? 0) - entry.deliveries;
  const popupEvents = [...seen.values()].filter((e) => e.name === 'member:recognized').length;
  const eventsByName: Record<string, number> = {};
  for (const entry of seen.values()) tally(eventsByName, entry.name);

  const errors =
    Object.values(counts.paymentsNon2xx).reduce((a, b) => a + b, 0) +
    counts.paymentsNetworkErrors +
    counts.paymentsSkippedInFlightCap +
    Object.values(counts.framesNon2xx).reduce((a, b) => a + b, 0) +
    counts.framesNetworkErrors +
    counts.healthzErrors +
    counts.socketConnectErrors +
    counts.socketUnexpectedDisconnects +
    counts.missingDeliveries +
    counts.duplicateDeliveries +
    counts.serviceWarnLines +
    counts.serviceErrorLines;
  const report = {
    durationS,
    loadEndedS: Math.round(loadEndedS * 10) / 10,
    offered: {
      paymentsPerS,
      framesPerS: eventsPerS,
      lanes: laneCount,
      tills: tillCount,
      inferenceWorkers: inferenceWorkers || 'auto',
      tinyInputPx: tinyInputPx || 'default',
    },
    achieved: {
      paymentsOkPerS: Math.round((counts.paymentsOk / durationS) * 10) / 10,
      framesAnalyzedPerS: Math.round(((after.analyzed - before.analyzed) / durationS) * 10) / 10,
      popupEventsPerS: Math.round((popupEvents / durationS) * 10) / 10,
      framesDropped: after.framesDropped - before.framesDropped,
      framesFailed: after.framesFailed - before.framesFailed,
      recognitionsCountedByService: after.recognitions - before.recognitions,
      eventsByName,
      tillDeliveries: [...seen.values()].reduce((a, e) => a + e.deliveries, 0),
      // Group commit: how many ledger writes shared each transaction (and its fsync).
      ledgerWrites: after.ledgerWrites - before.ledgerWrites,
      ledgerCommits: after.ledgerCommits - before.ledgerCommits,
    },
    latencyMs: {
      payment: summarize(paymentMs),
      popup: summarize(popupMs),
      paymentLinkedAtTill: summarize(linkedMs),
      healthz: summarize(healthzMs),
    },
    counts,
    errors,
    serviceLogMessages: Object.fromEntries(serviceLogMessages),
    tillsConnected: { start: connectedAtStart, end: connectedAtEnd },
    serviceRssMb: { start: mb(rssStart), peak: mb(Math.max(...rssSamples, rssEnd!)), end: mb(rssEnd!) },
    // The service's own view, free of this process's stalls: its longest event-loop stall.
    serviceEventLoopLagMaxMs: Math.round(Math.max(...lagMaxSamplesS) * 1000),
    machine: { cores: availableParallelism(), loadAverage1m: { start: round1(loadAtStart), end: round1(loadavg()[0]!) } },
  };

  if (json) {
    process.stdout.write(`${JSON.stringify(report)}\n`);
  } else {
    console.log(
      `memberlens bench:load — ${durationS} s, ${tillCount} tills on ${laneCount} lanes (${tillsPerLane.get(lanes[0]!)} per lane), ` +
        `offered ${paymentsPerS} payments/s and ${eventsPerS} frames/s`,
    );
    const row = (s: ReturnType<typeof summarize>) => ({ count: s.count, p50: s.median, p95: s.p95, p99: s.p99, max: s.max });
    console.table({
      'payment (due → 2xx)': row(report.latencyMs.payment),
      'popup (frame push → till)': row(report.latencyMs.popup),
      'payment due → payment:linked at till': row(report.latencyMs.paymentLinkedAtTill),
      '/healthz': row(report.latencyMs.healthz),
    });
    console.log(
      `achieved: ${report.achieved.paymentsOkPerS} payments/s ok, ${report.achieved.framesAnalyzedPerS} frames analyzed/s, ` +
        `${report.achieved.popupEventsPerS} popup events/s (${popupEvents} events, ${report.achieved.framesDropped} frames dropped as superseded, ` +
        `${report.achieved.framesFailed} failed); ${report.achieved.tillDeliveries} till deliveries ${JSON.stringify(eventsByName)}`,
    );
    const { ledgerWrites, ledgerCommits } = report.achieved;
    console.log(
      `ledger: ${ledgerWrites} writes in ${ledgerCommits} commits` +
        (ledgerCommits > 0 ? ` (group commit: ${round1(ledgerWrites / ledgerCommits)} writes per fsync on average)` : ''),
    );
    console.table({
      'payments non-2xx': JSON.stringify(counts.paymentsNon2xx),
      'payments network errors / timeouts': counts.paymentsNetworkErrors,
      'payments not sent (in-flight cap)': counts.paymentsSkippedInFlightCap,
      'frames non-2xx': JSON.stringify(counts.framesNon2xx),
      'frames network errors': counts.framesNetworkErrors,
      '/healthz errors': counts.healthzErrors,
      'socket connect errors': counts.socketConnectErrors,
      'socket unexpected disconnects': counts.socketUnexpectedDisconnects,
      'till deliveries missing': counts.missingDeliveries,
      'till deliveries duplicated': counts.duplicateDeliveries,
      'service warn log lines': counts.serviceWarnLines,
      'service error log lines': counts.serviceErrorLines,
    });
    if (serviceLogMessages.size > 0) console.log('service warnings/errors:', Object.fromEntries(serviceLogMessages));
    console.log(
      `tills connected ${connectedAtStart} at start, ${connectedAtEnd} at end; service RSS ${report.serviceRssMb.start} MB at start, ` +
        `${report.serviceRssMb.peak} MB peak, ${report.serviceRssMb.end} MB at end; longest event-loop stall in the service ` +
        `${report.serviceEventLoopLagMaxMs} ms; ${errors === 0 ? 'no errors' : `${errors} errors`}`,
    );
    console.log(
      `machine: ${report.machine.cores} cores, 1-min load average ${report.machine.loadAverage1m.start} at start, ` +
        `${report.machine.loadAverage1m.end} at end (this bench and the service included)`,
    );
  }
  process.exitCode = errors === 0 ? 0 : 1;
} finally {
  for (const s of sockets) s.close();
  // An overloaded service may take long to stop cleanly; the bench still ends within STOP_MS.
  await Promise.race([service.stop(), sleep(STOP_MS)]);
  if (service.child.exitCode === null && service.child.signalCode === null) {
    progress(`the service did not stop within ${STOP_MS} ms of SIGTERM; killing it`);
    service.child.kill('SIGKILL');
    await service.stop();
  }
}
