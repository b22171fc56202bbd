import { z } from 'zod';

/**
 * Settings for one lane's code scanner, one shape per kind of source. The settings owner
 * embeds `scannerConfigSchema` per lane; the lane id itself lives beside it, not inside.
 */

// The longest code the service accepts is a member QR of under 120 characters; 512 leaves
// room for scanner prefixes while keeping a runaway device from growing memory.
const maxCodeLength = z.number().int().min(32).max(4096).default(512)
  .describe('Longest code accepted, in characters; a longer one is dropped whole and counted');

const partialCodeTimeoutMs = z.number().int().min(50).max(60_000).default(1000)
  .describe('A code still missing its terminator after this long is dropped, so the rest of an interrupted scan does not become the start of the next one. Scanners send a whole code within ~100 ms');

const retryInitialMs = z.number().int().min(50).default(1000)
  .describe('Wait before the first reopen after the scanner went away (unplugged, no permission); doubles on each failure');

const retryMaxMs = z.number().int().min(50).default(30_000)
  .describe('Longest wait between reopen attempts');

const retryOrder = (c: { retryInitialMs: number; retryMaxMs: number }) => c.retryMaxMs >= c.retryInitialMs;
const retryOrderMessage = { message: 'retryMaxMs must be at least retryInitialMs', path: ['retryMaxMs'] };

export const httpScannerConfigSchema = z
  .object({
    kind: z.literal('http'),
    maxCodeLength,
  })
  .strict();

export const stdinScannerConfigSchema = z
  .object({
    kind: z.literal('stdin'),
    path: z.string().min(1).optional()
      .describe('Read codes from this named pipe (mkfifo) instead of standard input, e.g. for `echo CODE > /tmp/lane-1.scans`; reopened after each writer closes it. Unset = standard input'),
    maxCodeLength,
  })
  .strict();

export const serialScannerConfigSchema = z
  .object({
    kind: z.literal('serial'),
    path: z.string().min(1)
      .describe('Serial device of the scanner. Linux: prefer /dev/serial/by-id/usb-… over /dev/ttyACM0, which can change after a replug. Windows: COM3'),
    baudRate: z.number().int().positive().default(9600)
      .describe('Must match the scanner (USB CDC-ACM scanners ignore it; RS-232 ones are usually 9600 or 115200). 8 data bits, no parity, 1 stop bit'),
    terminator: z.enum(['cr-or-lf', 'cr', 'lf']).default('cr-or-lf')
      .describe('What ends a code: cr-or-lf accepts CR, LF and CRLF, the scanner factory settings'),
    partialCodeTimeoutMs,
    retryInitialMs,
    retryMaxMs,
    maxCodeLength,
  })
  .strict()
  .refine(retryOrder, retryOrderMessage);

export const keyboardWedgeScannerConfigSchema = z
  .object({
    kind: z.literal('keyboard-wedge'),
    device: z.string().min(1)
      .describe('Linux evdev device of a scanner that types like a keyboard (US layout, Enter after each code). Prefer /dev/input/by-id/usb-…-event-kbd: /dev/input/eventN numbers change between boots. The service user needs read access (group input)'),
    pollIntervalMs: z.number().int().min(1).max(50).default(5)
      .describe('Wait between reads once the device has nothing to say. The kernel keeps only about 64 key events (5–10 characters) per reader, so keep this well under the time a scanner needs to type that many'),
    partialCodeTimeoutMs,
    retryInitialMs,
    retryMaxMs,
    maxCodeLength,
  })
  .strict()
  .refine(retryOrder, retryOrderMessage);

export const scannerConfigSchema = z
  .discriminatedUnion('kind', [
    httpScannerConfigSchema,
    stdinScannerConfigSchema,
    serialScannerConfigSchema,
    keyboardWedgeScannerConfigSchema,
  ])
  .describe('Code scanner of the lane: http (codes POSTed to /api/lanes/:lane/scans), stdin (standard input or a named pipe, for local testing), serial (USB-serial or RS-232 scanner) or keyboard-wedge (Linux evdev scanner that types like a keyboard)');

export type ScannerConfig = z.output<typeof scannerConfigSchema>;
export type ScannerConfigInput = z.input<typeof scannerConfigSchema>;
export type HttpScannerConfig = z.output<typeof httpScannerConfigSchema>;
export type StdinScannerConfig = z.output<typeof stdinScannerConfigSchema>;
export type SerialScannerConfig = z.output<typeof serialScannerConfigSchema>;
export type KeyboardWedgeScannerConfig = z.output<typeof keyboardWedgeScannerConfigSchema>;
