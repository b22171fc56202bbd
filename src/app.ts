import { availableParallelism } from 'node:os';
import { createServer } from 'node:http';
import { fileURLToPath } from 'node:url';
import { checkoutRoutes } from './admin/checkoutRoutes.js';
import { createAdminApp } from './admin/adminApp.js';
import { isShedding } from './admin/loadShedding.js';
import { provisionChainPayerKey } from './chain/chainKeys.js';
import { chainSyncOf } from './chain/chainSync.js';
import type { Settings } from './config/settingsSchema.js';
import { FifoSemaphore } from './core/fifoSemaphore.js';
import { childLogger, type Logger } from './core/logger.js';
import { ServiceMetrics } from './core/serviceMetrics.js';
import { StageList, type Stage } from './core/stage.js';
import { Checkout } from './fusion/checkout.js';
import { LocalFakePaymentProvider, NoPaymentProvider } from './fusion/paymentProvider.js';
import { Lane } from './lanes/lane.js';
import { laneDirectory } from './lanes/laneDirectory.js';
import type { IssuedToken } from './ledger/index.js';
import { decideMatch } from './matching/matcher.js';
import { providerFromSettings } from './messaging/providerWebhook.js';
import { TillGateway } from './push/tillGateway.js';
import type { TillMessage } from './push/tillNotifier.js';
import { memberServiceOf, openRecognitionCore, type RecognitionCore } from './recognitionCore.js';
import { FaceCoverageService } from './services/faceCoverage.js';
import { MembershipService } from './services/membershipService.js';
import { MessageService } from './services/messageService.js';
import { operatingPointView } from './services/recognitionHealth.js';
import { RecognitionReporter } from './services/recognitionReporter.js';
import { AnalyticsService } from './services/analyticsService.js';
import { SegmentService } from './services/segmentService.js';
import { CampaignService } from './services/campaignService.js';
import { CouponService } from './services/couponService.js';
import { AuditPurgeStage } from './stages/auditPurgeStage.js';
import { BackupStage } from './stages/backupStage.js';
import { ChainSyncStage } from './stages/chainSyncStage.js';
import { CouponExpiryStage } from './stages/couponExpiryStage.js';
import { DemoSeedStage } from './stages/demoSeedStage.js';
import { HousekeepingStage } from './stages/housekeepingStage.js';
import { HttpServerStage } from './stages/httpServerStage.js';
import { LoadWatchStage } from './stages/loadWatchStage.js';
import { MemberChangesStage } from './stages/memberChangesStage.js';
import { MembershipJobsStage } from './stages/membershipJobsStage.js';
import { OutboundMessagesStage } from './stages/outboundMessagesStage.js';
import { SegmentsStage } from './stages/segmentsStage.js';
import { InferencePool } from './vision/inferencePool.js';

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
 * Builds the service in flow order — store, gallery and inference workers; the services that
 * own members and the ledger; the till gateway; the lanes (camera → slot → recognizer →
 * tracker → fusion); the admin API — then starts the stages in that order and stops them in
 * reverse. The only module that knows every stage.
 */
export async function startApp(settings: Settings, root: Logger): Promise<RunningApp> {
  const log = childLogger(root, 'app');
  const metrics = new ServiceMetrics();
  const inferenceWorkers = settings.inference.workers || availableParallelism();
  await provisionChainPayerKey(settings);
  let pool: InferencePool | undefined;
  const core = await openRecognitionCore(settings, root, async () =>
    (pool = await InferencePool.create({
      size: inferenceWorkers,
      vision: settings.vision,
      log: childLogger(root, 'inference'),
      maxQueueLength: settings.inference.maxQueueLength,
      workerNice: settings.inference.workerNice,
      workerWasmHeapMaxBytes: settings.inference.workerWasmHeapMaxBytes,
      workerYoungGenerationMaxMb: settings.inference.workerYoungGenerationMaxMb,
    })),
  );
  metrics.onScrape(() => metrics.inferenceWasmHeap.set(pool?.stats().wasmHeapBytes ?? 0));
  let built: { stages: StageList; http: HttpServerStage; firstStartTokens: IssuedToken[]; adminApp: RunningApp['adminApp']; lanes: string[] };
  try {
    built = buildStages(settings, core, metrics, inferenceWorkers, root, log);
  } catch (err) {
    await core.close();
    throw err;
  }
  // A stage that fails to start stops those started before it, the recognition core included.
  await built.stages.start();
  const { url, port } = built.http.url();
  log.info({ url, lanes: built.lanes, backend: core.analyzer.backend }, 'memberlens is running');
  return { url, port, firstStartTokens: built.firstStartTokens, core, metrics, adminApp: built.adminApp, stop: () => built.stages.stop() };
}

/** Every part of the service, wired and in flow order; nothing runs yet. */
function buildStages(settings: Settings, core: RecognitionCore, metrics: ServiceMetrics, inferenceWorkers: number, root: Logger, log: Logger) {
  const { store, gallery } = core;
  const firstStartTokens = issueFirstTokens(core);
  const lanes = new Map<string, Lane>();
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
      const t = store.tokens.verify(token);
      return t && (t.role === 'till' || t.role === 'admin') ? { role: t.role, tokenId: t.id } : undefined;
    },
    lanes: () => settings.lanes.map((l) => l.id),
    recoveryWindowMs: settings.till.recoveryWindowMs,
    ackTimeoutMs: settings.till.ackTimeoutMs,
    log: childLogger(root, 'till'),
    onConnectionsChanged: (n) => metrics.connectedTills.set(n),
    currentState: (lane): TillMessage[] =>
      lanes.get(lane)?.tillState((memberId, confidence) => reporter.recognized(memberId, confidence, () => campaigns.visitPrompts(memberId)), Date.now()) ?? [],
  });

  const members = memberServiceOf(core, settings, childLogger(root, 'members'), {
    till: gateway,
    forgetOnLanes: (memberId) => {
      for (const lane of lanes.values()) lane.tracker.forgetMember(memberId);
    },
  });
  const segments = new SegmentService({ store, settings: settings.segments, log: childLogger(root, 'segments') });
  const campaigns = new CampaignService({ store, segments, settings: settings.campaigns, inChain: settings.chain.hqUrl !== '', rechargeBonusRules: settings.membership.rechargeBonusRules, log: childLogger(root, 'campaigns') });
  const chain = chainSyncOf(settings.chain, { store, members, segments, campaigns, log: childLogger(root, 'chain') });
  const membership = new MembershipService({ store, members, till: gateway, segments, spending: chain });
  const coupons = new CouponService({ store, segments, settings: settings.campaigns });
  const reporter = new RecognitionReporter({ store, members, metrics, till: gateway, campaigns });
  const messages = new MessageService({ store, segments, provider: providerFromSettings(settings.messaging), settings: settings.messaging, log: childLogger(root, 'messages') });
  const checkout = new Checkout({
    store,
    members,
    membership,
    campaigns,
    provider: settings.checkout.paymentProvider === 'local-fake' ? new LocalFakePaymentProvider() : new NoPaymentProvider(),
    lanes: (id) => lanes.get(id),
    till: gateway,
    options: {
      consentPolicy: settings.checkout.consentPolicy,
      consentRequestTtlMs: settings.checkout.consentRequestTtlMs,
      memberQrSecret: core.memberQrSecret,
      minFramesSeen: settings.checkout.minFramesSeen,
      holdWindowMs: settings.checkout.paymentWindowMs,
    },
    log: childLogger(root, 'checkout'),
  });

  const inference = new FifoSemaphore(inferenceWorkers);
  for (const laneSettings of settings.lanes) {
    const laneLog = childLogger(root, `lane:${laneSettings.id}`);
    lanes.set(
      laneSettings.id,
      new Lane({
        lane: laneSettings,
        settings,
        analyzer: core.analyzer,
        decide: (descriptor, facePx) => decideMatch(gallery.search(descriptor), core.matchPolicy, facePx),
        acquireInference: () => inference.acquire(),
        onTrackerEvents: (lane, events) => reporter.report(lane, events),
        onScan: (scan) => checkout.scan(scan.lane, scan.code, scan.atMs),
        till: gateway,
        metrics,
        log: laneLog,
      }),
    );
  }

  const directory = laneDirectory(lanes, () => gateway.stats().byLane);
  const loadWatch = new LoadWatchStage({ shedLoadAboveLagMs: settings.server.shedLoadAboveLagMs, metrics, log });
  const { loadShedding } = loadWatch;
  const startedAt = Date.now();
  const adminApp = createAdminApp({
    log: childLogger(root, 'http'),
    checkoutRoutes: checkoutRoutes({
      checkout,
      membership,
      verifyToken: (token) => store.tokens.verify(token),
      hasLane: (id) => lanes.has(id),
      postScan: directory.postScan,
      memberQrTtlMs: settings.checkout.memberQrTtlMs,
      jsonBodyBytes: settings.server.jsonBodyLimitBytes,
      loadShedding,
    }),
    verifyToken: (token) => store.tokens.verify(token),
    store,
    members,
    faceCoverage: new FaceCoverageService({ faces: store.faces, facesTooAlikeDistance: settings.matching.facesTooAlikeDistance }),
    recognition: () =>
      operatingPointView({
        operatingPoint: core.operatingPoint,
        membersWithFaces: gallery.memberCount,
        calibration: core.calibrationSource,
        matching: settings.matching,
        fusion: [...lanes.values()].map((lane) => lane.fusionStats()),
        sinceMs: startedAt,
      }),
    segments,
    analytics: { service: new AnalyticsService({ store, segments, tierNames: settings.membership.tiers.map((t) => t.name) }), maxPeriodDays: settings.analytics.maxPeriodDays },
    messages,
    coupons,
    campaigns,
    lanes: directory,
    health: () => ({
      uptimeS: Math.round((Date.now() - startedAt) / 1000),
      backend: core.analyzer.backend,
      lanes: [...lanes.keys()],
      eventLoopLagMs: Math.round(loadShedding.lagMs()),
      shedding: isShedding(loadShedding),
    }),
    metrics: () => metrics.render(),
    webDir: WEB_DIR,
    limits: { jsonBodyBytes: settings.server.jsonBodyLimitBytes, imageBodyBytes: settings.vision.maxImageBytes },
    security: settings.security,
    loadShedding,
  });
  httpServer.on('request', adminApp);
  metrics.onScrape(() => copyLedgerAndFusionFigures(metrics, core, lanes.values()));

  const http = new HttpServerStage({ server: httpServer, host: settings.server.host, port: settings.server.port });
  const stages = new StageList(
    [
      { name: 'recognition core', start: () => undefined, stop: () => core.close() },
      new DemoSeedStage({ folder: settings.demo.seedFolder, store, members, log }),
      ...(settings.backup.intervalHours > 0 ? [new BackupStage({ store, backup: settings.backup, dataDir: settings.dataDir, log })] : []),
      new MembershipJobsStage({ membership, log }),
      new SegmentsStage({ segments, everyHours: settings.segments.recomputeEveryHours, log }),
      new OutboundMessagesStage({ messages, everyMs: settings.messaging.deliverEveryMs, log }),
      new CouponExpiryStage({ coupons, everyMinutes: settings.campaigns.expireEveryMinutes, log }),
      new AuditPurgeStage({ store, auditRetentionDays: settings.security.auditRetentionDays, log }),
      new MemberChangesStage({ store, members, everyMs: settings.storage.followChangesEveryMs, log }),
      ...(chain ? [new ChainSyncStage({ sync: chain, everyMs: settings.chain.syncEveryMs, log })] : []),
      loadWatch,
      // Stopped in reverse: lanes first (no new events), then the gateway, which closes the server.
      http,
      gateway,
      ...lanes.values(),
      new HousekeepingStage({ lanes: () => lanes.values(), checkout, campaigns, log }),
    ] satisfies Stage[],
    log,
  );
  return { stages, http, firstStartTokens, adminApp, lanes: [...lanes.keys()] };
}

/** On the very first start there is no way in: make one token per role and hand them back once. */
function issueFirstTokens(core: RecognitionCore): IssuedToken[] {
  if (core.store.tokens.activeCount() > 0) return [];
  return core.store.inTransaction(() =>
    (['admin', 'till', 'device', 'pos'] as const).map((role) => core.store.tokens.issue(role, `${role} (first start)`)),
  );
}

/** Figures kept by the ledger's group commit and each lane's fusion, copied in just before a scrape. */
function copyLedgerAndFusionFigures(metrics: ServiceMetrics, core: RecognitionCore, lanes: Iterable<Lane>): void {
  const group = core.store.groupCommitStats();
  metrics.ledgerCommits.reset();
  metrics.ledgerCommits.inc(group.commits);
  metrics.ledgerGroupedWrites.reset();
  metrics.ledgerGroupedWrites.inc(group.writes);
  metrics.paymentLinks.reset();
  for (const lane of lanes) {
    const stats = lane.fusionStats();
    for (const [outcome, n] of Object.entries(stats.byKind)) if (outcome !== 'no-link') metrics.paymentLinks.set({ lane: lane.id, outcome, reason: '' }, n);
    for (const [reason, n] of Object.entries(stats.noLinkByReason)) metrics.paymentLinks.set({ lane: lane.id, outcome: 'no-link', reason }, n);
  }
}
