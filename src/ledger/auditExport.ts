import type { AuditEntry } from './types.js';

/**
 * The processing log as CSV (RFC 4180: CRLF line ends, fields with a comma, quote or line
 * break quoted, quotes doubled). The column order is what regulators' and merchants' tools
 * import; append columns, never reorder them.
 */
export const AUDIT_CSV_HEADER = 'at,actor,action,subject,details\r\n';

// A cell starting with one of these is run as a formula by Excel and LibreOffice; an actor
// label such as "=HYPERLINK(...)" must stay text when the admin opens the export.
const FORMULA_START = /^[=+\-@\t\r]/;

/** One entry as a CSV line; `details` is compact JSON, exactly as stored. */
export function auditCsvRow(entry: AuditEntry): string {
  const fields = [
    new Date(entry.atMs).toISOString(),
    entry.actor,
    entry.action,
    entry.subject ?? '',
    entry.details === null ? '' : JSON.stringify(entry.details),
  ];
  return `${fields.map(csvField).join(',')}\r\n`;
}

/** One CSV cell: RFC 4180 quoting, and a leading ' where a spreadsheet would take the text for a formula. */
export function csvField(value: string): string {
  const text = FORMULA_START.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}
