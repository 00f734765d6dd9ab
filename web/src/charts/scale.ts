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
