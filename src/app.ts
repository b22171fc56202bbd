import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createAdminApp, type LaneDirectory, type LaneView } from './admin/adminApp.js';
import { isShedding, type LoadShedding } from './admin/loadShedding.js';
import type { Settings } from './config/settingsSchema.js';
import { childLogger, type Logger } from './core/logger.js';
import { FifoSemaphore } from './core/fifoSemaphore.js';
import { EventLoopLag } from './core/eventLoopLag.js';
import { ServiceMetrics } from './core/serviceMetrics.js';
import { backupFileName, rotateBackups, type IssuedToken } from './ledger/index.js';
import { LaneRecognizer } from './matching/laneRecognizer.js';
import { LaneTracker } from './matching/tracker.js';
import type { TrackerEvent } from './matching/trackerTypes.js';
import { decideMatch } from './matching/matcher.js';
import { TillGateway } from './push/tillGateway.js';
import type { TillEventName, TillEventPayload } from './push/tillEvents.js';
import { openRecognitionCore, type RecognitionCore } from './recognitionCore.js';
import { checkoutRoutes } from './admin/checkoutRoutes.js';
import { Checkout } from './fusion/checkout.js';
import { LaneFusion } from './fusion/laneFusion.js';
import { LocalFakePaymentProvider, NoPaymentProvider } from './fusion/paymentProvider.js';
import { createScannerSource, type AnyScannerSource } from './sources/scannerSourceFactory.js';
import { qualityReasons } from './vision/faceQuality.js';
import type { CameraStatusReport } from './sources/cameraSource.js';
import { createCameraSource, type AnyCameraSource } from './sources/createCameraSource.js';
import { HttpPushCamera } from './sources/httpPushCamera.js';
import { LatestFrameSlot } from './sources/latestFrameSlot.js';
import { InferencePool } from './vision/inferencePool.js';

interface Lane {
  id: string;
  camera: AnyCameraSource;
  scanner: AnyScannerSource;
  tracker: LaneTracker;
  fusion: LaneFusion;
  slot: LatestFrameSlot;
  recognizer: LaneRecognizer;
  latestFrame: Uint8Array | undefined;
  cameraStatus: CameraStatusReport;
  /** Frames replaced while the lane waited for an inference worker. */
  superseded: number;
}

export interface RunningApp {
  url: string;
  port: number;
  /** Tokens made on this start because none existed; shown once, never stored in clear. */
  firstStartTokens: IssuedToken[];
  core: RecognitionCore;
  metrics: ServiceMetrics;
  /** The HTTP routes, for tests that walk every one of them. */
  adminApp: ReturnType<typeof createAdminApp>;
  stop(): Promise<void>;
}

/** Compiled pages live in dist/web whether this module runs from src/ (tsx) or dist/. */
const WEB_DIR = fileURLToPath(new URL('../dist/web', import.meta.url));

/**
 * Builds the stages in flow order — store and gallery, inference pool, lanes (camera →
 * latest-frame slot → recognizer → tracker), till gateway, admin API — starts them, and
 * stops them in reverse. The only module that knows every stage.
 */
export async function startApp(settings: Settings, root: Logger): Promise<RunningApp> {
  const log = childLogger(root, 'app');
  const metrics = new ServiceMetrics();
  const inferenceWorkers = settings.inference.workers || availableParallelism();
  const core = await openRecognitionCore(settings, root, () =>
    InferencePool.create({
      size: inferenceWorkers,
      vision: settings.vision,
      log: childLogger(root, 'inference'),
      maxQueueLength: settings.inference.maxQueueLength,
      workerNice: settings.inference.workerNice,
    }),
  );
  const stops: (() => Promise<void> | void)[] = [() => core.close()];
  const stopAll = async () => {
    for (const stop of stops.reverse()) {
      try {
        await stop();
      } catch (err) {
        log.error({ err }, 'stopping a stage failed');
      }
    }
  };

  try {
    const firstStartTokens = issueFirstTokens(core);
    await seedDemoMembers(settings, core, log);
    stops.push(scheduleBackups(settings, core, log));

    const httpServer = createServer({
      headersTimeout: settings.server.headersTimeoutMs,
      requestTimeout: settings.server.requestTimeoutMs,
      // Node checks both timeouts only this often (30 s by default), which would let a stalled
      // client keep its connection well past them.
      connectionsCheckingInterval: Math.min(1000, settings.server.headersTimeoutMs),
    });
    const gateway = new TillGateway({
      httpServer,
      authenticate: (token) => {
        const t = core.store.tokens.verify(token);
        return t && (t.role === 'till' || t.role === 'admin') ? { role: t.role, tokenId: t.id } : undefined;
      },
      lanes: () => settings.lanes.map((l) => l.id),
      recoveryWindowMs: settings.till.recoveryWindowMs,
      ackTimeoutMs: settings.till.ackTimeoutMs,
      log: childLogger(root, 'till'),
      onConnectionsChanged: (n) => metrics.connectedTills.set(n),
    });
    const push = <E extends TillEventName>(lane: string, event: E, payload: Omit<TillEventPayload<E>, 'eventId' | 'lane' | 'at'>) => {
      // Before start (a camera reporting in) and while stopping (requests in flight still commit)
      // there is no till to tell: the event is dropped rather than turning a committed payment into
      // a 500; tills show the current state when they connect.
      if (!gatewayRunning) {
        log.debug({ lane, event }, 'till event dropped: the till gateway is not running');
        return;
      }
      gateway.emitToLane(lane, event, { ...payload, eventId: randomUUID(), lane, at: new Date().toISOString() } as TillEventPayload<E>);
    };

    let gatewayRunning = false;
    const lanes = new Map<string, Lane>();
    const checkout = new Checkout({
      store: core.store,
      gallery: core.gallery,
      provider: settings.checkout.paymentProvider === 'local-fake' ? new LocalFakePaymentProvider() : new NoPaymentProvider(),
      lanes: (id) => lanes.get(id),
      emit: (laneId, event, payload) => push(laneId, event, payload),
      options: {
        consentPolicy: settings.checkout.consentPolicy,
        consentRequestTtlMs: settings.checkout.consentRequestTtlMs,
        memberQrSecret: core.memberQrSecret,
        matchPolicy: settings.matching,
        enrollGate: settings.vision.enrollGate,
      },
      log: childLogger(root, 'checkout'),
    });
    const inference = new FifoSemaphore(inferenceWorkers);
    const onEvents = (laneId: string, events: TrackerEvent[]) => {
      for (const event of events) {
        if (event.type === 'recognized') {
          const view = checkout.memberView(event.memberId);
          if (!view) continue; // deleted between match and popup
          const { memberId: _id, ...member } = view;
          metrics.recognitions.inc({ lane: laneId });
          core.store.audit.record({ actor: `lane:${laneId}`, action: 'match', subject: event.memberId, details: { confidence: round3(event.confidence) } });
          push(laneId, 'member:recognized', { memberId: event.memberId, ...member, confidence: round3(event.confidence) });
        } else if (event.type === 'unknown') {
          metrics.unknowns.inc({ lane: laneId });
          push(laneId, 'face:unknown', { trackId: event.trackId });
        } else if (event.memberId) {
          push(laneId, 'member:left', { trackId: event.trackId, memberId: event.memberId });
        }
      }
    };

    for (const laneSettings of settings.lanes) {
      const laneLog = childLogger(root, `lane:${laneSettings.id}`);
      const slot = new LatestFrameSlot();
      const lane: Lane = {
        id: laneSettings.id,
        slot,
        latestFrame: undefined,
        superseded: 0,
        cameraStatus: { lane: laneSettings.id, state: 'starting', framesIn: 0, framesDropped: 0 },
        camera: undefined as unknown as AnyCameraSource,
        scanner: undefined as unknown as AnyScannerSource,
        tracker: undefined as unknown as LaneTracker,
        fusion: undefined as unknown as LaneFusion,
        recognizer: undefined as unknown as LaneRecognizer,
      };
      lane.camera = createCameraSource(
        laneSettings.id,
        laneSettings.camera,
        {
          onFrame: (frame) => {
            metrics.framesIn.inc({ lane: lane.id });
            const before = slot.dropped;
            slot.offer(frame);
            if (slot.dropped > before) metrics.framesDropped.inc({ lane: lane.id });
            lane.latestFrame = frame.bytes;
          },
          onStatus: (report) => {
            const changed = report.state !== lane.cameraStatus.state;
            lane.cameraStatus = report;
            if (changed) {
              laneLog.info({ state: report.state, detail: report.detail }, 'camera status');
              push(lane.id, 'camera:status', { state: report.state, detail: report.detail, framesIn: report.framesIn, framesDropped: report.framesDropped + slot.dropped });
            }
          },
        },
        laneLog,
      );
      const tracker = new LaneTracker({
        lane: lane.id,
        options: { ...settings.tracker, matchThreshold: settings.matching.matchThreshold },
        decide: (descriptor) => decideMatch(core.gallery.search(descriptor), settings.matching),
        isEnrollable: (face) => face.quality !== undefined && qualityReasons(face.quality, settings.vision.enrollGate).length === 0,
      });
      lane.tracker = tracker;
      lane.fusion = new LaneFusion({
        options: {
          scanWindowMs: settings.checkout.scanWindowMs,
          paymentWindowMs: settings.checkout.paymentWindowMs,
          dominantAreaRatioMin: settings.checkout.dominantAreaRatioMin,
          minFramesSeen: settings.checkout.minFramesSeen,
          cashierZone: settings.checkout.cashierZone,
        },
        tracksAt: (nowMs, windowMs) => tracker.presentTracksWithFrames(nowMs, windowMs),
        frameSize: frameSizeOf(laneSettings.camera),
      });
      lane.scanner = createScannerSource(
        lane.id,
        laneSettings.scanner,
        {
          onScan: (scan) => {
            checkout.scan(scan.lane, scan.code, scan.atMs).catch((err: unknown) => laneLog.error({ err }, 'scan handling failed'));
          },
          onStatus: (report) => laneLog.info({ scanner: report.kind, state: report.state, detail: report.detail }, 'scanner status'),
        },
        laneLog,
      );
      lane.recognizer = new LaneRecognizer({
        lane: lane.id,
        analyzer: core.analyzer,
        tracker,
        nextFrame: () => slot.next(),
        newerFrame: () => slot.take(),
        acquireInference: () => inference.acquire(),
        onFrameSuperseded: (laneId) => {
          lane.superseded += 1;
          metrics.framesDropped.inc({ lane: laneId });
        },
        onEvents,
        onFrameAnalyzed: (_lane, t) => {
          metrics.stageSeconds.observe({ stage: 'decode' }, t.decode / 1000);
          metrics.stageSeconds.observe({ stage: 'detect' }, t.detect / 1000);
          metrics.stageSeconds.observe({ stage: 'landmarks' }, t.landmarks / 1000);
          metrics.stageSeconds.observe({ stage: 'descriptor' }, t.descriptor / 1000);
        },
        onFrameFailed: (laneId, reason) => metrics.framesFailed.inc({ lane: laneId, reason }),
        onTracked: (_lane, atMs) => lane.fusion.observe(atMs),
        expireEveryMs: Math.max(100, settings.tracker.trackTimeoutMs / 2),
        log: laneLog,
      });
      lanes.set(lane.id, lane);
    }

    const directory: LaneDirectory = {
      list: () => [...lanes.values()].map((lane) => laneView(lane, gateway.stats().byLane[lane.id] ?? 0)),
      has: (id) => lanes.has(id),
      pushFrame: (id, bytes) => {
        const camera = lanes.get(id)?.camera;
        if (!(camera instanceof HttpPushCamera)) return false;
        camera.push(bytes);
        return true;
      },
      latestFrame: (id) => lanes.get(id)?.latestFrame,
    };
    const startedAt = Date.now();
    const { loadShedding, stop: stopWatchingLoad } = watchLoad(settings, metrics, log);
    stops.push(stopWatchingLoad);
    const app = createAdminApp({
      log: childLogger(root, 'http'),
      checkoutRoutes: checkoutRoutes({
        checkout,
        store: core.store,
        verifyToken: (token) => core.store.tokens.verify(token),
        hasLane: (id) => lanes.has(id),
        memberQrTtlMs: settings.checkout.memberQrTtlMs,
        jsonBodyBytes: settings.server.jsonBodyLimitBytes,
        loadShedding,
      }),
      verifyToken: (token) => core.store.tokens.verify(token),
      store: core.store,
      enrollment: core.enrollment,
      lanes: directory,
      health: () => ({
        uptimeS: Math.round((Date.now() - startedAt) / 1000),
        backend: core.analyzer.backend,
        lanes: [...lanes.keys()],
        eventLoopLagMs: Math.round(loadShedding.lagMs()),
        shedding: isShedding(loadShedding),
      }),
      metrics: () => metrics.render(),
      onMemberDeleted: (memberId) => {
        for (const id of lanes.keys()) push(id, 'member:deleted', { memberId });
      },
      webDir: WEB_DIR,
      limits: { jsonBodyBytes: settings.server.jsonBodyLimitBytes, imageBodyBytes: settings.vision.maxImageBytes },
      security: settings.security,
      loadShedding,
    });
    httpServer.on('request', app);

    // Reverse order of stopping: lanes first (no new events), then the gateway (closes the server).
    gateway.start();
    gatewayRunning = true;
    stops.push(() => {
      gatewayRunning = false;
      return gateway.stop();
    });
    await new Promise<void>((resolve, reject) => {
      httpServer.once('error', reject);
      httpServer.listen(settings.server.port, settings.server.host, () => resolve());
    });
    for (const lane of lanes.values()) {
      lane.recognizer.start();
      await lane.camera.start();
      await lane.scanner.start();
      stops.push(async () => {
        await lane.scanner.stop();
        await lane.camera.stop();
        lane.slot.close();
        await lane.recognizer.stop();
      });
    }
    // Scans whose face window closed are settled, unanswered consent requests (and the faces they hold) dropped.
    const housekeeping = setInterval(() => {
      const now = Date.now();
      for (const lane of lanes.values()) lane.fusion.resolveDue(now);
      checkout.expireConsentRequests();
    }, 1000);
    housekeeping.unref();
    stops.push(() => clearInterval(housekeeping));
    stops.push(scheduleMembershipJobs(core, log, settings.security.auditRetentionDays));
    metrics.onScrape(() => {
      const group = core.store.groupCommitStats();
      metrics.ledgerCommits.reset();
      metrics.ledgerCommits.inc(group.commits);
      metrics.ledgerGroupedWrites.reset();
      metrics.ledgerGroupedWrites.inc(group.writes);
      metrics.paymentLinks.reset();
      for (const lane of lanes.values()) {
        const stats = lane.fusion.stats();
        for (const [outcome, n] of Object.entries(stats.byKind)) if (outcome !== 'no-link') metrics.paymentLinks.set({ lane: lane.id, outcome, reason: '' }, n);
        for (const [reason, n] of Object.entries(stats.noLinkByReason)) metrics.paymentLinks.set({ lane: lane.id, outcome: 'no-link', reason }, n);
      }
    });
    const { port } = httpServer.address() as AddressInfo;
    const url = `http://${settings.server.host === '0.0.0.0' ? '127.0.0.1' : settings.server.host}:${port}`;
    log.info({ url, lanes: [...lanes.keys()], backend: core.analyzer.backend }, 'memberlens is running');
    return { url, port, firstStartTokens, core, metrics, adminApp: app, stop: stopAll };
  } catch (err) {
    await stopAll();
    throw err;
  }
}

function laneView(lane: Lane, connectedTills: number): LaneView {
  const s = lane.cameraStatus;
  return {
    id: lane.id,
    camera: { kind: lane.camera.kind, state: s.state, detail: s.detail, framesIn: s.framesIn, framesDropped: s.framesDropped + lane.slot.dropped + lane.superseded },
    connectedTills,
  };
}

/** On the very first start there is no way in: make one token per role and hand them back once. */
function issueFirstTokens(core: RecognitionCore): IssuedToken[] {
  if (core.store.tokens.activeCount() > 0) return [];
  return core.store.inTransaction(() =>
    (['admin', 'till', 'device', 'pos'] as const).map((role) => core.store.tokens.issue(role, `${role} (first start)`)),
  );
}

function frameSizeOf(camera: Settings['lanes'][number]['camera']): { widthPx: number; heightPx: number } | undefined {
  return 'widthPx' in camera && 'heightPx' in camera && camera.widthPx && camera.heightPx
    ? { widthPx: camera.widthPx, heightPx: camera.heightPx }
    : undefined;
}

/**
 * A newcomer's first start sees recognition happen: the demo members (public test faces)
 * are enrolled when the database has no members yet. Their consent record says so.
 */
async function seedDemoMembers(settings: Settings, core: RecognitionCore, log: Logger): Promise<void> {
  const folder = settings.demo.seedFolder;
  if (!folder || !existsSync(folder) || core.store.members.count() > 0) return;
  for (const file of readdirSync(folder).filter((f) => /\.(jpe?g|png)$/i.test(f)).sort()) {
    const name = path.parse(file).name;
    try {
      await core.enrollment.enrollMember({
        name,
        consent: { method: 'written', staff: 'demo-seed' },
        images: [{ label: file, bytes: readFileSync(path.join(folder, file)) }],
        source: 'cli',
        actor: 'system:demo-seed',
      });
    } catch (err) {
      log.warn({ file, err: (err as Error).message }, 'demo member not enrolled');
    }
  }
  log.info({ members: core.store.members.count(), folder }, 'demo members enrolled (first start)');
}

/** Online backups with rotation, the first right away; returns the function that stops them. */
function scheduleBackups(settings: Settings, core: RecognitionCore, log: Logger): () => Promise<void> {
  const { intervalHours, keep, folder } = settings.backup;
  if (intervalHours === 0) return async () => undefined;
  const dir = path.resolve(settings.dataDir, folder);
  let running: Promise<void> = Promise.resolve();
  const backup = () => {
    running = (async () => {
      try {
        mkdirSync(dir, { recursive: true, mode: 0o700 });
        const file = path.join(dir, backupFileName(Date.now()));
        await core.store.backupTo(file);
        const removed = rotateBackups(dir, keep);
        log.info({ file, removed: removed.length }, 'database backed up');
      } catch (err) {
        log.error({ err, dir }, 'database backup failed; the service goes on, fix the backup folder');
      }
    })();
  };
  backup();
  const timer = setInterval(backup, intervalHours * 3_600_000);
  timer.unref();
  return async () => {
    clearInterval(timer);
    await running;
  };
}

/**
 * Measures how far the main thread runs behind, for load shedding, /metrics and the log; says
 * once when shedding starts and once when it ends, never per refused request.
 */
function watchLoad(settings: Settings, metrics: ServiceMetrics, log: Logger): { loadShedding: LoadShedding; stop: () => void } {
  const loopLag = new EventLoopLag();
  const loadShedding: LoadShedding = {
    lagMs: () => loopLag.lagMs,
    maxLagMs: settings.server.shedLoadAboveLagMs,
    onShed: (what) => metrics.requestsShed.inc({ what }),
  };
  let wasShedding = false;
  loopLag.start((lagMs) => {
    metrics.eventLoopLag.set(lagMs / 1000);
    const shedding = isShedding(loadShedding);
    if (shedding && !wasShedding) {
      log.warn({ lagMs: Math.round(lagMs), limitMs: loadShedding.maxLagMs }, 'main thread behind: refusing frames, uploads and ledger writes with 503 until it catches up');
    } else if (!shedding && wasShedding) {
      log.info({ lagMs: Math.round(lagMs) }, 'main thread caught up: taking every request again');
    }
    wasShedding = shedding;
  });
  return { loadShedding, stop: () => loopLag.stop() };
}

/**
 * Tier downgrades happen at period end, points expire oldest first, and processing-log entries
 * past `auditRetentionDays` are deleted; all are idempotent, so an hourly run catches up after
 * the PC was off without ever doing anything twice.
 */
function scheduleMembershipJobs(core: RecognitionCore, log: Logger, auditRetentionDays: number): () => Promise<void> {
  const stopping = new AbortController();
  // Chained, so a purge of a large backlog (it yields between batches) never overlaps the next.
  let purging = Promise.resolve();
  const purgeAuditLog = async () => {
    try {
      const deleted = await core.store.audit.deleteExpired(auditRetentionDays, { signal: stopping.signal });
      if (deleted > 0) log.info({ auditEntriesDeleted: deleted, auditRetentionDays }, 'processing log entries past retention deleted');
    } catch (err) {
      log.error({ err }, 'processing log purge failed; it runs again in an hour');
    }
  };
  const run = () => {
    try {
      const expired = core.store.membership.expirePoints();
      const changes = core.store.membership.evaluateTierAtPeriodEnd();
      if (expired.pointsExpired > 0 || changes.length > 0) {
        log.info({ pointsExpired: expired.pointsExpired, tierChanges: changes.length }, 'membership period jobs ran');
      }
    } catch (err) {
      log.error({ err }, 'membership period jobs failed; they run again in an hour');
    }
    purging = purging.then(purgeAuditLog);
  };
  run();
  const timer = setInterval(run, 3_600_000);
  timer.unref();
  return async () => {
    clearInterval(timer);
    // The store closes after this; a purge stops at its next batch and the rest waits for the next start.
    stopping.abort();
    await purging;
  };
}

function round3(v: number): number {
  return Math.round(v * 1000) / 1000;
}
