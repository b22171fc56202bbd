import type { FfmpegCameraConfig, FfmpegInputConfig } from './cameraConfigSchema.js';
import { maskUrlCredentials } from './outputTail.js';

export type FfmpegOutputOptions = Pick<FfmpegCameraConfig, 'input' | 'fps' | 'widthPx' | 'heightPx' | 'jpegQuality'>;

/**
 * The ffmpeg command line for one camera: read the input, thin it to the wanted frame
 * rate, optionally scale, and write a stream of JPEG images to stdout. Only errors are
 * logged so that stderr holds what the operator needs and nothing else.
 */
export function ffmpegArguments(options: FfmpegOutputOptions, platform: NodeJS.Platform = process.platform): string[] {
  const filters = [`fps=${options.fps}`];
  if (options.widthPx !== undefined || options.heightPx !== undefined) {
    // -2 keeps the aspect ratio for the side left open, rounded to an even size.
    filters.push(`scale=${options.widthPx ?? -2}:${options.heightPx ?? -2}`);
  }
  return [
    '-hide_banner', '-nostdin', '-loglevel', 'error',
    ...inputArguments(options.input, platform),
    '-an',
    '-vf', filters.join(','),
    '-f', 'image2pipe', '-c:v', 'mjpeg', '-q:v', String(options.jpegQuality),
    'pipe:1',
  ];
}

function inputArguments(input: FfmpegInputConfig, platform: NodeJS.Platform): string[] {
  switch (input.type) {
    case 'usb':
      if (platform === 'win32') {
        return ['-f', 'dshow', '-i', input.device.startsWith('video=') ? input.device : `video=${input.device}`];
      }
      if (platform === 'darwin') return ['-f', 'avfoundation', '-i', input.device];
      return ['-f', 'v4l2', '-i', input.device];
    case 'rtsp':
      // TCP because lost UDP packets turn into smeared frames, which the face detector
      // then either misses or, worse, describes badly.
      return ['-rtsp_transport', 'tcp', '-i', input.url];
    case 'http':
      return ['-i', input.url];
    case 'file':
      // The file: prefix keeps a name such as "concat:a|b" from being read as a protocol.
      return ['-re', ...(input.loop ? ['-stream_loop', '-1'] : []), '-i', `file:${input.path}`];
  }
}

/** For status details: names the input without exposing credentials in its URL. */
export function describeFfmpegInput(input: FfmpegInputConfig): string {
  switch (input.type) {
    case 'usb':
      return `USB camera ${input.device}`;
    case 'rtsp':
      return `RTSP stream ${maskUrlCredentials(input.url)}`;
    case 'http':
      return `HTTP MJPEG stream ${maskUrlCredentials(input.url)}`;
    case 'file':
      return `video file ${input.path}${input.loop ? ' (looping)' : ''}`;
  }
}
