/**
 * @module Local time for the generator: minutes since local midnight of the first day, formatted
 * as ISO 8601 with the zone's offset from precomputed tables (no Date objects in the hot loop).
 */
import type { RowWriter } from './csv-sink.ts';

/** Offset of a time zone at a UTC instant, in minutes east of UTC. */
const formatters = new Map<string, Intl.DateTimeFormat>();

export function zoneOffsetMinutes(timeZone: string, utcMs: number): number {
  // Building a formatter costs about a millisecond; a clock asks for one day after another.
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', { timeZone, timeZoneName: 'longOffset' });
    formatters.set(timeZone, f);
  }
  const parts = f.formatToParts(new Date(utcMs));
  const name = parts.find((p) => p.type === 'timeZoneName')?.value ?? 'GMT';
  const m = /GMT([+-])(\d{2}):?(\d{2})?/.exec(name);
  if (!m) return 0;
  const v = Number(m[2]) * 60 + Number(m[3] ?? 0);
  return m[1] === '-' ? -v : v;
}

function offsetText(min: number): string {
  const sign = min < 0 ? '-' : '+';
  const a = Math.abs(min);
  return `${sign}${String(Math.floor(a / 60)).padStart(2, '0')}:${String(a % 60).padStart(2, '0')}`;
}

/**
 * Formats local times given as minutes since local midnight of day 0. Days from `-before` to
 * `days + after` are precomputed; each day carries its own offset (a zone with summer time works).
 */
export class Clock {
  /** `YYYY-MM-DD` of each precomputed day. */
  private readonly dates: string[] = [];
  private readonly prefixes: string[] = [];
  private readonly prefixBytes: Uint8Array[] = [];
  private readonly suffixBytes: Uint8Array[] = [];
  private readonly tables: string[][] = [];
  private readonly offsets: number[] = [];
  /** UTC epoch seconds of local midnight of each day. */
  private readonly midnights: number[] = [];
  readonly before: number;

  constructor(start: string, days: number, readonly timeZone: string, before = 60, after = 60) {
    const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(start);
    if (!m) throw new Error(`start "${start}" must be a date YYYY-MM-DD`);
    const y = Number(m[1]);
    const mo = Number(m[2]);
    const d = Number(m[3]);
    const probe = new Date(Date.UTC(y, mo - 1, d));
    if (probe.getUTCFullYear() !== y || probe.getUTCMonth() !== mo - 1 || probe.getUTCDate() !== d) {
      throw new Error(`start "${start}" is not a real calendar date`);
    }
    try {
      new Intl.DateTimeFormat('en-US', { timeZone });
    } catch {
      throw new Error(`time zone "${timeZone}" is not a known IANA time zone (e.g. Asia/Shanghai)`);
    }
    this.before = before;
    const tableByOffset = new Map<number, string[]>();
    for (let i = -before; i < days + after; i++) {
      const noonUtc = Date.UTC(y, mo - 1, d + i, 12);
      const off = zoneOffsetMinutes(timeZone, noonUtc);
      const date = new Date(Date.UTC(y, mo - 1, d + i)).toISOString().slice(0, 10);
      let table = tableByOffset.get(off);
      if (!table) {
        const suffix = ':00' + offsetText(off);
        table = [];
        for (let t = 0; t < 1440; t++) {
          table.push(`${String(Math.floor(t / 60)).padStart(2, '0')}:${String(t % 60).padStart(2, '0')}${suffix}`);
        }
        tableByOffset.set(off, table);
      }
      this.dates.push(date);
      this.prefixes.push(date + 'T');
      this.prefixBytes.push(new Uint8Array(Buffer.from(date + 'T', 'latin1')));
      this.suffixBytes.push(new Uint8Array(Buffer.from(':00' + offsetText(off), 'latin1')));
      this.tables.push(table);
      this.offsets.push(off);
      this.midnights.push(Date.UTC(y, mo - 1, d + i) / 1000 - off * 60);
    }
  }

  /** ISO 8601 local time with offset, e.g. `2020-01-25T14:05:00+08:00`. */
  iso(minutes: number): string {
    const day = Math.floor(minutes / 1440);
    const i = day + this.before;
    return this.prefixes[i] + this.tables[i][minutes - day * 1440];
  }

  /** Every minute of the window (and a day either side) encoded once: 25 bytes each, copied as they are. */
  private isoTable: Uint32Array | undefined;
  private tableFrom = 0;
  private tableCount = 0;

  /** Builds the table of encoded times for days `from` to `to` (inclusive); a few MB for two weeks. */
  prepare(from: number, to: number): void {
    this.tableFrom = from * 1440;
    this.tableCount = (to - from + 1) * 1440;
    // 28 bytes (7 words) per minute, for RowWriter.words; the platform's byte order is the words' order.
    const table = new Uint8Array(this.tableCount * 28);
    for (let i = 0; i < this.tableCount; i++) {
      const text = this.iso(this.tableFrom + i);
      if (text.length !== 25) {
        this.tableCount = 0;
        return;
      }
      for (let k = 0; k < 25; k++) table[i * 28 + k] = text.charCodeAt(k);
    }
    this.isoTable = new Uint32Array(table.buffer);
  }

  /** Writes `iso(minutes)` into a row writer without building a string. */
  writeIso(w: RowWriter, minutes: number): void {
    const idx = minutes - this.tableFrom;
    if (idx >= 0 && idx < this.tableCount) {
      w.words(this.isoTable!, idx * 7, 25);
      return;
    }
    const day = Math.floor(minutes / 1440);
    const i = day + this.before;
    const m = minutes - day * 1440;
    w.raw(this.prefixBytes[i]);
    w.digits2((m / 60) | 0);
    w.byte(58);
    w.digits2(m % 60);
    w.raw(this.suffixBytes[i]);
  }

  /** Writes the local date `YYYY-MM-DD` of a time into a row writer. */
  writeDate(w: RowWriter, minutes: number): void {
    w.raw(this.prefixBytes[Math.floor(minutes / 1440) + this.before].subarray(0, 10));
  }

  /** ISO with seconds, for the truth (`overlap` ends may fall on any second). */
  isoSeconds(seconds: number): string {
    const minutes = Math.floor(seconds / 60);
    const s = seconds - minutes * 60;
    const text = this.iso(minutes);
    return s === 0 ? text : text.slice(0, 17) + String(s).padStart(2, '0') + text.slice(19);
  }

  /** `YYYY-MM-DD` of a day index. */
  date(day: number): string {
    return this.dates[day + this.before];
  }

  /** `YYYYMMDD` of a day index (for train and flight ids). */
  compactDate(day: number): string {
    return this.dates[day + this.before].replaceAll('-', '');
  }

  /** UTC epoch seconds of a local time given in minutes since day 0. */
  epochSeconds(minutes: number): number {
    const day = Math.floor(minutes / 1440);
    return this.midnights[day + this.before] + (minutes - day * 1440) * 60;
  }

  /** Day of week, 0 = Sunday. */
  weekday(day: number): number {
    return new Date(this.dates[day + this.before] + 'T12:00:00Z').getUTCDay();
  }
}
