/**
 * Cuts the character stream of a scanner into codes, one per terminator, within a fixed
 * memory bound: a scanner (or a cable with noise on it) that never sends a terminator must
 * not grow a buffer without limit. An over-long code is dropped whole, up to its
 * terminator, rather than cut, because a cut payment code would be a different code.
 */

export type ScannerLineTerminator = 'cr-or-lf' | 'cr' | 'lf';

export interface ScannerLineAssemblerOptions {
  maxCodeLength: number;
  /** `cr-or-lf` ends a code at CR, LF or CRLF; empty lines between are ignored. */
  terminator: ScannerLineTerminator;
  /**
   * A partial code older than this is dropped when more input arrives: the rest of an
   * interrupted scan must not become the prefix of the next one. Unset = never.
   */
  partialCodeTimeoutMs?: number;
}

export interface ScannerLineSink {
  code(code: string): void;
  dropped(why: string): void;
}

const CR = 0x0d;
const LF = 0x0a;

export class ScannerLineAssembler {
  private buffer = '';
  private overflowing = false;
  private lastInputAtMs = 0;

  constructor(
    private readonly options: ScannerLineAssemblerOptions,
    private readonly sink: ScannerLineSink,
  ) {}

  /** `nowMs` is when the text arrived, on any clock that only moves forward between calls. */
  push(text: string, nowMs: number): void {
    const timeoutMs = this.options.partialCodeTimeoutMs;
    if (timeoutMs !== undefined && nowMs - this.lastInputAtMs > timeoutMs) {
      this.discardPartial(`no terminator within ${timeoutMs} ms`);
    }
    this.lastInputAtMs = nowMs;
    let start = 0;
    for (let i = 0; i < text.length; i += 1) {
      if (this.isTerminator(text.charCodeAt(i))) {
        this.append(text.slice(start, i));
        this.finish();
        start = i + 1;
      }
    }
    if (start < text.length) this.append(text.slice(start));
  }

  /** Throws away a code in progress, e.g. when the device went away mid-scan. */
  discardPartial(why: string): void {
    if (this.buffer !== '') this.sink.dropped(`incomplete code: ${why}`);
    this.buffer = '';
    this.overflowing = false;
  }

  /** Forgets a code in progress without counting it, for a caller that counted it itself. */
  clear(): void {
    this.buffer = '';
    this.overflowing = false;
  }

  private isTerminator(charCode: number): boolean {
    switch (this.options.terminator) {
      case 'cr-or-lf':
        return charCode === CR || charCode === LF;
      case 'cr':
        return charCode === CR;
      case 'lf':
        return charCode === LF;
    }
  }

  private append(piece: string): void {
    if (this.overflowing || piece === '') return;
    if (this.buffer.length + piece.length > this.options.maxCodeLength) {
      this.buffer = '';
      this.overflowing = true;
      this.sink.dropped(`code longer than ${this.options.maxCodeLength} characters`);
      return;
    }
    this.buffer += piece;
  }

  private finish(): void {
    const code = this.buffer;
    this.buffer = '';
    if (this.overflowing) {
      this.overflowing = false;
      return;
    }
    if (code !== '') this.sink.code(code);
  }
}
