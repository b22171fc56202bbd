import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** Inference stages run a few ms (decode) to about a second (SSD on a busy 2-core PC). */
const STAGE_BUCKETS_S = [0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.35, 0.5, 0.75, 1, 2, 5];

/**
 * The service's Prometheus metrics, in one registry served at /metrics. Labels are lanes and
 * stages only — never member ids, which would leak who shopped when.
 */
export class ServiceMetrics {
  readonly registry = new Registry();
  readonly framesIn = new Counter({ name: 'memberlens_frames_in_total', help: 'Camera frames received', labelNames: ['lane'], registers: [this.registry] });
  readonly framesDropped = new Counter({
    name: 'memberlens_frames_dropped_total',
    help: 'Frames replaced by a newer one before inference took them (latest-frame-wins), or dropped by the camera source',
    labelNames: ['lane'],
    registers: [this.registry],
  });
  readonly framesUnchanged = new Counter({
    name: 'memberlens_frames_unchanged_total',
    help: 'Frames the scene gate found unchanged since the last analyzed frame: not analyzed, the faces on it held (sceneGate)',
    labelNames: ['lane'],
    registers: [this.registry],
  });
  readonly framesFailed = new Counter({ name: 'memberlens_frames_failed_total', help: 'Frames that could not be analyzed', labelNames: ['lane', 'reason'], registers: [this.registry] });
  readonly stageSeconds = new Histogram({
    name: 'memberlens_inference_stage_seconds',
    help: 'Time per inference stage for one frame',
    labelNames: ['stage'],
    buckets: STAGE_BUCKETS_S,
    registers: [this.registry],
  });
  readonly recognitions = new Counter({ name: 'memberlens_recognitions_total', help: 'Members recognized (popups sent)', labelNames: ['lane'], registers: [this.registry] });
  readonly unknowns = new Counter({ name: 'memberlens_unknown_faces_total', help: 'Stable unknown faces', labelNames: ['lane'], registers: [this.registry] });
  readonly connectedTills = new Gauge({ name: 'memberlens_connected_tills', help: 'Till screens connected', registers: [this.registry] });
  readonly paymentLinks = new Gauge({
    name: 'memberlens_payment_face_links',
    help: 'Payments by how the face at the scanner was attributed to the payer (outcome: link-face, confirmed, conflict, no-link; reason for no-link, e.g. ambiguous)',
    labelNames: ['lane', 'outcome', 'reason'],
    registers: [this.registry],
  });

  readonly requestsShed = new Counter({
    name: 'memberlens_requests_shed_total',
    help: 'Requests refused with 503 because the main thread was behind (server.shedLoadAboveLagMs)',
    labelNames: ['what'],
    registers: [this.registry],
  });
  readonly eventLoopLag = new Gauge({
    name: 'memberlens_event_loop_lag_seconds',
    help: 'Median lag of the main thread over the last 0.5 s, as load shedding sees it',
    registers: [this.registry],
  });
  readonly inferenceWasmHeap = new Gauge({
    name: 'memberlens_inference_wasm_heap_bytes',
    help: 'WebAssembly memory of the inference workers together (WASM backend): it grows to the largest call a worker ran and is given back only when the worker is replaced (inference.workerWasmHeapMaxBytes)',
    registers: [this.registry],
  });
  readonly ledgerCommits = new Counter({
    name: 'memberlens_ledger_group_commits_total',
    help: 'Transactions committed for payments, refunds, recharges and deductions (one fsync each)',
    registers: [this.registry],
  });
  readonly ledgerGroupedWrites = new Counter({
    name: 'memberlens_ledger_grouped_writes_total',
    help: 'Payments, refunds, recharges and deductions in those transactions; divided by the commits, the average group size',
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'memberlens_' });
  }

  private readonly beforeScrape: (() => void)[] = [];

  /** Figures kept elsewhere (e.g. by each lane's fusion) are copied in just before each scrape. */
  onScrape(update: () => void): void {
    this.beforeScrape.push(update);
  }

  async render(): Promise<{ contentType: string; body: string }> {
    for (const update of this.beforeScrape) update();
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}
