import { constants as fsConstants, fstat, open, close } from 'node:fs';
import { Socket } from 'node:net';
import type { Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { promisify } from 'node:util';
import { errorMessage } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { StdinScannerConfig } from './scannerConfigSchema.js';
import { ScannerLineAssembler } from './scannerLineAssembler.js';
import type { ScannerCallbacks } from './scannerSource.js';
import { ScannerSourceBase } from './scannerSourceBase.js';

const openFd = promisify(open);
const fstatFd = promisify(fstat);
const closeFd = promisify(close);

export type StdinScannerOptions = Omit<StdinScannerConfig, 'kind'> & {
  lane: string;
  /** Stream to read when no `path` is set; process.stdin by default. */
  input?: Readable;
};

/**
 * Codes typed or piped in, one per line (LF or CRLF), for trying the service without a
 * scanner. With `path`, a named pipe is read instead, so `echo CODE > pipe` can be repeated
 * from another terminal. The pipe is opened non-blocking and read through a socket handle:
 * a blocking open or read would hold a libuv worker thread until a writer came, and could
 * not be cancelled by stop().
 */
export class StdinScanner extends ScannerSourceBase {
  readonly kind = 'stdin' as const;
  private active = false;
  private stream: Readable | undefined;
  private decoder = new StringDecoder('utf8');
  private readonly assembler: ScannerLineAssembler;

  constructor(
    private readonly options: StdinScannerOptions,
    callbacks: ScannerCallbacks,
    log?: Logger,
  ) {
    super(options.lane, callbacks, log);
    this.assembler = new ScannerLineAssembler(
      { maxCodeLength: options.maxCodeLength, terminator: 'cr-or-lf' },
      { code: (code) => this.deliver(code), dropped: (why) => this.countDropped(why) },
    );
  }

  async start(): Promise<void> {
    if (this.active) return;
    this.active = true;
    this.setState('starting');
    if (this.options.path === undefined) {
      const input = this.options.input ?? process.stdin;
      this.attach(input, 'standard input');
      input.once('end', this.onEnd);
      return;
    }
    await this.openPipe(this.options.path);
  }

  async stop(): Promise<void> {
    if (!this.active) return;
    this.active = false;
    this.detach();
    this.setState('stopped', 'stopped by the service');
  }

  private async openPipe(path: string): Promise<void> {
    // Opened for reading and writing: while this reader also counts as a writer, a writer
    // closing the pipe is not an end of input, so nothing has to be reopened between
    // `echo` commands and nothing written in between is lost. A plain descriptor, not a
    // FileHandle: the socket takes it over and closes it, and a FileHandle would close it
    // a second time when garbage-collected.
    let fd: number;
    try {
      fd = await openFd(path, fsConstants.O_RDWR | fsConstants.O_NONBLOCK);
    } catch (err) {
      this.active = false;
      this.setState('failed', `cannot open ${path}: ${errorMessage(err)}. Create it with \`mkfifo ${path}\``);
      return;
    }
    const isPipe = (await fstatFd(fd)).isFIFO();
    if (!isPipe || !this.active) {
      await closeFd(fd);
      if (!isPipe) {
        this.active = false;
        this.setState('failed', `${path} is not a named pipe; create one with \`mkfifo ${path}\``);
      }
      return;
    }
    this.attach(new Socket({ fd, readable: true, writable: false }), path);
  }

  private attach(stream: Readable, name: string): void {
    this.stream = stream;
    this.decoder = new StringDecoder('utf8');
    stream.on('data', this.onData);
    stream.on('error', this.onError);
    stream.resume();
    this.setState('running', `reading codes from ${name}, one per line`);
  }

  private detach(): void {
    const stream = this.stream;
    if (stream === undefined) return;
    this.stream = undefined;
    stream.off('data', this.onData);
    stream.off('error', this.onError);
    stream.off('end', this.onEnd);
    this.assembler.push(this.decoder.end(), Date.now());
    this.assembler.discardPartial('input closed');
    // process.stdin belongs to the whole process: pause it, never destroy it.
    if (this.options.path === undefined) stream.pause();
    else stream.destroy();
  }

  private readonly onData = (chunk: Buffer | string): void => {
    const text = typeof chunk === 'string' ? chunk : this.decoder.write(chunk);
    this.assembler.push(text, Date.now());
  };

  private readonly onError = (err: Error): void => {
    this.detach();
    this.active = false;
    this.setState('failed', `reading codes failed: ${err.message}`);
  };

  private readonly onEnd = (): void => {
    this.detach();
    this.active = false;
    this.setState('stopped', 'the input ended');
  };
}
