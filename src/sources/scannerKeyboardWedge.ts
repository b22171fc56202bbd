import { constants as fsConstants } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { endianness } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { errorMessage } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { ReconnectingScanner } from './reconnectingScanner.js';
import type { KeyboardWedgeScannerConfig } from './scannerConfigSchema.js';
import {
  CHORD_MODIFIER_KEYS,
  IGNORED_KEYS,
  KEY_ENTER,
  KEY_KPENTER,
  KEY_LEFTSHIFT,
  KEY_RIGHTSHIFT,
  characterForKey,
} from './scannerEvdevKeymap.js';
import type { ScannerCallbacks } from './scannerSource.js';

export type KeyboardWedgeScannerOptions = Omit<KeyboardWedgeScannerConfig, 'kind'> & {
  lane: string;
  /**
   * Size of one `struct input_event`: a `struct timeval` (two longs) + u16 type + u16 code +
   * s32 value, so 24 bytes where a long is 64-bit and 16 where it is 32-bit. Unset = this
   * machine's.
   */
  inputEventBytes?: 16 | 24;
};

const EV_SYN = 0;
const EV_KEY = 1;
const SYN_DROPPED = 3;
const KEY_RELEASE = 0;

// Events read per call: a whole scanned code of ~40 characters is ~500 events with shift,
// press, release and the kernel's scan-code and sync events; 64 per read drains that in a
// few reads without holding much memory.
const EVENTS_PER_READ = 64;

const ARCHES_WITH_32_BIT_LONG = new Set(['arm', 'ia32', 'mips', 'mipsel', 'ppc', 's390']);

/**
 * Said in the status while running: Node cannot send EVIOCGRAB (an ioctl) without a native
 * addon, and no maintained npm package offers it, so the scanner's keystrokes also reach
 * whatever has keyboard focus on the till.
 */
export const KEYBOARD_WEDGE_GRAB_NOTE =
  'the device is not grabbed, so its keystrokes also reach the desktop: keep them out with a udev rule for this ' +
  'scanner that sets ENV{LIBINPUT_IGNORE_DEVICE}="1" (Wayland and X with libinput), or `xinput disable <id>` in the X session';

/**
 * A scanner that types like a USB keyboard, read from its Linux evdev device
 * (/dev/input/event*) so that codes arrive even when the till's browser has focus
 * elsewhere. Key events become characters with a US layout and Shift; Enter ends a code.
 *
 * The device is opened non-blocking and read on a short timer: a blocking read would hold a
 * libuv worker thread for as long as the scanner is idle and could not be interrupted by
 * stop(). The kernel keeps ~64 events per reader; if reading falls behind, it says so with
 * SYN_DROPPED and the code being typed is dropped rather than delivered with holes in it.
 */
export class KeyboardWedgeScanner extends ReconnectingScanner {
  readonly kind = 'keyboard-wedge' as const;
  private handle: FileHandle | undefined;
  private loop: Promise<void> | undefined;
  private readonly eventBytes: number;
  private readonly littleEndian = endianness() === 'LE';
  private leftShift = false;
  private rightShift = false;
  private readonly chordKeysDown = new Set<number>();
  /** Set when the code being typed is already lost: everything up to the next Enter goes. */
  private droppingUntilEnter = false;

  constructor(
    private readonly options: KeyboardWedgeScannerOptions,
    callbacks: ScannerCallbacks,
    log?: Logger,
  ) {
    super(options.device, options, 'lf', callbacks, log);
    this.eventBytes = options.inputEventBytes ?? (ARCHES_WITH_32_BIT_LONG.has(process.arch) ? 16 : 24);
  }

  async stop(): Promise<void> {
    this.stopRetrying();
    await this.loop;
    if (this.currentState !== 'stopped') this.setState('stopped', 'stopped by the service');
  }

  protected async connect(): Promise<void> {
    const { device } = this.options;
    let handle: FileHandle;
    try {
      handle = await open(device, fsConstants.O_RDONLY | fsConstants.O_NONBLOCK);
    } catch (err) {
      this.scheduleRetry(openFailureDetail(device, err));
      return;
    }
    if (!this.active) {
      await handle.close();
      return;
    }
    this.handle = handle;
    this.resetKeyboardState();
    this.backoff.reset();
    this.setState('running', `reading key events from ${device}; ${KEYBOARD_WEDGE_GRAB_NOTE}`);
    this.loop = this.readLoop(handle);
  }

  private async readLoop(handle: FileHandle): Promise<void> {
    const buffer = Buffer.alloc(this.eventBytes * EVENTS_PER_READ);
    // Only a pipe or file can hand over part of an event; a real evdev device never does.
    let carried = 0;
    let lostReason: string | undefined;
    while (this.active) {
      let bytesRead: number;
      try {
        ({ bytesRead } = await handle.read(buffer, carried, buffer.length - carried, null));
      } catch (err) {
        if (isWouldBlock(err)) {
          await sleep(this.options.pollIntervalMs);
          continue;
        }
        lostReason = `reading ${this.options.device} failed (${errorMessage(err)}): unplugged?`;
        break;
      }
      if (bytesRead === 0) {
        // A pipe with no writer or the end of a recorded file: nothing to read yet.
        await sleep(this.options.pollIntervalMs);
        continue;
      }
      const available = carried + bytesRead;
      const whole = available - (available % this.eventBytes);
      for (let offset = 0; offset < whole; offset += this.eventBytes) this.handleEvent(buffer, offset);
      carried = available - whole;
      buffer.copy(buffer, 0, whole, available);
    }
    this.handle = undefined;
    await handle.close().catch(() => undefined);
    this.assembler.discardPartial(lostReason ?? 'scanner stopped');
    if (lostReason !== undefined) this.scheduleRetry(lostReason);
  }

  private handleEvent(buffer: Buffer, offset: number): void {
    // The two longs of the timeval come first; type, code and value take the last 8 bytes.
    const long = (this.eventBytes - 8) / 2;
    const readLong = (at: number) => (long === 4 ? this.readS32(buffer, at) : Number(this.readS64(buffer, at)));
    const seconds = readLong(offset);
    const microseconds = readLong(offset + long);
    const type = this.readU16(buffer, offset + 2 * long);
    const code = this.readU16(buffer, offset + 2 * long + 2);
    const value = this.readS32(buffer, offset + 2 * long + 4);
    const atMs = seconds * 1000 + microseconds / 1000;

    if (type === EV_SYN && code === SYN_DROPPED) {
      // Shift may have been released in the lost events; Enter may have been lost too.
      this.resetKeyboardState();
      this.beginDropping('the kernel dropped key events because they were not read in time');
      return;
    }
    if (type !== EV_KEY) return;
    if (code === KEY_LEFTSHIFT) this.leftShift = value !== KEY_RELEASE;
    else if (code === KEY_RIGHTSHIFT) this.rightShift = value !== KEY_RELEASE;
    else if (CHORD_MODIFIER_KEYS.has(code)) {
      if (value === KEY_RELEASE) this.chordKeysDown.delete(code);
      else this.chordKeysDown.add(code);
    }
    // A press (1) or an auto-repeat (2) types, as it would on the desktop; a release does not.
    if (value === KEY_RELEASE || code === KEY_LEFTSHIFT || code === KEY_RIGHTSHIFT) return;
    if (CHORD_MODIFIER_KEYS.has(code) || IGNORED_KEYS.has(code)) return;

    if (code === KEY_ENTER || code === KEY_KPENTER) {
      if (this.droppingUntilEnter) {
        this.droppingUntilEnter = false;
        this.assembler.clear();
      } else {
        this.assembler.push('\n', atMs);
      }
      return;
    }
    if (this.droppingUntilEnter) return;
    if (this.chordKeysDown.size > 0) {
      this.beginDropping(`a Ctrl/Alt key combination was typed (key ${code}); set the scanner to plain US keyboard output, not Alt+keypad or control-code emulation`);
      return;
    }
    const character = characterForKey(code, this.leftShift || this.rightShift);
    if (character === undefined) {
      this.beginDropping(`key ${code} types no character a code is made of; set the scanner to US keyboard layout`);
      return;
    }
    this.assembler.push(character, atMs);
  }

  private beginDropping(why: string): void {
    this.assembler.clear();
    this.droppingUntilEnter = true;
    this.countDropped(why);
  }

  private resetKeyboardState(): void {
    this.leftShift = false;
    this.rightShift = false;
    this.chordKeysDown.clear();
  }

  private readU16(buffer: Buffer, at: number): number {
    return this.littleEndian ? buffer.readUInt16LE(at) : buffer.readUInt16BE(at);
  }

  private readS32(buffer: Buffer, at: number): number {
    return this.littleEndian ? buffer.readInt32LE(at) : buffer.readInt32BE(at);
  }

  private readS64(buffer: Buffer, at: number): bigint {
    return this.littleEndian ? buffer.readBigInt64LE(at) : buffer.readBigInt64BE(at);
  }
}

function isWouldBlock(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return code === 'EAGAIN' || code === 'EWOULDBLOCK';
}

function openFailureDetail(device: string, err: unknown): string {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ENOENT') return `no device at ${device}: is the scanner plugged in? Look for it under /dev/input/by-id/`;
  if (code === 'EACCES' || code === 'EPERM') {
    return `no permission to read ${device}: add the service user to the input group, or give the scanner its own group with a udev rule`;
  }
  return `cannot open ${device}: ${errorMessage(err)}`;
}
