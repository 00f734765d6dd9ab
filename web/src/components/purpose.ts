/**
 * @module The purpose a user gave for reading a case's contacts, remembered per case for this tab, so
 * every purpose-bound read that follows from the case workspace (the chain's leads, a person's page
 * opened from the case) reuses it instead of reading without one. Kept in sessionStorage: it ends with
 * the tab and on logout, and never leaves the browser except with the reads it justifies.
 */

const KEY = 'cordon.purposes';
/** The server's minimum (a purpose of fewer characters is refused there too). */
export const MIN_PURPOSE = 4;

function load(): Record<string, string> {
  try {
    const raw = sessionStorage.getItem(KEY);
    const parsed: unknown = raw ? JSON.parse(raw) : {};
    return parsed && typeof parsed === 'object' ? (parsed as Record<string, string>) : {};
  } catch {
    return {};
  }
}

/** The purpose given for this case in this tab, if any. */
export function purposeFor(caseId: string | undefined): string | undefined {
  if (!caseId) return undefined;
  const p = load()[caseId];
  return typeof p === 'string' && p.trim().length >= MIN_PURPOSE ? p : undefined;
}

/** Remembers the purpose given for a case (ignored when too short to be accepted). */
export function rememberPurpose(caseId: string, purpose: string): void {
  if (purpose.trim().length < MIN_PURPOSE) return;
  try {
    sessionStorage.setItem(KEY, JSON.stringify({ ...load(), [caseId]: purpose.trim() }));
  } catch {
    // Storage full or blocked: the next page asks again, which is safe.
  }
}

/** Forgets every remembered purpose (on logout). */
export function forgetPurposes(): void {
  try { sessionStorage.removeItem(KEY); } catch { /* nothing stored */ }
}
