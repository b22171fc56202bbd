import type { Settings } from '../config/settingsSchema.js';
import type { FrameScreen, FrameVerdict, LaneFrame } from '../matching/laneRecognizer.js';
import type { SceneState } from '../matching/trackerTypes.js';
import { sceneChange, sceneThumbnail, type SceneThumbnail } from '../vision/sceneThumbnail.js';
import type { Box } from '../vision/visionTypes.js';

export type SceneGateOptions = Settings['sceneGate'];

export interface SceneGateDeps {
  options: SceneGateOptions;
  /** vision.maxImagePixels: a frame claiming more is left to the face engine to refuse. */
  maxImagePixels: number;
  /** tracker.recheckEveryMs: a still scene with faces in it is analyzed this often, which re-checks who they are. */
  recheckEveryMs: number;
  /** The lane tracker's view of who stands there now. */
  sceneState: (nowMs: number) => SceneState;
}

/** What the verdict is made from; pure, so it is tested without pictures. */
export interface GateInput {
  /** Share of the thumbnail changed since the last analyzed frame; undefined when it cannot be told (no reference, unreadable frame). */
  changedShare: number | undefined;
  /** Where it changed, in frame pixels; undefined when nothing did. */
  changedRegion: Box | undefined;
  frameWidthPx: number;
  frameHeightPx: number;
  nowMs: number;
  lastAnalyzedMs: number;
  scene: SceneState;
}

/**
 * Whether a frame goes to the face networks. A changed scene always does, and so does a new
 * face for its first newFaceFullRateFrames frames (its votes, a consented capture and the payer
 * attribution need them, and a customer who stops still is named as fast as one who walks), and
 * a still scene with a face the tracker lost (it timed out while analysis lagged, or the
 * detector missed it): the scene may still show it. Otherwise a still scene is analyzed only now and then: with faces in it every recheckEveryMs (which
 * re-checks who they are), empty every emptySceneRecheckMs.
 */
export function gateVerdict(input: GateInput, options: SceneGateOptions, recheckEveryMs: number): FrameVerdict {
  const { changedShare, nowMs, lastAnalyzedMs, scene } = input;
  if (!options.enabled || changedShare === undefined || wholeFrameWhateverChanged(scene, options)) return { kind: 'analyze' };
  if (changedShare >= options.changedShareMin) return analyzeNearFollowed(input, options);
  if (scene.newestTrackFramesAnalyzed !== undefined && scene.newestTrackFramesAnalyzed < options.newFaceFullRateFrames) return analyzeNearFollowed(input, options);
  const recheckAfterMs = scene.heldTracks > 0 ? recheckEveryMs : options.emptySceneRecheckMs;
  return nowMs - lastAnalyzedMs >= recheckAfterMs ? analyzeNearFollowed(input, options) : { kind: 'unchanged' };
}

/**
 * Whether the scene alone already sends the frame whole to the networks, whatever its picture
 * shows: a face the tracker lost, or a new face still in its full-rate frames with no search
 * region to offer (not every face is named yet). Such a frame is not looked at first (its
 * thumbnail is made only when a later verdict needs it as the reference), so a walk-up's second
 * frame reaches the networks as soon as it would without the gate.
 */
export function wholeFrameWhateverChanged(scene: SceneState, options: SceneGateOptions): boolean {
  if (scene.lostFaces > 0) return true;
  const newFace = scene.newestTrackFramesAnalyzed !== undefined && scene.newestTrackFramesAnalyzed < options.newFaceFullRateFrames;
  return newFace && (scene.followedBoxes === undefined || options.searchMarginRatio === 0);
}

/**
 * Only around the faces already followed, when all that changed lies there; the whole frame
 * when anything changed elsewhere (someone may be coming in) or a face there needs describing.
 */
function analyzeNearFollowed(input: GateInput, options: SceneGateOptions): FrameVerdict {
  const boxes = input.scene.followedBoxes;
  if (options.searchMarginRatio === 0 || boxes === undefined) return { kind: 'analyze' };
  let x0 = Infinity;
  let y0 = Infinity;
  let x1 = -Infinity;
  let y1 = -Infinity;
  for (const b of boxes) {
    const mx = b.width * options.searchMarginRatio;
    const my = b.height * options.searchMarginRatio;
    x0 = Math.min(x0, b.x - mx);
    y0 = Math.min(y0, b.y - my);
    x1 = Math.max(x1, b.x + b.width + mx);
    y1 = Math.max(y1, b.y + b.height + my);
  }
  const region = { x: Math.max(0, x0), y: Math.max(0, y0), width: Math.min(input.frameWidthPx, x1) - Math.max(0, x0), height: Math.min(input.frameHeightPx, y1) - Math.max(0, y0) };
  const changed = input.changedRegion;
  const inside = changed === undefined || (changed.x >= region.x && changed.y >= region.y && changed.x + changed.width <= region.x + region.width && changed.y + changed.height <= region.y + region.height);
  return inside ? { kind: 'analyze', searchRegion: region } : { kind: 'analyze' };
}

/**
 * The cheap look at every frame before the face networks: a grey thumbnail compared with that
 * of the last analyzed frame. Comparing with the last analyzed frame, not the previous one,
 * means a slow drift (someone edging in) adds up until it counts as a change.
 */
export class SceneGate implements FrameScreen {
  private reference: SceneThumbnail | undefined;
  /** The last analyzed frame when it was never looked at: its thumbnail is made when a verdict first needs it. */
  private unlookedReference: LaneFrame | undefined;
  private lastAnalyzedMs = Number.NEGATIVE_INFINITY;
  private judged: { frame: LaneFrame; thumbnail: SceneThumbnail | undefined } | undefined;

  constructor(private readonly deps: SceneGateDeps) {}

  async judge(frame: LaneFrame): Promise<FrameVerdict> {
    const { options } = this.deps;
    if (!options.enabled) return { kind: 'analyze' };
    const scene = this.deps.sceneState(frame.atMs);
    if (wholeFrameWhateverChanged(scene, options)) {
      this.judged = undefined;
      return { kind: 'analyze' };
    }
    if (this.unlookedReference) {
      this.reference = await this.thumbnailOf(this.unlookedReference);
      this.unlookedReference = undefined;
    }
    const thumbnail = await this.thumbnailOf(frame);
    this.judged = { frame, thumbnail };
    if (!thumbnail || !this.reference) return { kind: 'analyze' };
    const change = sceneChange(this.reference, thumbnail, options.pixelChangeGreyLevels);
    return gateVerdict(
      {
        changedShare: change.changedShare,
        changedRegion: change.region,
        frameWidthPx: thumbnail.width * thumbnail.scaleToFrame,
        frameHeightPx: thumbnail.height * thumbnail.scaleToFrame,
        nowMs: frame.atMs,
        lastAnalyzedMs: this.lastAnalyzedMs,
        scene,
      },
      options,
      this.deps.recheckEveryMs,
    );
  }

  async analyzed(frame: LaneFrame): Promise<void> {
    if (!this.deps.options.enabled) return;
    // A frame analyzed without a look first (or one that replaced the judged frame) is not looked
    // at now either: while a new face is at full rate, that would only delay its next frame.
    if (this.judged?.frame === frame) {
      this.reference = this.judged.thumbnail;
      this.unlookedReference = undefined;
    } else {
      this.unlookedReference = frame;
    }
    this.judged = undefined;
    this.lastAnalyzedMs = frame.atMs;
  }

  private thumbnailOf(frame: LaneFrame): Promise<SceneThumbnail | undefined> {
    return sceneThumbnail(frame.bytes, { widthPx: this.deps.options.thumbnailWidthPx, maxImagePixels: this.deps.maxImagePixels });
  }
}
