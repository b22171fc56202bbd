import { createHash } from 'node:crypto';
import { CsvError, parse } from 'csv-parse/sync';
import { freeTextProblem } from '../core/freeText.js';

/**
 * The CSV files a shop brings from its previous membership system (memberlens import members /
 * purchases), read into rows the import service can write, and every row that cannot be used
 * with its line, field and what to fix. Pure: no database, no clock but the one given.
 *
 * Header names are matched without regard to case, spaces, "_" and "-", and the Chinese names
 * a spreadsheet from a Chinese till system usually has are accepted too (姓名, 手机号, …).
 */

/** One problem with one row, or with the file (line of the header, field ""). Never holds the cell's value: it may be a phone number. */
export interface RejectedRow {
  line: number;
  field: string;
  problem: string;
}

export interface MemberImportRow {
  line: number;
  name: string;
  /** As written; the ledger normalizes it (spaces, dashes, +86). */
  phone: string;
  /** Month and day, "MM-DD": the year of birth is never kept. */
  birthdayMonthDay: string | null;
  tier: string | null;
  points: number;
  storedValueYuan: string;
}

export interface PurchaseImportRow {
  line: number;
  phone: string;
  /** "import:" and the order number, or a digest of the row when the file has none. */
  orderId: string;
  amountYuan: string;
  paidAtMs: number;
}

export interface ReadResult<T> {
  /** Rows of data in the file, the header not counted; 0 when the file itself is unusable. */
  records: number;
  /** The rows that can be imported. */
  rows: T[];
  rejected: RejectedRow[];
}

interface ColumnSpec {
  name: string;
  aliases: string[];
  required: boolean;
}

export const MEMBER_COLUMNS: readonly ColumnSpec[] = [
  { name: 'name', aliases: ['姓名', '会员姓名', '名字'], required: true },
  { name: 'phone', aliases: ['手机', '手机号', '手机号码', '电话', 'mobile'], required: true },
  { name: 'birthday', aliases: ['生日', '出生日期'], required: false },
  { name: 'tier', aliases: ['等级', '会员等级', 'level'], required: false },
  { name: 'points', aliases: ['积分'], required: false },
  { name: 'storedValueYuan', aliases: ['储值', '储值余额', '余额', 'storedValue', 'balance'], required: false },
];

export const PURCHASE_COLUMNS: readonly ColumnSpec[] = [
  { name: 'phone', aliases: ['手机', '手机号', '手机号码', '电话', 'mobile'], required: true },
  { name: 'paidAt', aliases: ['时间', '消费时间', '日期', 'date', 'time'], required: true },
  { name: 'amountYuan', aliases: ['金额', '消费金额', 'amount'], required: true },
  { name: 'orderNo', aliases: ['单号', '订单号', '流水号', 'orderId', 'receiptNo'], required: false },
];

const MAINLAND_MOBILE = /^1[3-9]\d{9}$/;
// A cell starting with one of these is run as a formula when the member list is opened in a
// spreadsheet again; a name is never meant to start so.
const FORMULA_START = /^[=+\-@\t\r]/;
const YUAN = /^\d{1,9}(\.\d{1,2})?$/;
const MAX_NAME_LENGTH = 100;
const MAX_ORDER_NO_LENGTH = 64;

/** The members file: one member per row. `tiers` are the configured tier names. */
export function readMemberRows(text: string, tiers: readonly string[]): ReadResult<MemberImportRow> {
  const table = readTable(text, MEMBER_COLUMNS);
  if ('rejected' in table) return { records: 0, rows: [], rejected: table.rejected };
  const rows: MemberImportRow[] = [];
  const rejected: RejectedRow[] = [...table.badRows];
  const phoneLines = new Map<string, number>();
  for (const { line, cells } of table.records) {
    const problems: RejectedRow[] = [];
    const problem = (field: string, text: string) => problems.push({ line, field, problem: text });

    const name = (cells.name ?? '').trim().normalize('NFC');
    const nameProblem = freeTextProblem(name);
    if (name === '') problem('name', 'is empty; give the member\'s name as the till should show it');
    else if (nameProblem) problem('name', nameProblem);
    else if (FORMULA_START.test(name)) problem('name', 'starts with = + - or @, which a spreadsheet runs as a formula; remove that first character');
    else if (name.length > MAX_NAME_LENGTH) problem('name', `is longer than ${MAX_NAME_LENGTH} characters; shorten it`);

    const phone = phoneDigits(cells.phone ?? '');
    if (phone === undefined) problem('phone', 'is not an 11-digit mainland mobile number (spaces, dashes and +86 are fine); correct it or leave the member out');
    else if (phoneLines.has(phone)) problem('phone', `is the same number as line ${phoneLines.get(phone)}; one member per phone number, keep one of the two rows`);

    const birthday = monthDayOf(cells.birthday ?? '');
    if (birthday === undefined) problem('birthday', 'is not a date; write it as YYYY-MM-DD (e.g. 1990-05-17) or MM-DD, or leave it empty');

    const tierText = (cells.tier ?? '').trim();
    if (tierText !== '' && !tiers.includes(tierText)) problem('tier', `is not one of the tiers ${tiers.join(', ')} (setting membership.tiers); use one of them or leave it empty`);

    const pointsText = (cells.points ?? '').trim();
    const points = pointsText === '' ? 0 : Number(pointsText);
    if (!/^\d{1,9}$/.test(pointsText) && pointsText !== '') problem('points', 'is not a whole number of 0 or more; write the points balance without separators, or leave it empty');

    const storedText = (cells.storedValueYuan ?? '').trim();
    if (storedText !== '' && !YUAN.test(storedText)) problem('storedValueYuan', 'is not an amount in yuan; write it like 120.50 (no currency sign, at most 2 decimals), or leave it empty');

    if (problems.length > 0) {
      rejected.push(...problems);
      continue;
    }
    phoneLines.set(phone!, line);
    rows.push({
      line,
      name,
      phone: phone!,
      birthdayMonthDay: birthday ?? null,
      tier: tierText === '' ? null : tierText,
      points,
      storedValueYuan: storedText === '' ? '0' : storedText,
    });
  }
  return { records: table.records.length + table.badRows.length, rows, rejected: sortRejected(rejected) };
}

/** The purchases file: one past purchase per row, found by the member's phone. */
export function readPurchaseRows(text: string, nowMs: number): ReadResult<PurchaseImportRow> {
  const table = readTable(text, PURCHASE_COLUMNS);
  if ('rejected' in table) return { records: 0, rows: [], rejected: table.rejected };
  const rows: PurchaseImportRow[] = [];
  const rejected: RejectedRow[] = [...table.badRows];
  const orderLines = new Map<string, number>();
  // Rows with no order number are told apart by their content and how often it repeats.
  const seen = new Map<string, number>();
  for (const { line, cells } of table.records) {
    const problems: RejectedRow[] = [];
    const problem = (field: string, text: string) => problems.push({ line, field, problem: text });

    const phone = phoneDigits(cells.phone ?? '');
    if (phone === undefined) problem('phone', 'is not an 11-digit mainland mobile number; it must be the phone of a member in the members file');

    const paidAtMs = localTimeOf(cells.paidAt ?? '');
    if (paidAtMs === undefined) problem('paidAt', 'is not a date or time; write YYYY-MM-DD or YYYY-MM-DD HH:MM (the shop\'s local time)');
    else if (paidAtMs > nowMs) problem('paidAt', 'lies in the future; only past purchases can be imported');

    const amountText = (cells.amountYuan ?? '').trim();
    if (!YUAN.test(amountText) || Number(amountText) <= 0) problem('amountYuan', 'is not an amount above 0 in yuan; write it like 58.00 (no currency sign, at most 2 decimals)');

    const orderNo = (cells.orderNo ?? '').trim();
    if (orderNo !== '' && (orderNo.length > MAX_ORDER_NO_LENGTH || freeTextProblem(orderNo) || FORMULA_START.test(orderNo))) {
      problem('orderNo', `must be plain text of at most ${MAX_ORDER_NO_LENGTH} characters that does not start with = + - or @`);
    }
    if (orderNo !== '' && orderLines.has(orderNo)) problem('orderNo', `is the same order number as line ${orderLines.get(orderNo)}; each purchase needs its own`);

    if (problems.length > 0) {
      rejected.push(...problems);
      continue;
    }
    let key: string;
    if (orderNo !== '') {
      orderLines.set(orderNo, line);
      key = orderNo;
    } else {
      const content = `${phone}|${paidAtMs}|${amountText}`;
      const n = (seen.get(content) ?? 0) + 1;
      seen.set(content, n);
      key = `row-${createHash('sha256').update(`${content}|${n}`).digest('hex').slice(0, 24)}`;
    }
    rows.push({ line, phone: phone!, orderId: `import:${key}`, amountYuan: amountText, paidAtMs: paidAtMs! });
  }
  return { records: table.records.length + table.badRows.length, rows, rejected: sortRejected(rejected) };
}

/** The columns of a file as a sentence, for the help and for a file whose header is wrong. */
export function describeColumns(columns: readonly ColumnSpec[]): string {
  return columns.map((c) => `${c.name}${c.required ? '' : ' (optional)'}`).join(', ');
}

interface Table {
  records: Array<{ line: number; cells: Record<string, string> }>;
  /** Rows that could not be split into the header's columns. */
  badRows: RejectedRow[];
}

function readTable(text: string, columns: readonly ColumnSpec[]): Table | { rejected: RejectedRow[] } {
  let parsed: Array<{ record: string[]; raw: string; info: { lines: number } }>;
  try {
    parsed = parse(text, { bom: true, info: true, raw: true, relax_column_count: true, skip_empty_lines: true }) as unknown as typeof parsed;
  } catch (err) {
    const lines = err instanceof CsvError && typeof err.lines === 'number' ? err.lines : 1;
    return { rejected: [{ line: lines, field: '', problem: `the file cannot be read as CSV (${(err as Error).message}); save it as CSV (UTF-8) from the spreadsheet and try again` }] };
  }
  const header = parsed[0];
  if (!header) return { rejected: [{ line: 1, field: '', problem: `the file is empty; the first line must name the columns: ${describeColumns(columns)}` }] };
  const byKey = new Map<string, string>();
  for (const c of columns) for (const alias of [c.name, ...c.aliases]) byKey.set(headerKey(alias), c.name);
  const names = header.record.map((cell) => byKey.get(headerKey(cell)));
  const problems: RejectedRow[] = [];
  header.record.forEach((cell, i) => {
    if (names[i] === undefined) problems.push({ line: header.info.lines, field: cell.trim(), problem: `is not a known column; the columns are ${describeColumns(columns)}` });
    else if (names.indexOf(names[i]) !== i) problems.push({ line: header.info.lines, field: cell.trim(), problem: `names the column ${names[i]} a second time; keep one` });
  });
  for (const c of columns) {
    if (c.required && !names.includes(c.name)) problems.push({ line: header.info.lines, field: c.name, problem: `column is missing; the first line must name the columns: ${describeColumns(columns)}` });
  }
  if (problems.length > 0) return { rejected: problems };

  const records: Table['records'] = [];
  const badRows: RejectedRow[] = [];
  for (const { record, raw, info } of parsed.slice(1)) {
    // csv-parse counts to a record's last line; a cell with a line break starts it earlier.
    const line = info.lines - (raw.replace(/\r?\n$/, '').match(/\n/g)?.length ?? 0);
    if (record.length !== names.length) {
      badRows.push({ line, field: '', problem: `has ${record.length} fields where the first line names ${names.length}; a comma inside a cell needs the cell in double quotes` });
      continue;
    }
    const cells: Record<string, string> = {};
    record.forEach((cell, i) => (cells[names[i]!] = cell));
    records.push({ line, cells });
  }
  return { records, badRows };
}

function headerKey(text: string): string {
  return text.trim().toLowerCase().replace(/[\s_-]/g, '');
}

function phoneDigits(text: string): string | undefined {
  const digits = text.replace(/[\s-]/g, '').replace(/^(\+86|0086)/, '');
  return MAINLAND_MOBILE.test(digits) ? digits : undefined;
}

/** "MM-DD" from YYYY-MM-DD, YYYY/MM/DD or MM-DD; null for an empty cell; undefined for anything else. */
function monthDayOf(text: string): string | null | undefined {
  const t = text.trim();
  if (t === '') return null;
  const m = /^(?:(\d{4})[-/.])?(\d{1,2})[-/.](\d{1,2})$/.exec(t);
  if (!m) return undefined;
  const year = m[1] === undefined ? 2000 : Number(m[1]); // a leap year, so 02-29 is a birthday
  const month = Number(m[2]);
  const day = Number(m[3]);
  const date = new Date(Date.UTC(year, month - 1, day));
  if (date.getUTCMonth() !== month - 1 || date.getUTCDate() !== day || year < 1900) return undefined;
  return `${String(month).padStart(2, '0')}-${String(day).padStart(2, '0')}`;
}

/** A date or date and time in the shop's local time zone (this PC's), or a time with an offset; undefined when it is none. */
function localTimeOf(text: string): number | undefined {
  const t = text.trim();
  const m = /^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?)?$/.exec(t);
  if (m) {
    const [year, month, day, hour, minute, second] = m.slice(1).map((v) => (v === undefined ? 0 : Number(v))) as number[];
    const date = new Date(year!, month! - 1, day!, hour, minute, second);
    if (date.getMonth() !== month! - 1 || date.getDate() !== day! || hour! > 23 || minute! > 59 || second! > 59 || year! < 1970) return undefined;
    return date.getTime();
  }
  if (/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/.test(t)) {
    const ms = Date.parse(t);
    return Number.isNaN(ms) ? undefined : ms;
  }
  return undefined;
}

function sortRejected(rows: RejectedRow[]): RejectedRow[] {
  return rows.sort((a, b) => a.line - b.line);
}
