import { StringDecoder } from 'node:string_decoder';
import type { SerialPort } from 'serialport';
import { errorMessage } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { ReconnectingScanner } from './reconnectingScanner.js';
import type { SerialScannerConfig } from './scannerConfigSchema.js';
import type { ScannerCallbacks } from './scannerSource.js';

export type SerialScannerOptions = Omit<SerialScannerConfig, 'kind'> & { lane: string };

type SerialPortModule = typeof import('serialport');

/**
 * A USB-serial (CDC-ACM) or RS-232 scanner: each code arrives as bytes ending in CR and/or
 * LF. Unplugging the scanner closes the port; the source keeps reopening the path with
 * backoff, so plugging it back in is all a cashier has to do.
 *
 * `serialport` is imported when the source starts, not when this file loads: its native
 * binding is needed only by lanes that have a serial scanner, and a binding that fails to
 * load on some till must fail this lane with a clear status, not the whole service.
 */
export class SerialScanner extends ReconnectingScanner {
  readonly kind = 'serial' as const;
  private port: SerialPort | undefined;
  private decoder = new StringDecoder('utf8');

  constructor(
    private readonly options: SerialScannerOptions,
    callbacks: ScannerCallbacks,
    log?: Logger,
  ) {
    super(options.path, options, options.terminator, callbacks, log);
  }

  async stop(): Promise<void> {
    this.stopRetrying();
    const port = this.port;
    this.port = undefined;
    if (port?.isOpen) await new Promise<void>((resolve) => port.close(() => resolve()));
    this.assembler.discardPartial('scanner stopped');
    if (this.currentState !== 'stopped') this.setState('stopped', 'stopped by the service');
  }

  protected async connect(): Promise<void> {
    let serialport: SerialPortModule;
    try {
      serialport = await import('serialport');
    } catch (err) {
      this.active = false;
      this.setState('failed', `the serialport package cannot be loaded (${errorMessage(err)}); run \`npm install\` on this till, or use a keyboard-wedge or HTTP scanner`);
      return;
    }
    if (!this.active) return;
    const { path, baudRate } = this.options;
    const port = new serialport.SerialPort({ path, baudRate, dataBits: 8, parity: 'none', stopBits: 1, autoOpen: false });
    const openError = await new Promise<Error | null>((resolve) => port.open(resolve));
    if (openError) {
      this.scheduleRetry(openFailureDetail(path, openError));
      return;
    }
    if (!this.active) {
      port.close();
      return;
    }
    this.port = port;
    this.decoder = new StringDecoder('utf8');
    this.backoff.reset();
    port.on('data', (chunk: Buffer) => this.assembler.push(this.decoder.write(chunk), Date.now()));
    // 'error' without a listener would be thrown; a read error is followed by 'close'.
    port.on('error', (err: Error) => this.log.warn({ lane: this.lane, err: err.message }, 'serial scanner error'));
    port.on('close', (err: (Error & { disconnected?: boolean }) | null) => {
      if (this.port !== port) return;
      this.port = undefined;
      this.assembler.discardPartial('the port closed');
      if (!this.active) return;
      this.scheduleRetry(err?.disconnected
        ? `the scanner on ${path} went away (unplugged?)`
        : `${path} closed${err ? `: ${err.message}` : ''}`);
    });
    this.setState('running', `reading codes from ${path} at ${baudRate} baud`);
  }
}

function openFailureDetail(path: string, err: Error): string {
  const message = err.message;
  if (/ENOENT|no such file|cannot find|file not found/i.test(message)) return `no device at ${path}: is the scanner plugged in? (${message})`;
  if (/EACCES|permission denied|access denied/i.test(message)) {
    return `no permission to open ${path}: on Linux add the service user to the dialout group (${message})`;
  }
  if (/EBUSY|resource busy|cannot lock/i.test(message)) return `${path} is in use by another program (${message})`;
  return `cannot open ${path}: ${message}`;
}
