import type { Logger } from '../core/logger.js';
import type { ScannerConfig } from './scannerConfigSchema.js';
import { HttpScanner } from './scannerHttp.js';
import { KeyboardWedgeScanner } from './scannerKeyboardWedge.js';
import { SerialScanner } from './scannerSerial.js';
import type { ScannerCallbacks } from './scannerSource.js';
import { StdinScanner } from './scannerStdin.js';

export { scannerConfigSchema, type ScannerConfig, type ScannerConfigInput } from './scannerConfigSchema.js';

/** Narrow on `kind`, e.g. `kind === 'http'` gives the source whose push() the scans route calls. */
export type AnyScannerSource = HttpScanner | StdinScanner | SerialScanner | KeyboardWedgeScanner;

/** Builds the scanner of one lane from its parsed settings; nothing runs until start(). */
export function createScannerSource(lane: string, config: ScannerConfig, callbacks: ScannerCallbacks, log?: Logger): AnyScannerSource {
  switch (config.kind) {
    case 'http':
      return new HttpScanner({ ...config, lane }, callbacks, log);
    case 'stdin':
      return new StdinScanner({ ...config, lane }, callbacks, log);
    case 'serial':
      return new SerialScanner({ ...config, lane }, callbacks, log);
    case 'keyboard-wedge':
      return new KeyboardWedgeScanner({ ...config, lane }, callbacks, log);
  }
}
