import { performance } from 'node:perf_hooks';
import sharp from 'sharp';
import type { QualityGate, VisionSettings } from '../config/settingsSchema.js';
import type { Logger } from '../core/logger.js';
import { type FaceQuality, facePixelStats, headPose, qualityReasons } from './faceQuality.js';
import { type DecodedImage, decodeImage } from './imageDecoder.js';
import { faceApiModelDir, verifyModelFiles } from './modelFiles.js';
import { type BackendName, type FaceApiModule, type Tf, loadBackend } from './tensorflowBackend.js';
import { freeRecognitionLayersEarly } from './recognitionNetForward.js';
import { freeDetectorLayersEarly } from './tinyDetectorForward.js';
import { iou } from './boxGeometry.js';
import type { Box, DecodedImageLike, Point } from './visionTypes.js';

export type Purpose = 'enroll' | 'live';

export interface FaceObservation {
  /** In original-image pixels. */
  box: Box;
  score: number;
  landmarks: Point[];
  quality: FaceQuality;
  /** 128 numbers; absent when the face failed its gate and descriptors were asked for passing faces only. */
  descriptor?: Float32Array;
}

export interface StageTimingsMs {
  decode: number;
  detect: number;
  landmarks: number;
  descriptor: number;
}

export interface AnalyzeOptions {
  /** 'passing' skips the descriptor of faces that fail the gate: it is the slowest stage. */
  describe?: 'all' | 'passing';
  /** Overrides the detector that the purpose selects, e.g. SSD for a still photo judged by the live gate. */
  detector?: 'ssd' | 'tiny';
  /**
   * Boxes (original-image pixels) of faces already identified in earlier frames: a face whose
   * box overlaps one of them by IoU ≥ SKIP_DESCRIPTOR_IOU_MIN gets no descriptor, since the
   * tracker already knows who it is. The tracker leaves a box out to have a face re-checked.
   */
  skipDescriptorBoxes?: Box[];
  /**
   * Where to look (original-image pixels), e.g. around the faces a lane already follows: the
   * networks see only this part of the image, the Tiny detector at an input size that keeps
   * faces as large as in a whole-image search, so it costs about the region's share of the image.
   * No face found there is described.
   */
  searchRegion?: Box;
  /**
   * A face on a skipDescriptorBoxes box is only followed by its box: no landmarks, no quality,
   * it comes back in Analysis.followed. Its identity is known; where it is, is all a lane needs.
   */
  followKnownByBox?: boolean;
}

/** Overlap at which a detection is taken to be the same face as a known box from the last frame. */
export const SKIP_DESCRIPTOR_IOU_MIN = 0.5;

/** A face already identified, found again where it was (AnalyzeOptions.followKnownByBox). */
export interface FollowedFace {
  box: Box;
  score: number;
}

export interface Analysis {
  /** Largest face first. */
  faces: FaceObservation[];
  /** Faces on a known box, when they were only followed by their box. */
  followed?: FollowedFace[];
  timingsMs: StageTimingsMs;
}

type FaceTensor = Awaited<ReturnType<FaceApiModule['extractFaceTensors']>>[number];

/** The Tiny detector's smallest input; a search region smaller than this is no saving, the whole image is searched. */
const TINY_INPUT_MIN_PX = 128;

/** Grey, so a padded border looks like neither skin nor hair to the detector. */
const PAD_GREY = 128;

/**
 * The only place that runs the face networks. One instance per thread: TensorFlow.js keeps
 * global state per process/worker. Every tensor created for a call is disposed before the
 * call returns, so memory stays flat however many images pass through.
 */
export class FaceEngine {
  private constructor(
    private readonly faceapi: FaceApiModule,
    private readonly tf: Tf,
    readonly backend: BackendName,
    private readonly settings: VisionSettings,
  ) {}

  static async create(settings: VisionSettings, log: Logger): Promise<FaceEngine> {
    verifyModelFiles();
    const { faceapi, tf, name } = await loadBackend(settings.backend, log);
    const dir = faceApiModelDir();
    const nets = faceapi.nets;
    await nets.tinyFaceDetector.loadFromDisk(dir);
    freeDetectorLayersEarly(faceapi, tf);
    await nets.faceLandmark68Net.loadFromDisk(dir);
    await nets.faceRecognitionNet.loadFromDisk(dir);
    freeRecognitionLayersEarly(faceapi, tf);
    return new FaceEngine(faceapi, tf, name, settings);
  }

  /**
   * SSD is loaded by the first call that needs it (an enrollment photo), not at start: a worker
   * that sees only camera frames never holds its weights and code (with two workers, the
   * service's RSS at start fell from 383 to 308 MB).
   */
  private async ensureSsdLoaded(): Promise<void> {
    const ssd = this.faceapi.nets.ssdMobilenetv1;
    if (!ssd.isLoaded) await ssd.loadFromDisk(faceApiModelDir());
  }

  /** Decode untrusted bytes, then analyze. Throws ImageError for anything that is not a usable image. */
  async analyzeBytes(bytes: Uint8Array, purpose: Purpose, options: AnalyzeOptions = {}): Promise<Analysis> {
    const t0 = performance.now();
    const image = await decodeImage(bytes, this.settings);
    const decodeMs = performance.now() - t0;
    const analysis = await this.analyze(image, purpose, options);
    analysis.timingsMs.decode = decodeMs;
    return analysis;
  }

  async analyze(image: DecodedImage, purpose: Purpose, options: AnalyzeOptions = {}): Promise<Analysis> {
    const timingsMs: StageTimingsMs = { decode: 0, detect: 0, landmarks: 0, descriptor: 0 };
    // The networks run on `pixels`; a point there is at (x + offsetX, y + offsetY) in the decoded image.
    const { pixels, offsetX, offsetY } = options.searchRegion
      ? cropToRegion(image, options.searchRegion)
      : await this.padTightCrop(image);
    const { faceapi } = this;
    const input = faceapi.tf.tensor3d(pixels.data, [pixels.height, pixels.width, 3], 'int32');
    try {
      let t = performance.now();
      const share = Math.max(pixels.width, pixels.height) / Math.max(image.width, image.height);
      const detector = this.detectorOptions(purpose, options.detector, options.searchRegion ? share : 1);
      if (detector instanceof faceapi.SsdMobilenetv1Options) await this.ensureSsdLoaded();
      const detections = await faceapi.detectAllFaces(input, detector);
      timingsMs.detect = performance.now() - t;

      const gate: QualityGate = purpose === 'enroll' ? this.settings.enrollGate : this.settings.liveGate;
      const faces: FaceObservation[] = [];
      const followed: FollowedFace[] = [];
      const scale = image.scaleToOriginal;
      for (const detection of detections) {
        const box = clipBox(
          { x: detection.box.x + offsetX, y: detection.box.y + offsetY, width: detection.box.width, height: detection.box.height },
          image,
        );
        const known = options.skipDescriptorBoxes?.some((b) => iou(b, scaleBox(box, scale)) >= SKIP_DESCRIPTOR_IOU_MIN) ?? false;
        if (known && options.followKnownByBox) {
          followed.push({ box: scaleBox(box, scale), score: round3(detection.score) });
          continue;
        }
        t = performance.now();
        const [crop] = await faceapi.extractFaceTensors(input, [detection]);
        const unshifted = (await faceapi.nets.faceLandmark68Net.detectLandmarks(crop!)) as InstanceType<FaceApiModule['FaceLandmarks68']>;
        crop!.dispose();
        const landmarks = unshifted.shiftBy(detection.box.x, detection.box.y);
        timingsMs.landmarks += performance.now() - t;

        const toOriginal = (p: Point): Point => ({ x: (p.x + offsetX) * scale, y: (p.y + offsetY) * scale });
        const pixelStats = await facePixelStats(image, box);
        const metrics = {
          sizePx: round1(Math.min(box.width, box.height) * scale),
          detectionScore: round3(detection.score),
          ...headPose(landmarks.positions),
          ...pixelStats,
        };
        const reasons = qualityReasons(metrics, gate);
        const observation: FaceObservation = {
          box: scaleBox(box, scale),
          score: round3(detection.score),
          landmarks: landmarks.positions.map(toOriginal),
          quality: { ...metrics, gate: purpose, passed: reasons.length === 0, reasons },
        };

        // A face found in a search region is not described: descriptors that decide come from
        // whole-image detections, the boxes and crops the match calibration was measured on.
        if (!known && !options.searchRegion && (reasons.length === 0 || options.describe !== 'passing')) {
          t = performance.now();
          // dlib-style alignment: the recognition net was trained on crops made this way.
          const alignedRect = landmarks.align(null, { useDlibAlignment: true });
          const [aligned] = await faceapi.extractFaceTensors(input, [alignedRect]);
          observation.descriptor = await this.describe(aligned!);
          aligned!.dispose();
          timingsMs.descriptor += performance.now() - t;
        }
        faces.push(observation);
      }
      faces.sort((a, b) => b.box.width * b.box.height - a.box.width * a.box.height);
      return { faces, ...(options.followKnownByBox ? { followed } : {}), timingsMs };
    } finally {
      input.dispose();
    }
  }

  /**
   * The descriptor of the aligned face, averaged with that of its mirror image when
   * vision.mirrorAverage is on: on the calibration set it pulls same-person distances in
   * (p90 0.545 → 0.503) at the cost of one more pass of the recognition net.
   */
  private async describe(aligned: FaceTensor): Promise<Float32Array> {
    const net = this.faceapi.nets.faceRecognitionNet;
    const descriptor = (await net.computeFaceDescriptor(aligned)) as Float32Array;
    if (!this.settings.mirrorAverage) return descriptor;
    // face-api types its tf as a subset of tfjs-core; at run time it is the same tfjs as this.tf.
    const mirrored = this.tf.reverse(aligned as unknown as import('@tensorflow/tfjs').Tensor3D, 1) as unknown as FaceTensor;
    try {
      const other = (await net.computeFaceDescriptor(mirrored)) as Float32Array;
      for (let i = 0; i < descriptor.length; i++) descriptor[i] = (descriptor[i]! + other[i]!) / 2;
      return descriptor;
    } finally {
      mirrored.dispose();
    }
  }

  /**
   * Bytes of this thread's WebAssembly memory, undefined on the other backends. It grows to the
   * largest working set a call needed (an SSD enrollment photo more than a camera frame) and
   * WebAssembly memory never shrinks.
   */
  wasmHeapBytes(): number | undefined {
    if (this.backend !== 'wasm') return undefined;
    const backend = this.tf.backend() as unknown as { wasm?: { HEAPU8?: Uint8Array } };
    return backend.wasm?.HEAPU8?.buffer.byteLength;
  }

  /** Live tensors held by TensorFlow.js; flat between calls when nothing leaks. */
  tensorCount(): number {
    return this.tf.memory().numTensors;
  }

  /** `share`: the searched part's longer side over the image's; the Tiny input shrinks with it. */
  private detectorOptions(purpose: Purpose, override: 'ssd' | 'tiny' | undefined, share: number) {
    const s = this.settings;
    const kind = override ?? (purpose === 'enroll' ? s.enrollDetector : s.liveDetector);
    const inputSize = Math.min(s.tinyInputSizePx, Math.max(TINY_INPUT_MIN_PX, Math.ceil((s.tinyInputSizePx * share) / 32) * 32));
    return kind === 'ssd'
      ? new this.faceapi.SsdMobilenetv1Options({ minConfidence: s.ssdMinConfidence })
      : new this.faceapi.TinyFaceDetectorOptions({ inputSize, scoreThreshold: s.tinyScoreThreshold });
  }

  /**
   * A tight 150×150 crop fills the detector's whole input, and detectors trained on photos
   * miss most such faces; a grey border the size of the crop makes it look like a portrait.
   */
  private async padTightCrop(image: DecodedImage): Promise<{ pixels: DecodedImageLike; offsetX: number; offsetY: number }> {
    const s = this.settings;
    if (Math.max(image.width, image.height) > s.cropPadMaxSidePx || s.cropPadRatio === 0) {
      return { pixels: image, offsetX: 0, offsetY: 0 };
    }
    const padX = Math.round(image.width * s.cropPadRatio);
    const padY = Math.round(image.height * s.cropPadRatio);
    const { data, info } = await sharp(image.data, { raw: { width: image.width, height: image.height, channels: 3 } })
      .extend({ top: padY, bottom: padY, left: padX, right: padX, background: { r: PAD_GREY, g: PAD_GREY, b: PAD_GREY } })
      .raw()
      .toBuffer({ resolveWithObject: true });
    return { pixels: { data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength), width: info.width, height: info.height }, offsetX: -padX, offsetY: -padY };
  }
}

/** The part of the decoded image inside `region` (original-image pixels), clipped to the image. */
function cropToRegion(image: DecodedImage, region: Box): { pixels: DecodedImageLike; offsetX: number; offsetY: number } {
  const s = image.scaleToOriginal;
  const x0 = Math.max(0, Math.floor(region.x / s));
  const y0 = Math.max(0, Math.floor(region.y / s));
  const x1 = Math.min(image.width, Math.ceil((region.x + region.width) / s));
  const y1 = Math.min(image.height, Math.ceil((region.y + region.height) / s));
  if (x1 - x0 < TINY_INPUT_MIN_PX || y1 - y0 < TINY_INPUT_MIN_PX) return { pixels: image, offsetX: 0, offsetY: 0 };
  const width = x1 - x0;
  const height = y1 - y0;
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    const from = ((y0 + y) * image.width + x0) * 3;
    data.set(image.data.subarray(from, from + width * 3), y * width * 3);
  }
  return { pixels: { data, width, height }, offsetX: x0, offsetY: y0 };
}

function clipBox(box: Box, image: DecodedImageLike): Box {
  const x = Math.max(0, box.x);
  const y = Math.max(0, box.y);
  return {
    x,
    y,
    width: Math.max(1, Math.min(image.width, box.x + box.width) - x),
    height: Math.max(1, Math.min(image.height, box.y + box.height) - y),
  };
}

function scaleBox(box: Box, scale: number): Box {
  return { x: round1(box.x * scale), y: round1(box.y * scale), width: round1(box.width * scale), height: round1(box.height * scale) };
}

function round1(v: number): number {
  return Math.round(v * 10) / 10;
}

function round3(v: number): number {
  return Math.round(v * 1000) / 1000;
}
