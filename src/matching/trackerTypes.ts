import type { FaceObservation } from '../vision/faceEngine.js';
import type { Box } from '../vision/visionTypes.js';
import type { MatchDecision } from './matcher.js';

/** What the tracker reads of a detection; a full FaceObservation fits. */
export type TrackedFace = Pick<FaceObservation, 'box' | 'descriptor'> & Partial<Pick<FaceObservation, 'quality'>>;

export interface TrackerOptions {
  /** Smallest box IoU for a detection to continue a track. */
  iouMatchMin: number;
  /** Largest descriptor distance from a track's last descriptor for a detection to continue it. */
  sameTrackDistanceMax: number;
  /** How often a decided track's face is described again, to catch a person swap in the same spot. */
  recheckEveryMs: number;
  /** Agreeing member votes a track needs before it is named. */
  votesToDecide: number;
  /** Share (0–1) of all the track's votes that the agreeing member votes must make up. */
  voteAgreementMin: number;
  /** Unknown votes after which a track that names no member is a stable unknown. */
  unknownVotesToDecide: number;
  /** A track not seen for longer than this ends. */
  trackTimeoutMs: number;
  /** After a member was last seen on the lane, no new popup for them within this time. */
  popupCooldownMs: number;
}

export interface LaneTrackerInit {
  lane: string;
  /** The `tracker` settings; their defaults live in the settings schema only. */
  options: TrackerOptions;
  /** Gallery search plus match policy for a face this many pixels wide, bound by the caller. */
  decide: (descriptor: Float32Array, facePx: number) => MatchDecision;
  /** Whether a described face is good enough to enroll (the strict gate); none are by default. */
  isEnrollable?: (face: TrackedFace) => boolean;
}

export interface TrackRecognized {
  type: 'recognized';
  trackId: string;
  memberId: string;
  /** 0–1: agreement × (1 − distance / (2 · threshold)), clamped; the threshold the votes were decided with. */
  confidence: number;
  /** Mean distance of the votes that named the member. */
  distance: number;
}

export interface TrackUnknown {
  type: 'unknown';
  trackId: string;
}

export interface TrackLeft {
  type: 'left';
  trackId: string;
  /** Present when the track had been named as a member. */
  memberId?: string;
}

export type TrackerEvent = TrackRecognized | TrackUnknown | TrackLeft;

/** A live track as the fusion stage sees it: where and who, never the face descriptor. */
export interface PresentTrack {
  trackId: string;
  box: Box;
  boxAreaPx: number;
  memberId?: string;
  firstSeenMs: number;
  lastSeenMs: number;
}

/**
 * A present track with how many frames detected it, for the fusion stage: a face seen on a
 * single frame may be a false detection and must not be linked to a payer.
 */
export interface PresentTrackWithFrames extends PresentTrack {
  framesSeen: number;
}

/** Who the tracker holds in the scene now, for the scene gate to decide whether a still frame needs analyzing. */
export interface SceneState {
  /** Tracks seen on the latest analyzed frame (or held since): the faces a still scene still shows. */
  heldTracks: number;
  /**
   * Faces the tracker no longer holds though the scene may still show them: found on the latest
   * analyzed frame but timed out since (analysis lagged behind), or tracks seen shortly before
   * it that it did not find (left, or missed by the detector). A still frame is looked at again
   * while there are any.
   */
  lostFaces: number;
  /** Fewest analyzed frames any of those tracks was found on: a new face has few. */
  newestTrackFramesAnalyzed: number | undefined;
  /**
   * The boxes of those tracks when every one is named or judged unknown and none is due for a
   * re-check: then nothing about them needs more than their place. Undefined otherwise, and
   * when there are none.
   */
  followedBoxes: Box[] | undefined;
}
