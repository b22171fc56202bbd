/**
 * The store's calendar: which local date and hour an instant falls on, in the store's time
 * zone (`analytics.timeZone`, or the PC's own). Rollups are keyed by these local dates, so a
 * sale at 23:30 in Shanghai counts on that day and not on the UTC one. No imports: the pure
 * arithmetic the ledger and the analytics service share.
 */

/** `YYYY-MM-DD` in the store's time zone. */
export type LocalDate = string;

export interface LocalMoment {
  date: LocalDate;
  /** 0–23. */
  hour: number;
}

// Offsets of every zone in use are whole quarter hours, so within one quarter hour the local
// date and hour of every instant are the same: one formatter call per quarter hour is enough.
const QUARTER_HOUR_MS = 15 * 60_000;

export class StoreCalendar {
  readonly timeZone: string;
  readonly #format: Intl.DateTimeFormat;
  #cachedQuarter = Number.NaN;
  #cached: LocalMoment = { date: '1970-01-01', hour: 0 };

  /** `timeZone`: an IANA name such as `Asia/Shanghai`; empty for the PC's own zone. */
  constructor(timeZone: string) {
    const zone = timeZone === '' ? Intl.DateTimeFormat().resolvedOptions().timeZone : timeZone;
    try {
      this.#format = new Intl.DateTimeFormat('en-CA', {
        timeZone: zone,
        year: 'numeric',
        month: '2-digit',
        day: '2-digit',
        hour: '2-digit',
        hourCycle: 'h23',
      });
    } catch {
      throw new RangeError(`analytics.timeZone "${timeZone}" is not a time zone this Node knows; use an IANA name such as "Asia/Shanghai", or "" for the PC's own.`);
    }
    this.timeZone = zone;
  }

  at(ms: number): LocalMoment {
    const quarter = Math.floor(ms / QUARTER_HOUR_MS);
    if (quarter !== this.#cachedQuarter) {
      const parts: Record<string, string> = {};
      for (const part of this.#format.formatToParts(ms)) parts[part.type] = part.value;
      this.#cached = { date: `${parts.year}-${parts.month}-${parts.day}`, hour: Number(parts.hour) };
      this.#cachedQuarter = quarter;
    }
    return this.#cached;
  }

  dateOf(ms: number): LocalDate {
    return this.at(ms).date;
  }
}

/** The date `days` after `date` (negative: before); plain calendar arithmetic, no time zone involved. */
export function addDays(date: LocalDate, days: number): LocalDate {
  const ms = Date.parse(`${date}T00:00:00Z`) + days * 86_400_000;
  return new Date(ms).toISOString().slice(0, 10);
}

/** Whole days from `from` to `to` (`to` exclusive). */
export function daysBetween(from: LocalDate, to: LocalDate): number {
  return Math.round((Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / 86_400_000);
}

/** 0 = Monday … 6 = Sunday, as the shop's week starts (ISO 8601). */
export function weekdayOf(date: LocalDate): number {
  return (new Date(`${date}T00:00:00Z`).getUTCDay() + 6) % 7;
}
