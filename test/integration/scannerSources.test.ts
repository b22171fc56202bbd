import { execFile, spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtemp, open, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { UserError } from '../../src/core/errors.js';
import { HttpScanner } from '../../src/sources/scannerHttp.js';
import { KEYBOARD_WEDGE_GRAB_NOTE, KeyboardWedgeScanner } from '../../src/sources/scannerKeyboardWedge.js';
import { SerialScanner } from '../../src/sources/scannerSerial.js';
import type { Scan, ScannerCallbacks, ScannerState, ScannerStatusReport } from '../../src/sources/scannerSource.js';
import { createScannerSource, scannerConfigSchema, type ScannerConfigInput } from '../../src/sources/scannerSourceFactory.js';
import { StdinScanner } from '../../src/sources/scannerStdin.js';

const run = promisify(execFile);

let work: string;
const cleanups: Array<() => Promise<void> | void> = [];

/** Records everything a source reports, and waits for conditions on it. */
class Recorder implements ScannerCallbacks {
  readonly scans: Scan[] = [];
  readonly reports: ScannerStatusReport[] = [];

  onScan(scan: Scan): void {
    this.scans.push(scan);
  }

  onStatus(report: ScannerStatusReport): void {
    this.reports.push(report);
  }

  codes(): string[] {
    return this.scans.map((s) => s.code);
  }

  states(): ScannerState[] {
    return this.reports.map((r) => r.state);
  }

  async until(what: string, condition: () => boolean, timeoutMs = 8000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!condition()) {
      if (Date.now() > deadline) {
        throw new Error(`timed out waiting for ${what}; codes ${JSON.stringify(this.codes())}; states ${this.states().join(' → ')}; last detail: ${this.reports.at(-1)?.detail}`);
      }
      await sleep(10);
    }
  }
}

function build(lane: string, input: ScannerConfigInput, recorder: Recorder) {
  const source = createScannerSource(lane, scannerConfigSchema.parse(input), recorder);
  cleanups.push(() => source.stop());
  return source;
}

async function mkfifo(name: string): Promise<string> {
  const fifo = path.join(work, name);
  await run('mkfifo', [fifo]);
  return fifo;
}

beforeAll(async () => {
  work = await mkdtemp(path.join(tmpdir(), 'memberlens-scanners-'));
});

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

describe('scanner settings', () => {
  it('fills the defaults of every kind', () => {
    expect(scannerConfigSchema.parse({ kind: 'http' })).toEqual({ kind: 'http', maxCodeLength: 512 });
    expect(scannerConfigSchema.parse({ kind: 'stdin' })).toEqual({ kind: 'stdin', maxCodeLength: 512 });
    expect(scannerConfigSchema.parse({ kind: 'serial', path: '/dev/ttyACM0' })).toEqual({
      kind: 'serial', path: '/dev/ttyACM0', baudRate: 9600, terminator: 'cr-or-lf',
      partialCodeTimeoutMs: 1000, retryInitialMs: 1000, retryMaxMs: 30_000, maxCodeLength: 512,
    });
    expect(scannerConfigSchema.parse({ kind: 'keyboard-wedge', device: '/dev/input/event3' })).toEqual({
      kind: 'keyboard-wedge', device: '/dev/input/event3', pollIntervalMs: 5,
      partialCodeTimeoutMs: 1000, retryInitialMs: 1000, retryMaxMs: 30_000, maxCodeLength: 512,
    });
  });

  it('refuses unknown kinds, unknown keys and a backoff that shrinks', () => {
    expect(scannerConfigSchema.safeParse({ kind: 'bluetooth' }).success).toBe(false);
    expect(scannerConfigSchema.safeParse({ kind: 'serial', path: '/dev/ttyS0', baud: 9600 }).success).toBe(false);
    const shrinking = scannerConfigSchema.safeParse({ kind: 'keyboard-wedge', device: '/dev/input/event3', retryInitialMs: 5000, retryMaxMs: 1000 });
    expect(shrinking.success).toBe(false);
    expect(JSON.stringify(shrinking.error?.issues)).toContain('retryMaxMs must be at least retryInitialMs');
  });

  it('describes every setting for the settings reference', () => {
    expect(scannerConfigSchema.description).toMatch(/keyboard-wedge/);
    const descriptions = z4Describe();
    expect(Object.keys(descriptions)).toHaveLength(16);
    expect(Object.entries(descriptions).filter(([, text]) => text === undefined)).toEqual([]);
  });

  it('builds the source of each kind', () => {
    const rec = new Recorder();
    expect(build('L1', { kind: 'http' }, rec)).toBeInstanceOf(HttpScanner);
    expect(build('L1', { kind: 'stdin' }, rec)).toBeInstanceOf(StdinScanner);
    expect(build('L1', { kind: 'serial', path: '/dev/null' }, rec)).toBeInstanceOf(SerialScanner);
    expect(build('L1', { kind: 'keyboard-wedge', device: '/dev/null' }, rec)).toBeInstanceOf(KeyboardWedgeScanner);
  });
});

/** Every option's description, to check none was forgotten. */
function z4Describe(): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {};
  for (const option of scannerConfigSchema.options) {
    const shape = ('shape' in option ? option.shape : {}) as Record<string, { description?: string }>;
    for (const [key, field] of Object.entries(shape)) {
      if (key !== 'kind') out[`${option.shape.kind.value}.${key}`] = field.description;
    }
  }
  return out;
}

describe('HttpScanner', () => {
  it('delivers pushed codes while running and refuses them otherwise', async () => {
    const rec = new Recorder();
    const scanner = build('L2', { kind: 'http', maxCodeLength: 32 }, rec) as HttpScanner;
    expect(() => scanner.push('134567890123456789')).toThrow(UserError);
    await scanner.start();
    expect(scanner.status().state).toBe('running');
    const scan = scanner.push('134567890123456789\r\n');
    expect(scan).toMatchObject({ lane: 'L2', code: '134567890123456789' });
    expect(Math.abs(scan.atMs - Date.now())).toBeLessThan(1000);
    expect(() => scanner.push('9'.repeat(33))).toThrow(expect.objectContaining({ code: 'scan-too-long', message: expect.not.stringContaining('999') }));
    expect(() => scanner.push('\r\n')).toThrow(expect.objectContaining({ code: 'empty-scan' }));
    expect(scanner.status()).toMatchObject({ state: 'running', scansIn: 1, scansDropped: 2 });
    await scanner.stop();
    expect(() => scanner.push('1')).toThrow(expect.objectContaining({ code: 'scanner-stopped' }));
  });
});

describe('StdinScanner', () => {
  it('reads LF, CRLF and CR lines from a stream, across chunk boundaries, dropping over-long lines whole', async () => {
    const input = new PassThrough();
    const rec = new Recorder();
    const scanner = new StdinScanner({ lane: 'L3', maxCodeLength: 40, input }, rec);
    cleanups.push(() => scanner.stop());
    await scanner.start();
    input.write('13456789012345');
    input.write('6789\r');
    input.write('\n2812345678901234\n\n');
    input.write(`${'7'.repeat(30)}`);
    input.write(`${'7'.repeat(30)}\r\n`); // 60 characters: over the limit, dropped whole
    input.write('ML1.m_abc.xyz.sig\rlast');
    await rec.until('three codes', () => rec.scans.length === 3);
    expect(rec.codes()).toEqual(['134567890123456789', '2812345678901234', 'ML1.m_abc.xyz.sig']);
    expect(rec.scans.every((s) => s.lane === 'L3')).toBe(true);
    // The unterminated 'last' is dropped when the input ends, never delivered half-typed.
    input.end();
    await rec.until('the end of input', () => scanner.status().state === 'stopped');
    expect(scanner.status()).toMatchObject({ scansIn: 3, scansDropped: 2, detail: 'the input ended' });
  });

  it('reads a named pipe, again after each writer closes it', async () => {
    const fifo = await mkfifo('lane4.scans');
    const rec = new Recorder();
    const scanner = build('L4', { kind: 'stdin', path: fifo }, rec);
    await scanner.start();
    expect(scanner.status()).toMatchObject({ state: 'running', detail: expect.stringContaining(fifo) });
    // Separate shell writers, as a person would use it: each opens, writes and closes the pipe.
    await run('sh', ['-c', `printf '6212345678901234567\\r\\n0112345678901234567\\n' > "${fifo}"`]);
    await rec.until('two codes from the first writer', () => rec.scans.length === 2);
    await run('sh', ['-c', `printf '13812345678\\n' > "${fifo}"`]);
    await rec.until('a code from the second writer', () => rec.scans.length === 3);
    expect(rec.codes()).toEqual(['6212345678901234567', '0112345678901234567', '13812345678']);
    const stopStartedMs = Date.now();
    await scanner.stop();
    expect(Date.now() - stopStartedMs).toBeLessThan(500);
  });

  it('fails clearly when the pipe does not exist or is not a pipe', async () => {
    const rec = new Recorder();
    await build('L5', { kind: 'stdin', path: path.join(work, 'missing.fifo') }, rec).start();
    expect(rec.reports.at(-1)).toMatchObject({ state: 'failed', detail: expect.stringContaining('mkfifo') });
    const plain = path.join(work, 'plain.txt');
    await writeFile(plain, '13812345678\n');
    await build('L5', { kind: 'stdin', path: plain }, rec).start();
    expect(rec.reports.at(-1)).toMatchObject({ state: 'failed', detail: expect.stringContaining('not a named pipe') });
  });
});

/**
 * A pseudo-terminal standing in for a USB-serial scanner: python3 opens it, links the
 * terminal side to a fixed path (as /dev/serial/by-id does) and writes to the other side the
 * hex-encoded bytes it is given on stdin. Closing it is what unplugging the scanner looks like.
 */
const PTY_HELPER = `
import os, pty, sys, tty
master, slave = pty.openpty()
tty.setraw(slave)
link = sys.argv[1]
if os.path.lexists(link): os.unlink(link)
os.symlink(os.ttyname(slave), link)
print("ready", flush=True)
for line in sys.stdin:
    line = line.strip()
    if line == "unplug": break
    os.write(master, bytes.fromhex(line))
os.unlink(link)
os.close(master)
os.close(slave)
`;

class FakeSerialScanner {
  private constructor(private readonly child: ChildProcessWithoutNullStreams) {}

  static async plugIn(link: string): Promise<FakeSerialScanner> {
    const child = spawn('python3', ['-c', PTY_HELPER, link]);
    cleanups.push(() => { child.kill(); });
    await new Promise<void>((resolve, reject) => {
      child.once('error', reject);
      child.stdout.once('data', () => resolve());
    });
    return new FakeSerialScanner(child);
  }

  send(bytes: string): void {
    this.child.stdin.write(`${Buffer.from(bytes, 'latin1').toString('hex')}\n`);
  }

  async unplug(): Promise<void> {
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    this.child.stdin.write('unplug\n');
    await exited;
  }
}

describe('SerialScanner', () => {
  it('reads CR, LF and CRLF codes from a serial terminal and comes back after an unplug', async () => {
    const link = path.join(work, 'ttyScanner');
    let device = await FakeSerialScanner.plugIn(link);
    const rec = new Recorder();
    const scanner = build('L6', { kind: 'serial', path: link, baudRate: 115_200, retryInitialMs: 100, retryMaxMs: 400 }, rec);
    await scanner.start();
    expect(scanner.status()).toMatchObject({ state: 'running', detail: `reading codes from ${link} at 115200 baud` });

    device.send('1345678901');
    device.send('23456789\r');
    device.send('2912345678901234\n');
    device.send('ML1.m_00ff.k3l2.AbC-_x\r\n');
    await rec.until('three codes', () => rec.scans.length === 3);
    expect(rec.codes()).toEqual(['134567890123456789', '2912345678901234', 'ML1.m_00ff.k3l2.AbC-_x']);

    // Half a code, then the cable is pulled: the half is dropped, never delivered.
    device.send('62123456');
    await sleep(100);
    await device.unplug();
    await rec.until('a retry after the unplug', () => scanner.status().state === 'retrying');
    expect(scanner.status().detail).toMatch(/went away|closed/);
    await rec.until('a failed reopen', () => /is the scanner plugged in\?/.test(scanner.status().detail ?? ''));

    device = await FakeSerialScanner.plugIn(link);
    await rec.until('the port reopened', () => scanner.status().state === 'running');
    device.send('0112345678901234567\r\n');
    await rec.until('a code after the replug', () => rec.scans.length === 4);
    expect(rec.codes().at(-1)).toBe('0112345678901234567');
    expect(scanner.status()).toMatchObject({ scansIn: 4, scansDropped: 1 });
  });

  it('drops the rest of an interrupted code and codes over the length limit', async () => {
    const link = path.join(work, 'ttyScanner2');
    const device = await FakeSerialScanner.plugIn(link);
    const rec = new Recorder();
    const scanner = build('L7', { kind: 'serial', path: link, partialCodeTimeoutMs: 100, maxCodeLength: 32 }, rec);
    await scanner.start();
    device.send('134567');
    await sleep(400);
    device.send('13812345678\r');
    device.send(`${'8'.repeat(40)}\r`);
    device.send('13912345678\r');
    await rec.until('two codes', () => rec.scans.length === 2);
    expect(rec.codes()).toEqual(['13812345678', '13912345678']);
    expect(scanner.status().scansDropped).toBe(2);
  });
});

// Linux key codes from include/uapi/linux/input-event-codes.h, written out here rather than
// taken from the source so that a wrong entry in its keymap fails these tests.
const EV_SYN = 0;
const EV_KEY = 1;
const EV_MSC = 4;
const MSC_SCAN = 4;
const SYN_REPORT = 0;
const SYN_DROPPED = 3;
const KEY = {
  ENTER: 28, KPENTER: 96, LEFTSHIFT: 42, RIGHTSHIFT: 54, LEFTCTRL: 29, F1: 59,
  MINUS: 12, DOT: 52, SLASH: 53, SEMICOLON: 39,
} as const;
const DIGIT_KEYS: Record<string, number> = { 1: 2, 2: 3, 3: 4, 4: 5, 5: 6, 6: 7, 7: 8, 8: 9, 9: 10, 0: 11 };
const LETTER_KEYS: Record<string, number> = {
  q: 16, w: 17, e: 18, r: 19, t: 20, y: 21, u: 22, i: 23, o: 24, p: 25,
  a: 30, s: 31, d: 32, f: 33, g: 34, h: 35, j: 36, k: 37, l: 38,
  z: 44, x: 45, c: 46, v: 47, b: 48, n: 49, m: 50,
};

/** `input_event` records as an x86_64 kernel hands them to a reader: 24 bytes each. */
class EvdevRecording {
  private readonly events: Buffer[] = [];
  constructor(private atUs = BigInt(Date.now()) * 1000n) {}

  event(type: number, code: number, value: number, advanceUs = 1000): this {
    this.atUs += BigInt(advanceUs);
    const record = Buffer.alloc(24);
    record.writeBigInt64LE(this.atUs / 1_000_000n, 0);
    record.writeBigInt64LE(this.atUs % 1_000_000n, 8);
    record.writeUInt16LE(type, 16);
    record.writeUInt16LE(code, 18);
    record.writeInt32LE(value, 20);
    this.events.push(record);
    return this;
  }

  /** A key stroke the way a USB keyboard reports it: scan code, key, sync; then the release. */
  key(code: number, value: 1 | 0 = 1): this {
    this.event(EV_MSC, MSC_SCAN, 0x70000 + code).event(EV_KEY, code, value, 0).event(EV_SYN, SYN_REPORT, 0, 0);
    return value === 1 ? this.key(code, 0) : this;
  }

  shifted(code: number, shiftKey: number = KEY.LEFTSHIFT): this {
    this.event(EV_KEY, shiftKey, 1).event(EV_SYN, SYN_REPORT, 0, 0);
    this.key(code);
    return this.event(EV_KEY, shiftKey, 0).event(EV_SYN, SYN_REPORT, 0, 0);
  }

  type(text: string, enter: number = KEY.ENTER): this {
    for (const char of text) {
      const lower = char.toLowerCase();
      if (char in DIGIT_KEYS) this.key(DIGIT_KEYS[char]!);
      else if (lower in LETTER_KEYS) {
        if (char === lower) this.key(LETTER_KEYS[lower]!);
        else this.shifted(LETTER_KEYS[lower]!, char === 'M' ? KEY.RIGHTSHIFT : KEY.LEFTSHIFT);
      } else if (char === '.') this.key(KEY.DOT);
      else if (char === '-') this.key(KEY.MINUS);
      else if (char === '_') this.shifted(KEY.MINUS);
      else if (char === '/') this.key(KEY.SLASH);
      else if (char === ':') this.shifted(KEY.SEMICOLON);
      else throw new Error(`the test keyboard has no key for ${char}`);
    }
    return this.key(enter);
  }

  pause(ms: number): this {
    this.atUs += BigInt(ms * 1000);
    return this;
  }

  bytes(): Buffer {
    return Buffer.concat(this.events.splice(0));
  }
}

/** Writes to the FIFO the source reads as its device, in pieces that split events apart. */
async function openWriter(fifo: string) {
  const handle = await open(fifo, 'w');
  cleanups.push(() => handle.close().catch(() => undefined));
  return {
    async write(bytes: Buffer, pieceBytes = 50): Promise<void> {
      for (let at = 0; at < bytes.length; at += pieceBytes) await handle.write(bytes.subarray(at, at + pieceBytes));
    },
    close: () => handle.close(),
  };
}

describe('KeyboardWedgeScanner', () => {
  it('turns recorded key events into codes: shift for capitals and symbols, Enter and keypad Enter end a code', async () => {
    const fifo = await mkfifo('event-kbd');
    const rec = new Recorder();
    const scanner = build('L8', { kind: 'keyboard-wedge', device: fifo }, rec);
    await scanner.start();
    expect(scanner.status()).toMatchObject({ state: 'running', detail: expect.stringContaining(KEYBOARD_WEDGE_GRAB_NOTE) });
    expect(scanner.status().detail).toMatch(/LIBINPUT_IGNORE_DEVICE.*xinput disable/);

    const writer = await openWriter(fifo);
    const recording = new EvdevRecording()
      .type('134567890123456789')
      .type('ML1.m_0a1b-Zz.k3l2/x:Y_9', KEY.KPENTER);
    await writer.write(recording.bytes());
    await rec.until('two codes', () => rec.scans.length === 2);
    expect(rec.codes()).toEqual(['134567890123456789', 'ML1.m_0a1b-Zz.k3l2/x:Y_9']);
    expect(rec.scans.every((s) => s.lane === 'L8')).toBe(true);
  });

  it('drops a code the kernel lost events of, or that has keys no code is made of, and keeps the next', async () => {
    const fifo = await mkfifo('event-kbd2');
    const rec = new Recorder();
    const scanner = build('L9', { kind: 'keyboard-wedge', device: fifo, maxCodeLength: 32 }, rec);
    await scanner.start();
    const writer = await openWriter(fifo);
    const recording = new EvdevRecording();
    // Lost events mid-code: the digits before and after must not be joined into a code.
    recording.key(2).key(3).event(EV_SYN, SYN_DROPPED, 0).key(4).key(KEY.ENTER);
    recording.type('13812345678');
    // F1 is no character; Ctrl+J is a control code from a scanner in the wrong mode.
    recording.key(DIGIT_KEYS['1']!).key(KEY.F1).type('99');
    recording.event(EV_KEY, KEY.LEFTCTRL, 1).key(LETTER_KEYS.j!).event(EV_KEY, KEY.LEFTCTRL, 0).type('5');
    recording.type('7'.repeat(40));
    // Half a code, then a pause well past partialCodeTimeoutMs: the next code stands alone.
    recording.key(DIGIT_KEYS['6']!).key(DIGIT_KEYS['2']!).pause(3000).type('13912345678');
    await writer.write(recording.bytes(), 7);
    await rec.until('two codes', () => rec.scans.length === 2);
    await sleep(50);
    expect(rec.codes()).toEqual(['13812345678', '13912345678']);
    expect(scanner.status()).toMatchObject({ scansIn: 2, scansDropped: 5 });
  });

  it('reads a file of recorded events, and waits for a device that is not there yet', async () => {
    const device = path.join(work, 'by-id-usb-scanner-event-kbd');
    const rec = new Recorder();
    const scanner = build('L10', { kind: 'keyboard-wedge', device, retryInitialMs: 50, retryMaxMs: 200 }, rec);
    await scanner.start();
    expect(scanner.status()).toMatchObject({ state: 'retrying', detail: expect.stringContaining('is the scanner plugged in?') });
    await writeFile(device, new EvdevRecording().type('0112345678901234567').bytes());
    await rec.until('the recorded code', () => rec.scans.length === 1);
    expect(rec.codes()).toEqual(['0112345678901234567']);
    expect(scanner.status().state).toBe('running');
    const stopStartedMs = Date.now();
    await scanner.stop();
    expect(Date.now() - stopStartedMs).toBeLessThan(500);
    expect(scanner.status().state).toBe('stopped');
  });

  it('reads 16-byte events as a 32-bit kernel writes them', async () => {
    const device = path.join(work, 'event-32bit');
    const events = new EvdevRecording().type('2812345678901234').bytes();
    // Same records with 32-bit seconds and microseconds.
    const narrow = Buffer.alloc((events.length / 24) * 16);
    for (let i = 0; i < events.length / 24; i += 1) {
      narrow.writeInt32LE(Number(events.readBigInt64LE(i * 24)), i * 16);
      narrow.writeInt32LE(Number(events.readBigInt64LE(i * 24 + 8)), i * 16 + 4);
      events.copy(narrow, i * 16 + 8, i * 24 + 16, i * 24 + 24);
    }
    await writeFile(device, narrow);
    const rec = new Recorder();
    const config = scannerConfigSchema.parse({ kind: 'keyboard-wedge', device });
    if (config.kind !== 'keyboard-wedge') throw new Error('parsed the wrong kind');
    const scanner = new KeyboardWedgeScanner({ ...config, lane: 'L11', inputEventBytes: 16 }, rec);
    cleanups.push(() => scanner.stop());
    await scanner.start();
    await rec.until('the recorded code', () => rec.scans.length === 1);
    expect(rec.codes()).toEqual(['2812345678901234']);
  });
});
