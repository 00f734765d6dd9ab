/**
 * @module Small helpers the charts share: filling a daily series without gaps and picking round ticks.
 */

/** Every ISO date from the first to the last of `dates`, so an epidemic curve shows the days with no cases too. */
export function dayRange(dates: readonly string[]): string[] {
  if (dates.length === 0) return [];
  const sorted = [...dates].sort();
  const out: string[] = [];
  const end = Date.parse(`${sorted[sorted.length - 1]}T00:00:00Z`);
  for (let d = Date.parse(`${sorted[0]}T00:00:00Z`); d <= end; d += 86_400_000) out.push(new Date(d).toISOString().slice(0, 10));
  return out;
}

/** A round step for an axis from 0 to max with about `count` ticks (1, 2, 5 × 10ⁿ). */
export function niceStep(max: number, count = 5): number {
  if (max <= 0) return 1;
  const raw = max / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  return Math.max(1, step);
}

export type Bucket = 'day' | 'week' | 'month';

/**
 * Buckets for a curve over these dates: days for up to four months, weeks up to two years, months
 * beyond, so one late outlier (a case with today's date) does not squeeze the curve into invisible bars.
 * Returns every bucket key from first to last, and the key of a date.
 */
export function buckets(dates: readonly string[]): { unit: Bucket; keys: string[]; keyOf: (date: string) => string } {
  const days = dayRange(dates);
  if (days.length <= 120) return { unit: 'day', keys: days, keyOf: (d) => d };
  if (days.length <= 730) {
    // Weeks start on Monday (ISO), keyed by that Monday's date.
    const keyOf = (d: string): string => {
      const t = Date.parse(`${d}T00:00:00Z`);
      const dow = (new Date(t).getUTCDay() + 6) % 7;
      return new Date(t - dow * 86_400_000).toISOString().slice(0, 10);
    };
    return { unit: 'week', keys: [...new Set(days.map(keyOf))], keyOf };
  }
  const keyOf = (d: string): string => d.slice(0, 7);
  return { unit: 'month', keys: [...new Set(days.map(keyOf))], keyOf };
}
