/**
 * The contract between a lane's code scanner and the rest of the service. A scanner source
 * only does hardware I/O: it turns what the scanner sends into one string per scan and says
 * how it is doing. Classifying the code (payment, member QR, phone) happens downstream, in
 * fusion/scanClassifier.ts.
 *
 * A scan may be a payment auth code, a one-time bearer token: never log a Scan or its code.
 */

export type ScannerKind = 'http' | 'stdin' | 'serial' | 'keyboard-wedge';

export interface Scan {
  lane: string;
  /** The code as read, terminator removed. */
  code: string;
  /** Wall-clock time the code was complete, in epoch milliseconds. */
  atMs: number;
}

export type ScannerState = 'starting' | 'running' | 'retrying' | 'stopped' | 'failed';

export interface ScannerStatusReport {
  lane: string;
  kind: ScannerKind;
  state: ScannerState;
  /** Written for the operator: what went wrong and what to do about it. */
  detail?: string;
  scansIn: number;
  /** Codes the source threw away (too long, interrupted, unreadable keys), never delivered. */
  scansDropped: number;
}

export interface ScannerSource {
  readonly lane: string;
  readonly kind: ScannerKind;
  start(): Promise<void>;
  stop(): Promise<void>;
  status(): ScannerStatusReport;
}

export interface ScannerCallbacks {
  onScan(scan: Scan): void;
  onStatus(report: ScannerStatusReport): void;
}
