import { z } from 'zod';

/**
 * Settings for one lane's camera, one shape per kind of source. The settings owner embeds
 * `cameraConfigSchema` per lane; the lane id itself lives beside it, not inside.
 */

const MIB = 1024 * 1024;

const maxFrameBytes = z.number().int().min(1024).max(64 * MIB).default(8 * MIB)
  .describe('Largest encoded image accepted from the camera; a bigger one is dropped and counted, so a garbled stream cannot grow memory');

const retryInitialMs = z.number().int().min(50).default(1000)
  .describe('Wait before the first reconnect after the camera stops delivering; doubles on each failure');

const retryMaxMs = z.number().int().min(50).default(30_000)
  .describe('Longest wait between reconnect attempts');

const retryOrder = (c: { retryInitialMs: number; retryMaxMs: number }) => c.retryMaxMs >= c.retryInitialMs;
const retryOrderMessage = { message: 'retryMaxMs must be at least retryInitialMs', path: ['retryMaxMs'] };

const ffmpegInputSchema = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('usb'),
    device: z.string().min(1)
      .describe('Linux: /dev/video0 (v4l2). Windows: video=Camera Name as listed by `ffmpeg -list_devices true -f dshow -i dummy` (dshow). macOS: the device index, e.g. 0 (avfoundation)'),
  }).strict(),
  z.object({
    type: z.literal('rtsp'),
    url: z.string().regex(/^rtsps?:\/\/\S+$/i, 'an RTSP URL starts with rtsp:// or rtsps://')
      .describe('Stream URL of an IP camera, e.g. rtsp://user:password@192.168.1.20:554/stream1; read over TCP'),
  }).strict(),
  z.object({
    type: z.literal('http'),
    url: z.string().regex(/^https?:\/\/\S+$/i, 'an HTTP MJPEG URL starts with http:// or https://')
      .describe('MJPEG-over-HTTP stream URL, e.g. http://192.168.1.21/video.mjpg'),
  }).strict(),
  z.object({
    type: z.literal('file'),
    path: z.string().min(1)
      .describe('Video file played in real time, for demos and tests'),
    loop: z.boolean().default(false)
      .describe('Start the file again at its end instead of stopping'),
  }).strict(),
]).describe('Where ffmpeg reads from');

export const ffmpegCameraConfigSchema = z
  .object({
    kind: z.literal('ffmpeg'),
    input: ffmpegInputSchema,
    fps: z.number().positive().max(60).default(5)
      .describe('Frames per second taken from the camera; the rest are dropped inside ffmpeg before they cost any work here'),
    widthPx: z.number().int().min(16).max(7680).optional()
      .describe('Scale frames to this width; with heightPx unset the aspect ratio is kept. Unset = camera size'),
    heightPx: z.number().int().min(16).max(4320).optional()
      .describe('Scale frames to this height; with widthPx unset the aspect ratio is kept. Unset = camera size'),
    jpegQuality: z.number().int().min(2).max(31).default(5)
      .describe('ffmpeg -q:v of the JPEG frames: 2 is best and largest, 31 worst and smallest'),
    retryInitialMs,
    retryMaxMs,
    stallTimeoutMs: z.number().int().min(1000).default(15_000)
      .describe('Restart ffmpeg when no frame arrived for this long, e.g. a network camera that stopped sending without closing the connection'),
    stopGraceMs: z.number().int().min(100).default(3000)
      .describe('Time ffmpeg gets to exit after SIGTERM before it is killed'),
    stderrTailLines: z.number().int().min(1).max(50).default(5)
      .describe('Lines of ffmpeg error output kept for the status detail'),
    maxFrameBytes,
    ffmpegPath: z.string().min(1).optional()
      .describe('ffmpeg executable to use. Unset = ffmpeg on PATH, else the static build bundled with memberlens'),
  })
  .strict()
  .refine(retryOrder, retryOrderMessage);

// node-webcam builds a shell command line from the device name, so only characters that
// a shell takes literally are allowed (spaces for macOS names like "FaceTime HD Camera",
// which node-webcam quotes for imagesnap).
const shellSafeDevice = /^[A-Za-z0-9_./: -]+$/;

export const webcamCameraConfigSchema = z
  .object({
    kind: z.literal('webcam'),
    device: z.string().regex(shellSafeDevice, 'device may contain only letters, digits, spaces and _ . / : -').optional()
      .describe('Camera for fswebcam (Linux, e.g. /dev/video0) or imagesnap (macOS, device name). Unset = the default camera'),
    intervalMs: z.number().int().min(100).default(1000)
      .describe('Time between snapshots; each snapshot starts the capture tool anew, so this source suits slow lanes'),
    widthPx: z.number().int().min(16).max(7680).default(1280)
      .describe('Requested snapshot width'),
    heightPx: z.number().int().min(16).max(4320).default(720)
      .describe('Requested snapshot height'),
    jpegQuality: z.number().int().min(1).max(100).default(85)
      .describe('JPEG quality of each snapshot, 1–100'),
    retryInitialMs,
    retryMaxMs,
    maxFrameBytes,
  })
  .strict()
  .refine(retryOrder, retryOrderMessage);

export const replayCameraConfigSchema = z
  .object({
    kind: z.literal('replay'),
    folder: z.string().min(1)
      .describe('Folder whose .jpg, .jpeg and .png files are played in name order (numbers in names sort by value)'),
    fps: z.number().positive().max(60).default(2)
      .describe('Images played per second'),
    loop: z.boolean().default(true)
      .describe('Start again with the first image after the last'),
    maxFrameBytes,
  })
  .strict();

export const httpPushCameraConfigSchema = z
  .object({
    kind: z.literal('http-push'),
    maxFrameBytes,
  })
  .strict();

export const cameraConfigSchema = z
  .discriminatedUnion('kind', [
    ffmpegCameraConfigSchema,
    webcamCameraConfigSchema,
    replayCameraConfigSchema,
    httpPushCameraConfigSchema,
  ])
  .describe('Camera of the lane: ffmpeg (USB, RTSP, HTTP MJPEG or video file), webcam (fswebcam/imagesnap snapshots), replay (a folder of images) or http-push (frames POSTed to /api/lanes/:lane/frames)');

export type CameraConfig = z.output<typeof cameraConfigSchema>;
export type CameraConfigInput = z.input<typeof cameraConfigSchema>;
export type FfmpegCameraConfig = z.output<typeof ffmpegCameraConfigSchema>;
export type FfmpegInputConfig = FfmpegCameraConfig['input'];
export type WebcamCameraConfig = z.output<typeof webcamCameraConfigSchema>;
export type ReplayCameraConfig = z.output<typeof replayCameraConfigSchema>;
export type HttpPushCameraConfig = z.output<typeof httpPushCameraConfigSchema>;
