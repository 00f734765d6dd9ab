/**
 * @module The lookback window of a trace, from the request's dates and the rule set, in the
 * deployment's time zone: from N days before onset (or sampling) until isolation or now.
 */
import type { RuleSet } from '../domain/contact-rules.ts';
import type { TraceRequest, TraceWindow } from './types.ts';

/** A request that cannot be traced; the message says which field and why. */
export class TraceRequestError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TraceRequestError';
  }
}

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

const formats = new Map<string, Intl.DateTimeFormat>();

/** Offset of a time zone from UTC at an instant, in milliseconds. */
function zoneOffsetMs(utcMs: number, timeZone: string): number {
  // Building a DateTimeFormat costs about a millisecond: one per zone, kept.
  let f = formats.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit',
    });
    formats.set(timeZone, f);
  }
  const parts: Record<string, number> = {};
  for (const p of f.formatToParts(new Date(utcMs))) if (p.type !== 'literal') parts[p.type] = Number(p.value);
  const asUtc = Date.UTC(parts.year, parts.month - 1, parts.day, parts.hour, parts.minute, parts.second);
  return asUtc - Math.floor(utcMs / 1000) * 1000;
}

/** Local midnights already worked out: a zone's offsets do not change while the process runs, and every trace asks for a few. */
const midnights = new Map<string, number>();

/** Epoch seconds of local midnight starting `YYYY-MM-DD` (+ `addDays`) in the time zone. */
export function localMidnight(date: string, timeZone: string, addDays = 0): number {
  const key = `${timeZone}|${date}|${addDays}`;
  const known = midnights.get(key);
  if (known !== undefined) return known;
  const t = computeLocalMidnight(date, timeZone, addDays);
  if (midnights.size >= 100_000) midnights.clear();
  midnights.set(key, t);
  return t;
}

function computeLocalMidnight(date: string, timeZone: string, addDays: number): number {
  const m = DATE.exec(date);
  if (!m) throw new TraceRequestError(`"${date}" is not a date (expected YYYY-MM-DD)`);
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const guess = Date.UTC(y, mo - 1, d + addDays);
  // Twice: the offset at the guessed instant may differ from the offset at local midnight (DST).
  let t = guess - zoneOffsetMs(guess, timeZone);
  t = guess - zoneOffsetMs(t, timeZone);
  return Math.floor(t / 1000);
}

/** Checks a `YYYY-MM-DD` is a real calendar date. */
function checkDate(field: string, value: string): string {
  const m = DATE.exec(value);
  const ok = m && (() => {
    const d = new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])));
    return d.getUTCFullYear() === Number(m[1]) && d.getUTCMonth() === Number(m[2]) - 1 && d.getUTCDate() === Number(m[3]);
  })();
  if (!ok) throw new TraceRequestError(`${field} "${value}" is not a valid date (expected YYYY-MM-DD)`);
  return value;
}

/** The window in epoch seconds plus its description for the output. */
export interface ResolvedWindow {
  from: number;
  to: number;
  /** "Now" in epoch seconds: the end of a close contact's exposure window when their isolation is unknown. */
  now: number;
  window: TraceWindow;
}

/** Computes the lookback window of a request. */
export function resolveWindow(req: TraceRequest, rules: RuleSet, timeZone: string): ResolvedWindow {
  const nowMs = req.now ?? Date.now();
  if (!Number.isFinite(nowMs)) throw new TraceRequestError(`now "${String(req.now)}" is not a time`);
  const now = Math.floor(nowMs / 1000);
  const useSampled = req.asymptomatic === true || req.onset === undefined;
  const anchorDate = useSampled ? req.sampled : req.onset;
  if (anchorDate === undefined) {
    throw new TraceRequestError(
      req.asymptomatic ? 'an asymptomatic case needs a sampling date (--sampled YYYY-MM-DD)' : 'a trace needs an onset date (--onset YYYY-MM-DD), or a sampling date (--sampled YYYY-MM-DD) for an asymptomatic case',
    );
  }
  checkDate(useSampled ? 'sampled' : 'onset', anchorDate);
  const from = localMidnight(anchorDate, timeZone, -rules.lookbackDays);
  let to = now;
  let until: TraceWindow['until'] = 'now';
  if (req.isolated !== undefined) {
    until = 'isolated';
    if (DATE.test(req.isolated)) {
      // A date alone: isolated some time that day, so the whole day still counts.
      to = localMidnight(checkDate('isolated', req.isolated), timeZone, 1);
    } else if (/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/.test(req.isolated) && Number.isFinite(Date.parse(req.isolated))) {
      to = Math.floor(Date.parse(req.isolated) / 1000);
    } else {
      throw new TraceRequestError(`isolated "${req.isolated}" is not a date (YYYY-MM-DD) or an ISO 8601 time with offset (2020-01-25T14:05:00+08:00)`);
    }
  }
  if (to <= from) {
    throw new TraceRequestError(`the window is empty: it starts ${new Date(from * 1000).toISOString()} (${rules.lookbackDays} days before ${useSampled ? 'sampling' : 'onset'}) but ends ${new Date(to * 1000).toISOString()} (${until})`);
  }
  return {
    from, to, now: Math.max(now, to),
    window: {
      from: new Date(from * 1000).toISOString(), to: new Date(to * 1000).toISOString(),
      anchor: useSampled ? 'sampled' : 'onset', lookbackDays: rules.lookbackDays, until,
    },
  };
}
