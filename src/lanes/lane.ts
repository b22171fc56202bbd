import type { LaneSettings, Settings } from '../config/settingsSchema.js';
import type { Logger } from '../core/logger.js';
import type { ServiceMetrics } from '../core/serviceMetrics.js';
import type { Stage } from '../core/stage.js';
import type { FusionStats } from '../fusion/fusionTypes.js';
import { LaneFusion } from '../fusion/laneFusion.js';
import { LaneRecognizer } from '../matching/laneRecognizer.js';
import type { MatchDecision } from '../matching/matcher.js';
import { LaneTracker } from '../matching/tracker.js';
import type { TrackerEvent } from '../matching/trackerTypes.js';
import type { TillEventBody, TillMessage, TillNotifier } from '../push/tillNotifier.js';
import type { CameraStatusReport, Frame } from '../sources/cameraSource.js';
import { createCameraSource, type AnyCameraSource } from '../sources/createCameraSource.js';
import { LatestFrameSlot } from '../sources/latestFrameSlot.js';
import { SceneGate } from './sceneGate.js';
import { createScannerSource, type AnyScannerSource } from '../sources/scannerSourceFactory.js';
import type { Scan, ScannerStatusReport } from '../sources/scannerSource.js';
import type { FaceAnalyzer } from '../vision/faceAnalyzer.js';
import { qualityReasons } from '../vision/faceQuality.js';

/** What a scan came to, as its till was told. */
export type ScanAnswer = TillEventBody<'scan:classified'>;

/** A lane as the admin page shows it; counts are read live from the sources. */
export interface LaneStatus {
  id: string;
  camera: { kind: string; state: string; detail?: string; framesIn: number; framesDropped: number };
  scanner: { kind: string; state: string; detail?: string; scansIn: number; scansDropped: number };
}

export interface LaneDeps {
  lane: LaneSettings;
  settings: Pick<Settings, 'tracker' | 'checkout' | 'sceneGate'> & { vision: Pick<Settings['vision'], 'enrollGate' | 'maxImagePixels'> };
  analyzer: FaceAnalyzer;
  /** Gallery search plus match policy, for a face this many pixels wide. */
  decide: (descriptor: Float32Array, facePx: number) => MatchDecision;
  /** Inference capacity shared by all lanes. */
  acquireInference: () => Promise<() => void>;
  /** Recognitions, unknown faces and departures: the recognition reporter turns them into till events. */
  onTrackerEvents: (lane: string, events: TrackerEvent[]) => void;
  /** Classifies the scan and tells the till; resolves with what the till was told. */
  onScan: (scan: Scan) => Promise<ScanAnswer>;
  till: TillNotifier;
  metrics: ServiceMetrics;
  log: Logger;
}

/**
 * One checkout lane: its camera feeds a latest-frame slot, the recognizer takes frames from it
 * into the tracker, the fusion samples the tracks for the scanner's payments. The lane owns
 * those parts, their status and their metrics; it is built whole, and nothing runs until start().
 */
export class Lane implements Stage {
  readonly id: string;
  readonly name: string;
  readonly camera: AnyCameraSource;
  readonly scanner: AnyScannerSource;
  readonly tracker: LaneTracker;
  readonly fusion: LaneFusion;
  private readonly slot = new LatestFrameSlot();
  private readonly recognizer: LaneRecognizer;
  /** Frames replaced while the lane waited for an inference worker. */
  private superseded = 0;
  private newestFrame: Uint8Array | undefined;
  /** The handling of each scan the scanner delivered, for the HTTP route that posted it to wait on. */
  private readonly scanAnswers = new WeakMap<Scan, Promise<ScanAnswer>>();

  constructor(private readonly deps: LaneDeps) {
    const { lane, settings, metrics, log } = deps;
    this.id = lane.id;
    this.name = `lane ${lane.id}`;
    this.camera = createCameraSource(lane.id, lane.camera, { onFrame: (frame) => this.onFrame(frame), onStatus: (report) => this.onCameraStatus(report) }, log);
    this.scanner = createScannerSource(lane.id, lane.scanner, { onScan: (scan) => this.onScan(scan), onStatus: (report) => this.onScannerStatus(report) }, log);
    this.tracker = new LaneTracker({
      lane: lane.id,
      options: settings.tracker,
      decide: deps.decide,
      isEnrollable: (face) => face.quality !== undefined && qualityReasons(face.quality, settings.vision.enrollGate).length === 0,
    });
    this.fusion = new LaneFusion({
      options: {
        scanWindowMs: settings.checkout.scanWindowMs,
        paymentWindowMs: settings.checkout.paymentWindowMs,
        dominantAreaRatioMin: settings.checkout.dominantAreaRatioMin,
        minFramesSeen: settings.checkout.minFramesSeen,
        cashierZone: settings.checkout.cashierZone,
      },
      tracksAt: (nowMs, windowMs) => this.tracker.presentTracksWithFrames(nowMs, windowMs),
      frameSize: frameSizeOf(lane.camera),
    });
    this.recognizer = new LaneRecognizer({
      lane: lane.id,
      analyzer: deps.analyzer,
      tracker: this.tracker,
      screen: new SceneGate({
        options: settings.sceneGate,
        maxImagePixels: settings.vision.maxImagePixels,
        recheckEveryMs: settings.tracker.recheckEveryMs,
        sceneState: (nowMs) => this.tracker.sceneState(nowMs),
      }),
      followKnownByBox: settings.sceneGate.enabled && settings.sceneGate.followKnownFacesByBox,
      nextFrame: () => this.slot.next(),
      newerFrame: () => this.slot.take(),
      acquireInference: deps.acquireInference,
      onFrameSuperseded: () => {
        this.superseded += 1;
        metrics.framesDropped.inc({ lane: this.id });
      },
      onEvents: (laneId, events) => deps.onTrackerEvents(laneId, events),
      onFrameAnalyzed: (_lane, t) => {
        metrics.stageSeconds.observe({ stage: 'decode' }, t.decode / 1000);
        metrics.stageSeconds.observe({ stage: 'detect' }, t.detect / 1000);
        metrics.stageSeconds.observe({ stage: 'landmarks' }, t.landmarks / 1000);
        metrics.stageSeconds.observe({ stage: 'descriptor' }, t.descriptor / 1000);
      },
      onFrameFailed: (laneId, reason) => metrics.framesFailed.inc({ lane: laneId, reason }),
      onFrameUnchanged: (laneId) => metrics.framesUnchanged.inc({ lane: laneId }),
      onTracked: (_lane, atMs) => this.fusion.observe(atMs),
      expireEveryMs: Math.max(100, settings.tracker.trackTimeoutMs / 2),
      log,
    });
  }

  async start(): Promise<void> {
    this.recognizer.start();
    await this.camera.start();
    await this.scanner.start();
  }

  async stop(): Promise<void> {
    await this.scanner.stop();
    await this.camera.stop();
    this.slot.close();
    await this.recognizer.stop();
  }

  /** Live counts: frames in and every frame not analyzed (by the source, the slot or a newer frame). */
  status(): LaneStatus {
    const camera = this.camera.status();
    const scanner = this.scanner.status();
    return {
      id: this.id,
      camera: {
        kind: this.camera.kind,
        state: camera.state,
        ...(camera.detail === undefined ? {} : { detail: camera.detail }),
        framesIn: camera.framesIn,
        framesDropped: this.framesDropped(camera),
      },
      scanner: {
        kind: scanner.kind,
        state: scanner.state,
        ...(scanner.detail === undefined ? {} : { detail: scanner.detail }),
        scansIn: scanner.scansIn,
        scansDropped: scanner.scansDropped,
      },
    };
  }

  /**
   * What a till that joins now must be told at once: the camera's and the scanner's state, and
   * each member standing at the counter, whose popup it would otherwise never see.
   */
  tillState(recognized: (memberId: string, confidence: number) => TillMessage<'member:recognized'> | undefined, nowMs: number): TillMessage[] {
    const messages: TillMessage[] = [
      { event: 'camera:status', body: this.cameraStatusBody(this.camera.status()) },
      { event: 'scanner:status', body: scannerStatusBody(this.scanner.status()) },
    ];
    for (const { memberId, confidence } of this.tracker.presentMembers(nowMs, this.deps.settings.tracker.trackTimeoutMs)) {
      const message = recognized(memberId, confidence);
      if (message) messages.push(message);
    }
    return messages;
  }

  /**
   * A code posted to POST /api/lanes/:lane/scans. A lane whose scanner is `http` counts it and
   * applies its limits like any scanner input; a lane with a hardware scanner still takes posted
   * codes (the POS may forward one), straight to the checkout.
   */
  postScan(code: string): Promise<ScanAnswer> {
    if (this.scanner.kind !== 'http') return this.deps.onScan({ lane: this.id, code, atMs: Date.now() });
    const scan = this.scanner.push(code);
    const answer = this.scanAnswers.get(scan);
    if (!answer) throw new Error(`lane ${this.id}: the scan was not handed to the checkout`);
    return answer;
  }

  /** Hands a frame pushed over HTTP to the lane; false when its camera reads frames itself. */
  pushFrame(bytes: Uint8Array): boolean {
    if (this.camera.kind !== 'http-push') return false;
    this.camera.push(bytes);
    return true;
  }

  /** The newest frame the camera delivered, for enrolling a face from the live camera. */
  latestFrame(): Uint8Array | undefined {
    return this.newestFrame;
  }

  /** Settles scans whose face window closed; call from a timer. */
  resolveDueScans(nowMs: number): void {
    this.fusion.resolveDue(nowMs);
  }

  fusionStats(): FusionStats {
    return this.fusion.stats();
  }

  private onFrame(frame: Frame): void {
    const { metrics } = this.deps;
    metrics.framesIn.inc({ lane: this.id });
    const before = this.slot.dropped;
    if (frame.sceneStart) this.tracker.forgetVisits();
    this.slot.offer(frame);
    if (this.slot.dropped > before) metrics.framesDropped.inc({ lane: this.id });
    this.newestFrame = frame.bytes;
  }

  private onScan(scan: Scan): void {
    const answer = this.deps.onScan(scan);
    this.scanAnswers.set(scan, answer);
    // A scanner's own scans have nobody waiting on them; a failure is logged, never the code.
    answer.catch((err: unknown) => this.deps.log.error({ err: err instanceof Error ? { type: err.name } : typeof err }, 'scan handling failed'));
  }

  private onCameraStatus(report: CameraStatusReport): void {
    this.deps.log.info({ state: report.state, detail: report.detail }, 'camera status');
    this.deps.till.toLane(this.id, 'camera:status', this.cameraStatusBody(report));
  }

  private onScannerStatus(report: ScannerStatusReport): void {
    this.deps.log.info({ scanner: report.kind, state: report.state, detail: report.detail }, 'scanner status');
    this.deps.till.toLane(this.id, 'scanner:status', scannerStatusBody(report));
  }

  /** What the till shows of the camera: its state, and frames dropped anywhere on the way to inference. */
  private cameraStatusBody(report: CameraStatusReport): TillEventBody<'camera:status'> {
    return { state: report.state, detail: report.detail, framesIn: report.framesIn, framesDropped: this.framesDropped(report) };
  }

  private framesDropped(camera: CameraStatusReport): number {
    return camera.framesDropped + this.slot.dropped + this.superseded;
  }
}

function scannerStatusBody(report: ScannerStatusReport): TillEventBody<'scanner:status'> {
  return { state: report.state, detail: report.detail };
}

function frameSizeOf(camera: LaneSettings['camera']): { widthPx: number; heightPx: number } | undefined {
  return 'widthPx' in camera && 'heightPx' in camera && camera.widthPx && camera.heightPx
    ? { widthPx: camera.widthPx, heightPx: camera.heightPx }
    : undefined;
}
