import { performance } from 'node:perf_hooks';
import { UserError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { StageTimingsMs } from '../vision/faceEngine.js';
import type { FaceAnalyzer } from '../vision/faceAnalyzer.js';
import type { Box } from '../vision/visionTypes.js';
import type { LaneTracker } from './tracker.js';
import type { TrackerEvent } from './trackerTypes.js';

/** A frame as the recognizer needs it: the camera's encoded image and when it arrived. */
export interface LaneFrame {
  seq: number;
  atMs: number;
  bytes: Uint8Array;
}

/**
 * What to do with a frame: take it as the unchanged scene of the last analyzed frame, or analyze
 * it — only within `searchRegion` (frame pixels) when one is given.
 */
export type FrameVerdict = { kind: 'unchanged' } | { kind: 'analyze'; searchRegion?: Box };

/** A cheap look at each frame before it costs an inference worker (the lane's scene gate). */
export interface FrameScreen {
  judge(frame: LaneFrame): Promise<FrameVerdict>;
  /** The frame just analyzed: what the next frames are compared with. */
  analyzed(frame: LaneFrame): Promise<void>;
}

export interface LaneRecognizerDeps {
  lane: string;
  analyzer: FaceAnalyzer;
  tracker: Pick<LaneTracker, 'skipDescriptorBoxes' | 'update' | 'expire' | 'hold'>;
  /** Without one, every frame is analyzed. */
  screen?: FrameScreen;
  /** Faces the tracker knows are followed by their box alone (AnalyzeOptions.followKnownByBox). */
  followKnownByBox?: boolean;
  /** Waits for a frame (undefined once the lane is shutting down). */
  nextFrame: () => Promise<LaneFrame | undefined>;
  /** A frame that arrived since, if any: it replaces the one in hand. */
  newerFrame: () => LaneFrame | undefined;
  /** Inference capacity shared by all lanes; a lane picks its frame only once it holds a permit. */
  acquireInference: () => Promise<() => void>;
  /** A frame in hand that a newer one replaced before it was analyzed. */
  onFrameSuperseded?: (lane: string) => void;
  onEvents: (lane: string, events: TrackerEvent[], frame: LaneFrame | undefined) => void;
  onFrameAnalyzed?: (lane: string, timingsMs: StageTimingsMs, totalMs: number, faces: number) => void;
  onFrameFailed?: (lane: string, reason: string) => void;
  /** A frame the screen found unchanged: its tracks were held, no worker was used. */
  onFrameUnchanged?: (lane: string) => void;
  /** After every tracker update, events or not: the fusion stage samples the tracks here. */
  onTracked?: (lane: string, atMs: number) => void;
  /** How often tracks are expired when frames stop coming (a camera that went dark). */
  expireEveryMs: number;
  clock?: () => number;
  log: Logger;
}

/**
 * One lane's loop: take the newest frame, pass over it when the screen finds the scene unchanged,
 * else find faces (describing only those the tracker does not already know), update the
 * tracker, hand its events on. One frame in flight per lane;
 * frames that arrive meanwhile replace each other upstream, so latency never builds up.
 */
export class LaneRecognizer {
  private running = false;
  private loop: Promise<void> | undefined;
  private expireTimer: NodeJS.Timeout | undefined;
  private readonly clock: () => number;

  constructor(private readonly deps: LaneRecognizerDeps) {
    this.clock = deps.clock ?? Date.now;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run();
    this.expireTimer = setInterval(() => this.expire(), this.deps.expireEveryMs);
    this.expireTimer.unref();
  }

  /** Stops after the frame in flight; the caller closes the frame source so nextFrame resolves. */
  async stop(): Promise<void> {
    this.running = false;
    if (this.expireTimer) clearInterval(this.expireTimer);
    await this.loop;
    this.emit(this.deps.tracker.expire(Infinity), undefined);
  }

  private async run(): Promise<void> {
    const { deps } = this;
    while (this.running) {
      let frame = await deps.nextFrame();
      if (!frame || !this.running) break;
      let verdict = deps.screen ? await this.screened(frame, deps.screen) : undefined;
      if (verdict?.kind === 'unchanged') continue;
      const release = await deps.acquireInference();
      try {
        if (!this.running) break;
        // Waiting for a worker may have taken a while: analyze the freshest frame, not a stale one.
        const newer = deps.newerFrame();
        if (newer) {
          deps.onFrameSuperseded?.(deps.lane);
          frame = newer;
          // A verdict (and its search region) holds for the frame it was judged on: the newer
          // one is judged in its turn, which on a busy lane is most frames.
          verdict = deps.screen ? await this.screened(frame, deps.screen) : undefined;
          if (verdict?.kind === 'unchanged') continue;
        }
        await this.process(frame, verdict?.searchRegion);
        await deps.screen?.analyzed(frame);
      } catch (err) {
        // A bad frame (garbage from a camera, a decode failure) costs that frame only.
        const reason = err instanceof UserError ? err.code : 'internal';
        if (!(err instanceof UserError)) deps.log.error({ err, lane: deps.lane }, 'frame analysis failed');
        deps.onFrameFailed?.(deps.lane, reason);
      } finally {
        release();
      }
    }
  }

  private async process(frame: LaneFrame, searchRegion: Box | undefined): Promise<void> {
    const { deps } = this;
    const started = performance.now();
    const analysis = await deps.analyzer.analyzeBytes(frame.bytes, 'live', {
      describe: 'passing',
      skipDescriptorBoxes: deps.tracker.skipDescriptorBoxes(frame.atMs),
      ...(searchRegion ? { searchRegion } : {}),
      ...(deps.followKnownByBox ? { followKnownByBox: true } : {}),
    });
    const faces = analysis.followed ? [...analysis.faces, ...analysis.followed] : analysis.faces;
    deps.onFrameAnalyzed?.(deps.lane, analysis.timingsMs, performance.now() - started, faces.length);
    const events = deps.tracker.update(faces, frame.atMs);
    deps.onTracked?.(deps.lane, frame.atMs);
    this.emit(events, frame);
  }

  /** The screen's verdict; an unchanged frame's tracks are held here, instead of analyzed. */
  private async screened(frame: LaneFrame, screen: FrameScreen): Promise<FrameVerdict> {
    const { deps } = this;
    try {
      const verdict = await screen.judge(frame);
      if (verdict.kind === 'unchanged') {
        deps.onFrameUnchanged?.(deps.lane);
        const events = deps.tracker.hold(frame.atMs);
        deps.onTracked?.(deps.lane, frame.atMs);
        this.emit(events, frame);
      }
      return verdict;
    } catch (err) {
      // The frame is analyzed instead, all of it: the screen only ever saves work.
      deps.log.error({ err, lane: deps.lane }, 'screening a frame failed; analyzing it');
      return { kind: 'analyze' };
    }
  }

  private expire(): void {
    // Runs from a timer, where a throw would end the whole process; a frame's error costs that frame only, this one a tick.
    try {
      this.emit(this.deps.tracker.expire(this.clock()), undefined);
    } catch (err) {
      this.deps.log.error({ err, lane: this.deps.lane }, 'expiring tracks failed; trying again on the next tick');
    }
  }

  private emit(events: TrackerEvent[], frame: LaneFrame | undefined): void {
    if (events.length > 0) this.deps.onEvents(this.deps.lane, events, frame);
  }
}
