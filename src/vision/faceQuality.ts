import sharp from 'sharp';
import type { QualityGate } from '../config/settingsSchema.js';
import type { Box, DecodedImageLike, Point } from './visionTypes.js';

export type QualityReason =
  | 'face-too-small'
  | 'low-detection-score'
  | 'head-turned'
  | 'head-tilted'
  | 'blurry'
  | 'too-dark'
  | 'too-bright';

export interface QualityMetrics {
  /** Shorter side of the face box in original-image pixels. */
  sizePx: number;
  detectionScore: number;
  yawDeg: number;
  rollDeg: number;
  /** Variance of the Laplacian of the grey face at PATCH_SIDE_PX; scale-independent blur measure. */
  sharpness: number;
  /** Mean grey level 0–255 of the face. */
  brightness: number;
}

export interface FaceQuality extends QualityMetrics {
  gate: 'enroll' | 'live';
  passed: boolean;
  reasons: QualityReason[];
}

/** Faces are compared for blur at one size, so a big face is not judged sharper for being big. */
const PATCH_SIDE_PX = 112;

/** Pure: which rules of the gate a face breaks, each by name. */
export function qualityReasons(m: QualityMetrics, gate: QualityGate): QualityReason[] {
  const reasons: QualityReason[] = [];
  if (m.sizePx < gate.minFaceSizePx) reasons.push('face-too-small');
  if (m.detectionScore < gate.minDetectionScore) reasons.push('low-detection-score');
  if (Math.abs(m.yawDeg) > gate.maxYawDeg) reasons.push('head-turned');
  if (Math.abs(m.rollDeg) > gate.maxRollDeg) reasons.push('head-tilted');
  if (m.sharpness < gate.minSharpness) reasons.push('blurry');
  if (m.brightness < gate.minBrightness) reasons.push('too-dark');
  if (m.brightness > gate.maxBrightness) reasons.push('too-bright');
  return reasons;
}

const mean = (points: Point[]): Point => ({
  x: points.reduce((s, p) => s + p.x, 0) / points.length,
  y: points.reduce((s, p) => s + p.y, 0) / points.length,
});

/**
 * Head pose from the 68-point layout (iBUG): roll from the line through the eye centres;
 * yaw from where the nose tip sits between the jaw ends once roll is undone — a frontal
 * face has it midway, a face turned by θ moves it by about sin θ of the half-width.
 */
export function headPose(landmarks: Point[]): { yawDeg: number; rollDeg: number } {
  const leftEye = mean(landmarks.slice(36, 42));
  const rightEye = mean(landmarks.slice(42, 48));
  const roll = Math.atan2(rightEye.y - leftEye.y, rightEye.x - leftEye.x);
  const cos = Math.cos(-roll);
  const sin = Math.sin(-roll);
  const unrolledX = (p: Point) => p.x * cos - p.y * sin;
  const jawLeft = unrolledX(landmarks[0]!);
  const jawRight = unrolledX(landmarks[16]!);
  const nose = unrolledX(landmarks[30]!);
  const halfWidth = (jawRight - jawLeft) / 2;
  const offset = halfWidth > 0 ? (nose - (jawLeft + halfWidth)) / halfWidth : 0;
  const yaw = Math.asin(Math.max(-1, Math.min(1, offset)));
  return { yawDeg: round1((yaw * 180) / Math.PI), rollDeg: round1((roll * 180) / Math.PI) };
}

/** Brightness and blur of the face region, measured on a grey patch of fixed size. */
export async function facePixelStats(image: DecodedImageLike, box: Box): Promise<{ sharpness: number; brightness: number }> {
  const left = clamp(Math.floor(box.x), 0, image.width - 1);
  const top = clamp(Math.floor(box.y), 0, image.height - 1);
  const width = clamp(Math.ceil(box.width), 1, image.width - left);
  const height = clamp(Math.ceil(box.height), 1, image.height - top);
  const grey = await sharp(image.data, { raw: { width: image.width, height: image.height, channels: 3 } })
    .extract({ left, top, width, height })
    .greyscale()
    .resize(PATCH_SIDE_PX, PATCH_SIDE_PX, { fit: 'fill' })
    .raw()
    .toBuffer();
  const n = PATCH_SIDE_PX;
  let sum = 0;
  for (let i = 0; i < grey.length; i++) sum += grey[i]!;
  let lapSum = 0;
  let lapSq = 0;
  let count = 0;
  for (let y = 1; y < n - 1; y++) {
    for (let x = 1; x < n - 1; x++) {
      const i = y * n + x;
      const lap = grey[i - n]! + grey[i + n]! + grey[i - 1]! + grey[i + 1]! - 4 * grey[i]!;
      lapSum += lap;
      lapSq += lap * lap;
      count++;
    }
  }
  const lapMean = lapSum / count;
  return { sharpness: round1(lapSq / count - lapMean * lapMean), brightness: round1(sum / grey.length) };
}

function clamp(v: number, lo: number, hi: number): number {
  return Math.max(lo, Math.min(hi, v));
}

function round1(v: number): number {
  return Math.round(v * 10) / 10;
}
