/**
 * @module Formatting shared by the views: durations for countdowns, times in the deployment's zone,
 * and masking of identifiers (the server masks too; this only keeps lists tidy).
 */

/** Splits a duration into days, hours and minutes for the `time.*` labels. */
export function splitDuration(ms: number): { d: number; h: number; m: number } {
  const total = Math.max(0, Math.floor(Math.abs(ms) / 60_000));
  return { d: Math.floor(total / 1440), h: Math.floor((total % 1440) / 60), m: total % 60 };
}

export function formatTime(iso: string | null | undefined, lang: string, timeZone = 'Asia/Shanghai'): string {
  if (!iso) return '—';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return new Intl.DateTimeFormat(lang, { timeZone, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hour12: false }).format(d);
}

/** `phone:13812345678` → `phone:138****5678`; values already masked by the server pass through. */
export function maskId(id: string): string {
  const i = id.indexOf(':');
  const kind = i > 0 ? id.slice(0, i) : '';
  const value = i > 0 ? id.slice(i + 1) : id;
  if (value.includes('*') || value.length <= 4) return id;
  const keep = value.length >= 11 ? 3 : 1;
  const masked = value.slice(0, keep) + '*'.repeat(Math.max(2, value.length - keep - 4)) + value.slice(-4);
  return kind ? `${kind}:${masked}` : masked;
}
