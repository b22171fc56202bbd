import { execFile } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ImageError, UserError } from '../../src/core/errors.js';
import type { CameraCallbacks, CameraState, CameraStatusReport, Frame } from '../../src/sources/cameraSource.js';
import { cameraConfigSchema, createCameraSource } from '../../src/sources/createCameraSource.js';
import { FfmpegCamera } from '../../src/sources/ffmpegCamera.js';
import { resolveFfmpegBinary } from '../../src/sources/ffmpegBinary.js';
import { HttpPushCamera } from '../../src/sources/httpPushCamera.js';
import { JpegStreamSplitter } from '../../src/sources/jpegStreamSplitter.js';
import { ReplayFolderCamera } from '../../src/sources/replayFolderCamera.js';
import { WebcamSnapshotCamera } from '../../src/sources/webcamSnapshotCamera.js';

const run = promisify(execFile);
const FACES = path.resolve('test/fixtures/faces');
const FACE_NAMES = ['amy', 'bernadette', 'howard', 'leonard', 'penny', 'raj', 'sheldon', 'stuart'];

let work: string;
let videoFile: string;
const cleanups: Array<() => Promise<void>> = [];

/** Records everything a source reports, and waits for conditions on it. */
class Recorder implements CameraCallbacks {
  readonly frames: Frame[] = [];
  readonly reports: Array<CameraStatusReport & { atMs: number }> = [];

  onFrame(frame: Frame): void {
    this.frames.push(frame);
  }

  onStatus(report: CameraStatusReport): void {
    this.reports.push({ ...report, atMs: Date.now() });
  }

  states(): CameraState[] {
    return this.reports.map((r) => r.state);
  }

  retryDelaysMs(): number[] {
    return this.reports
      .filter((r) => r.state === 'retrying')
      .map((r) => Number(/; retry \d+ in (\d+) ms$/.exec(r.detail ?? '')?.[1]));
  }

  async until(what: string, condition: () => boolean, timeoutMs = 8000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!condition()) {
      if (Date.now() > deadline) {
        throw new Error(`timed out waiting for ${what}; states ${this.states().join(' → ')}; last detail: ${this.reports.at(-1)?.detail}`);
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}

function ffmpegCamera(lane: string, settings: Record<string, unknown>, recorder: Recorder): FfmpegCamera {
  const config = cameraConfigSchema.parse({ kind: 'ffmpeg', ...settings });
  const camera = createCameraSource(lane, config, recorder);
  if (!(camera instanceof FfmpegCamera)) throw new Error('factory did not build an FfmpegCamera');
  cleanups.push(() => camera.stop());
  return camera;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function expectJpeg(bytes: Uint8Array, sidePx: number): Promise<void> {
  expect([bytes[0], bytes[1]]).toEqual([0xff, 0xd8]);
  expect([bytes.at(-2), bytes.at(-1)]).toEqual([0xff, 0xd9]);
  const meta = await sharp(bytes).metadata();
  expect(meta.format).toBe('jpeg');
  expect([meta.width, meta.height]).toEqual([sidePx, sidePx]);
  // Decoding every pixel catches a truncated image that the header alone would not.
  const { info } = await sharp(bytes).raw().toBuffer({ resolveWithObject: true });
  expect(info.width).toBe(sidePx);
}

async function listen(server: Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => new Promise((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  }));
  return (server.address() as AddressInfo).port;
}

beforeAll(async () => {
  work = await mkdtemp(path.join(tmpdir(), 'memberlens-cameras-'));
  // Ten 150×150 stills (eight faces, two again) at 5 fps = a two-second MJPEG video.
  const stills = path.join(work, 'stills');
  await mkdir(stills);
  const names = [...FACE_NAMES, 'amy', 'bernadette'];
  await Promise.all(names.map((name, i) =>
    copyFile(path.join(FACES, name, `${name}1.png`), path.join(stills, `f${String(i).padStart(2, '0')}.png`))));
  videoFile = path.join(work, 'faces.avi');
  await run(resolveFfmpegBinary().path, [
    '-hide_banner', '-loglevel', 'error', '-framerate', '5', '-i', path.join(stills, 'f%02d.png'),
    '-c:v', 'mjpeg', '-q:v', '3', '-pix_fmt', 'yuvj420p', videoFile,
  ]);
});

afterEach(async () => {
  await Promise.all(cleanups.splice(0).map((c) => c()));
});

afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

describe('FfmpegCamera', () => {
  it('plays a video file in real time as complete JPEGs, then stops at its end', async () => {
    const rec = new Recorder();
    const camera = ffmpegCamera('L1', { input: { type: 'file', path: videoFile }, fps: 5 }, rec);
    const startedAtMs = Date.now();
    await camera.start();
    const pid = camera.pid;
    expect(pid).toBeGreaterThan(0);
    await rec.until('the end of the file', () => camera.status().state === 'stopped');
    const elapsedMs = Date.now() - startedAtMs;

    expect(rec.states()).toEqual(['starting', 'running', 'stopped']);
    expect(rec.reports.at(-1)?.detail).toMatch(/^end of video file/);
    // -re: two seconds of video take about two seconds, not a burst.
    expect(elapsedMs).toBeGreaterThan(1500);
    expect(rec.frames.length).toBeGreaterThanOrEqual(9);
    expect(rec.frames.length).toBeLessThanOrEqual(11);
    expect(rec.frames.map((f) => f.seq)).toEqual(rec.frames.map((_, i) => i + 1));
    expect(rec.frames.every((f) => f.lane === 'L1')).toBe(true);
    for (const frame of rec.frames) await expectJpeg(frame.bytes, 150);
    expect(camera.status()).toMatchObject({ framesIn: rec.frames.length, framesDropped: 0 });
    expect(isAlive(pid!)).toBe(false);
  });

  it('loops a file, scales frames, and stop() leaves no ffmpeg behind', async () => {
    const rec = new Recorder();
    const camera = ffmpegCamera('L2', { input: { type: 'file', path: videoFile, loop: true }, fps: 5, widthPx: 96 }, rec);
    await camera.start();
    // More frames than one pass of the two-second file holds.
    await rec.until('a second pass of the file', () => rec.frames.length >= 14);
    expect(rec.states()).toEqual(['starting', 'running']);
    await expectJpeg(rec.frames.at(-1)!.bytes, 96);

    const pid = camera.pid!;
    expect(isAlive(pid)).toBe(true);
    const stopStartedAtMs = Date.now();
    await Promise.all([camera.stop(), camera.stop()]);
    // Ended by SIGTERM, not by the SIGKILL that follows stopGraceMs later.
    expect(Date.now() - stopStartedAtMs).toBeLessThan(1500);
    await camera.stop();
    expect(isAlive(pid)).toBe(false);
    expect(camera.pid).toBeUndefined();
    expect(rec.states()).toEqual(['starting', 'running', 'stopped']);
    const framesAtStop = rec.frames.length;
    await new Promise((r) => setTimeout(r, 400));
    expect(rec.frames.length).toBe(framesAtStop);
  });

  it('retries a missing file and an unreachable camera with growing delays, while another lane keeps delivering', async () => {
    const good = new Recorder();
    const missing = new Recorder();
    const unreachable = new Recorder();
    const closed = createServer();
    const closedPort = await listen(closed);
    await new Promise<void>((resolve) => closed.close(() => resolve()));

    const goodCamera = ffmpegCamera('good', { input: { type: 'file', path: videoFile, loop: true } }, good);
    const missingCamera = ffmpegCamera('missing', {
      input: { type: 'file', path: path.join(work, 'no-such-video.avi') }, retryInitialMs: 100, retryMaxMs: 400,
    }, missing);
    const unreachableCamera = ffmpegCamera('unreachable', {
      input: { type: 'rtsp', url: `rtsp://admin:s3cret@127.0.0.1:${closedPort}/live` }, retryInitialMs: 100, retryMaxMs: 400,
    }, unreachable);
    await Promise.all([goodCamera.start(), missingCamera.start(), unreachableCamera.start()]);

    await missing.until('five retries', () => missing.retryDelaysMs().length >= 5);
    await unreachable.until('two retries', () => unreachable.retryDelaysMs().length >= 2);

    expect(missing.retryDelaysMs().slice(0, 5)).toEqual([100, 200, 400, 400, 400]);
    expect(missing.reports.find((r) => r.state === 'retrying')?.detail)
      .toMatch(/^ffmpeg exited with code \d+ \(.*no-such-video\.avi: No such file or directory\); retry 1 in 100 ms$/);
    // Each new attempt waits at least the announced delay.
    const attempts = missing.reports.filter((r) => r.state === 'starting').map((r) => r.atMs);
    const waits = attempts.slice(1).map((at, i) => at - attempts[i]!);
    expect(waits[2]).toBeGreaterThanOrEqual(400);

    const refused = unreachable.reports.find((r) => r.state === 'retrying')?.detail ?? '';
    expect(refused).toMatch(/Connection refused/);
    expect(refused).toContain('rtsp://***@127.0.0.1');
    expect(refused).not.toContain('s3cret');
    expect(unreachableCamera.status().detail ?? '').not.toContain('s3cret');

    expect(missing.frames).toHaveLength(0);
    const goodFramesMeanwhile = good.frames.length;
    await good.until('more frames on the good lane', () => good.frames.length >= goodFramesMeanwhile + 3);
    expect(goodCamera.status().state).toBe('running');
    expect(good.states()).toEqual(['starting', 'running']);

    // Stopping during the wait between attempts cancels the next attempt.
    await missingCamera.stop();
    const reportsAtStop = missing.reports.length;
    await new Promise((r) => setTimeout(r, 600));
    expect(missing.reports.length).toBe(reportsAtStop);
    expect(missingCamera.status().state).toBe('stopped');
  });

  it('reads an HTTP MJPEG stream, and restarts ffmpeg when the stream goes silent', async () => {
    const jpegs = await Promise.all(FACE_NAMES.slice(0, 3).map((n) =>
      sharp(path.join(FACES, n, `${n}1.png`)).jpeg().toBuffer()));
    let silent = false;
    const server = createServer((req, res) => {
      res.writeHead(200, { 'Content-Type': 'multipart/x-mixed-replace; boundary=frame' });
      if (silent) return;
      let i = 0;
      const timer = setInterval(() => {
        const jpeg = jpegs[i++ % jpegs.length]!;
        res.write(`--frame\r\nContent-Type: image/jpeg\r\nContent-Length: ${jpeg.length}\r\n\r\n`);
        res.write(jpeg);
        res.write('\r\n');
      }, 100);
      res.on('close', () => clearInterval(timer));
    });
    const port = await listen(server);

    const rec = new Recorder();
    const camera = ffmpegCamera('mjpeg', {
      input: { type: 'http', url: `http://127.0.0.1:${port}/video.mjpg` }, fps: 5, stallTimeoutMs: 1000, retryInitialMs: 100,
    }, rec);
    await camera.start();
    await rec.until('frames from the MJPEG stream', () => rec.frames.length >= 3);
    await expectJpeg(rec.frames[0]!.bytes, 150);

    // The camera keeps the connection open but sends nothing more.
    silent = true;
    server.closeAllConnections();
    await rec.until('the stall watchdog', () => rec.reports.some((r) => r.detail?.startsWith('no frame from ffmpeg for 1000 ms')), 6000);
    expect(rec.states().slice(0, 2)).toEqual(['starting', 'running']);
    expect(rec.states()).toContain('retrying');
  });
});

describe('JpegStreamSplitter', () => {
  it('cuts real ffmpeg output into the same images however the pipe chunks it, and caps an image', async () => {
    const { stdout } = await run(resolveFfmpegBinary().path, [
      '-hide_banner', '-loglevel', 'error', '-i', videoFile, '-f', 'image2pipe', '-c:v', 'mjpeg', '-q:v', '5', 'pipe:1',
    ], { encoding: 'buffer', maxBuffer: 16 * 1024 * 1024 });
    const reference: Buffer[] = [];
    new JpegStreamSplitter(1024 * 1024, (image) => reference.push(image), () => {}).push(stdout);
    expect(reference).toHaveLength(10);
    for (const image of reference) await expectJpeg(image, 150);
    expect(Buffer.concat(reference).equals(stdout)).toBe(true);

    // Noise before, between and after images, e.g. when a restarted ffmpeg cut one short.
    const noisy = Buffer.concat([Buffer.from([0x00, 0xff, 0xd9, 0xff]), ...reference.flatMap((r) => [r, Buffer.from([0x12, 0xff])])]);
    for (const chunkBytes of [1, 2, 3, 7, 4096]) {
      const images: Buffer[] = [];
      const splitter = new JpegStreamSplitter(1024 * 1024, (image) => images.push(image), () => {});
      for (let at = 0; at < noisy.length; at += chunkBytes) splitter.push(noisy.subarray(at, at + chunkBytes));
      expect(images).toEqual(reference);
    }

    const limit = [...reference].map((r) => r.length).sort((a, b) => a - b)[4]!;
    const kept: Buffer[] = [];
    let oversize = 0;
    const capped = new JpegStreamSplitter(limit, (image) => kept.push(image), () => { oversize += 1; });
    for (let at = 0; at < stdout.length; at += 1000) capped.push(stdout.subarray(at, at + 1000));
    expect(kept).toEqual(reference.filter((r) => r.length <= limit));
    expect(oversize).toBe(reference.filter((r) => r.length > limit).length);
    expect(oversize).toBeGreaterThan(0);
  });
});

describe('ReplayFolderCamera', () => {
  async function makeFolder(): Promise<{ folder: string; expected: Buffer[] }> {
    const folder = await mkdtemp(path.join(work, 'replay-'));
    const files = ['frame1.png', 'frame2.jpg', 'frame10.png'];
    const sources = ['amy', 'howard', 'penny'];
    await Promise.all(files.map(async (file, i) => {
      const input = path.join(FACES, sources[i]!, `${sources[i]}1.png`);
      const bytes = file.endsWith('.jpg') ? await sharp(input).jpeg().toBuffer() : await readFile(input);
      await writeFile(path.join(folder, file), bytes);
    }));
    await writeFile(path.join(folder, 'notes.txt'), 'not an image');
    const expected = await Promise.all(files.map((f) => readFile(path.join(folder, f))));
    return { folder, expected };
  }

  it('plays images in name order and loops', async () => {
    const { folder, expected } = await makeFolder();
    const rec = new Recorder();
    const camera = createCameraSource('demo', cameraConfigSchema.parse({ kind: 'replay', folder, fps: 20 }), rec);
    expect(camera).toBeInstanceOf(ReplayFolderCamera);
    cleanups.push(() => camera.stop());
    await camera.start();
    await rec.until('seven frames', () => rec.frames.length >= 7);
    await camera.stop();
    const order = rec.frames.slice(0, 7).map((f) => expected.findIndex((e) => e.equals(f.bytes)));
    expect(order).toEqual([0, 1, 2, 0, 1, 2, 0]);
    expect(rec.states()).toEqual(['starting', 'running', 'stopped']);
  });

  it('keeps playing when the consumer throws from its callbacks', async () => {
    const { folder } = await makeFolder();
    let calls = 0;
    const throwing: CameraCallbacks = {
      onFrame: () => { calls += 1; throw new Error('consumer bug'); },
      onStatus: () => { throw new Error('status consumer bug'); },
    };
    const camera = createCameraSource('demo', cameraConfigSchema.parse({ kind: 'replay', folder, fps: 50 }), throwing);
    cleanups.push(() => camera.stop());
    await camera.start();
    const deadline = Date.now() + 3000;
    while (calls < 5 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(calls).toBeGreaterThanOrEqual(5);
    expect(camera.status().state).toBe('running');
  });

  it('stops after the last image without loop, and fails on a folder without images', async () => {
    const { folder } = await makeFolder();
    const rec = new Recorder();
    const camera = createCameraSource('demo', cameraConfigSchema.parse({ kind: 'replay', folder, fps: 20, loop: false }), rec);
    cleanups.push(() => camera.stop());
    await camera.start();
    await rec.until('the end of the folder', () => camera.status().state === 'stopped');
    expect(rec.frames).toHaveLength(3);
    expect(rec.reports.at(-1)?.detail).toMatch(/^end of folder/);

    const empty = await mkdtemp(path.join(work, 'empty-'));
    const emptyRec = new Recorder();
    const emptyCamera = createCameraSource('demo', cameraConfigSchema.parse({ kind: 'replay', folder: empty }), emptyRec);
    await emptyCamera.start();
    expect(emptyCamera.status()).toMatchObject({ state: 'failed', detail: expect.stringMatching(/no \.jpg, \.jpeg or \.png images/) });
  });
});

describe('HttpPushCamera', () => {
  it('stamps pushed frames in sequence, counts them, and refuses what is not an image', async () => {
    const rec = new Recorder();
    const camera = createCameraSource('push', cameraConfigSchema.parse({ kind: 'http-push', maxFrameBytes: 64 * 1024 }), rec);
    if (!(camera instanceof HttpPushCamera)) throw new Error('factory did not build an HttpPushCamera');
    expect(() => camera.push(Buffer.alloc(10))).toThrow(UserError);
    await camera.start();
    expect(camera.status().state).toBe('starting');

    const png = await readFile(path.join(FACES, 'raj', 'raj1.png'));
    const jpeg = await sharp(png).jpeg().toBuffer();
    const before = Date.now();
    const seqs = [camera.push(png), camera.push(jpeg), camera.push(png)].map((f) => f.seq);
    expect(seqs).toEqual([1, 2, 3]);
    expect(rec.frames.map((f) => f.seq)).toEqual([1, 2, 3]);
    expect(rec.frames[1]!.bytes).toBe(jpeg);
    expect(rec.frames[0]!.atMs).toBeGreaterThanOrEqual(before);

    expect(() => camera.push(Buffer.from('GIF89a not accepted'))).toThrow(expect.objectContaining({ code: 'invalid-image' }));
    const huge = Buffer.concat([jpeg, Buffer.alloc(64 * 1024)]);
    expect(() => camera.push(huge)).toThrow(ImageError);
    expect(camera.status()).toMatchObject({ state: 'running', framesIn: 3, framesDropped: 2 });

    await camera.stop();
    expect(() => camera.push(png)).toThrow(expect.objectContaining({ code: 'camera-stopped' }));
    expect(rec.states()).toEqual(['starting', 'running', 'stopped']);
  });
});

describe('WebcamSnapshotCamera', () => {
  it('without fswebcam says what to install, keeps retrying, and stops cleanly', async () => {
    const emptyPath = await mkdtemp(path.join(work, 'no-tools-'));
    const rec = new Recorder();
    const config = cameraConfigSchema.parse({ kind: 'webcam', retryInitialMs: 100, retryMaxMs: 200 });
    if (config.kind !== 'webcam') throw new Error('unexpected kind');
    const camera = new WebcamSnapshotCamera({ ...config, lane: 'cam' }, rec, undefined, { platform: 'linux', env: { PATH: emptyPath } });
    cleanups.push(() => camera.stop());
    await camera.start();
    await rec.until('three retries', () => rec.retryDelaysMs().length >= 3, 3000);
    const { detail } = camera.status();
    expect(detail).toContain('fswebcam was not found on PATH');
    expect(detail).toContain('sudo apt-get install fswebcam');
    expect(detail).toContain('kind "ffmpeg"');
    expect(rec.retryDelaysMs().slice(0, 3)).toEqual([100, 200, 200]);
    await camera.stop();
    expect(camera.status().state).toBe('stopped');
  });

  it('on Windows fails at once and points to the ffmpeg DirectShow input', async () => {
    const rec = new Recorder();
    const config = cameraConfigSchema.parse({ kind: 'webcam' });
    if (config.kind !== 'webcam') throw new Error('unexpected kind');
    const camera = new WebcamSnapshotCamera({ ...config, lane: 'cam' }, rec, undefined, { platform: 'win32', env: {} });
    await camera.start();
    expect(camera.status().state).toBe('failed');
    expect(camera.status().detail).toMatch(/CommandCam.*kind "ffmpeg".*video=<camera name>.*DirectShow/);
  });
});

describe('cameraConfigSchema', () => {
  it('fills defaults and refuses unsafe or mistyped settings', () => {
    expect(cameraConfigSchema.parse({ kind: 'ffmpeg', input: { type: 'usb', device: '/dev/video0' } })).toEqual({
      kind: 'ffmpeg', input: { type: 'usb', device: '/dev/video0' }, fps: 5, jpegQuality: 5,
      retryInitialMs: 1000, retryMaxMs: 30_000, stallTimeoutMs: 15_000, stopGraceMs: 3000, stderrTailLines: 5,
      maxFrameBytes: 8 * 1024 * 1024,
    });
    expect(cameraConfigSchema.safeParse({ kind: 'ffmpeg', input: { type: 'rtsp', url: 'file:///etc/passwd' } }).success).toBe(false);
    expect(cameraConfigSchema.safeParse({ kind: 'webcam', device: '/dev/video0; rm -rf ~' }).success).toBe(false);
    expect(cameraConfigSchema.safeParse({ kind: 'webcam', retryInitialMs: 5000, retryMaxMs: 1000 }).success).toBe(false);
    expect(cameraConfigSchema.safeParse({ kind: 'replay', folder: 'x', fpss: 2 }).success).toBe(false);
  });
});
