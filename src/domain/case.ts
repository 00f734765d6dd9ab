/**
 * @module Cases (病例): classification (suspected / confirmed / asymptomatic) and the moves allowed
 * between them, the dates that anchor a trace's lookback, and the kinds of event in a case's history.
 */

export const CASE_CLASSIFICATIONS = ['suspected', 'confirmed', 'asymptomatic'] as const;
export type CaseClassification = (typeof CASE_CLASSIFICATIONS)[number];

export const CASE_EVENT_KINDS = ['created', 'classified', 'isolated', 'traced', 'loop_closed', 'loop_reopened'] as const;
export type CaseEventKind = (typeof CASE_EVENT_KINDS)[number];

/**
 * Allowed reclassifications. A suspected case is confirmed or found asymptomatic; an asymptomatic
 * case that develops symptoms is confirmed. A confirmed case is never downgraded here: a wrong
 * confirmation is corrected by an administrator, not by the loop.
 */
const MOVES: Record<CaseClassification, readonly CaseClassification[]> = {
  suspected: ['confirmed', 'asymptomatic'],
  asymptomatic: ['confirmed'],
  confirmed: [],
};

export class CaseRuleError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CaseRuleError';
  }
}

export function isCaseClassification(s: string): s is CaseClassification {
  return (CASE_CLASSIFICATIONS as readonly string[]).includes(s);
}

/** Throws a CaseRuleError saying which moves exist when `from → to` is not one of them. */
export function checkReclassification(from: CaseClassification, to: CaseClassification): void {
  if (from === to) throw new CaseRuleError(`the case is already ${to}`);
  if (!MOVES[from].includes(to)) {
    const allowed = MOVES[from];
    throw new CaseRuleError(
      `a ${from} case cannot become ${to}` + (allowed.length ? ` (allowed: ${allowed.join(', ')})` : ' (it is final)'),
    );
  }
}

const DATE = /^\d{4}-\d{2}-\d{2}$/;

/** Validates a `YYYY-MM-DD` date (a real calendar date); returns an error message or null. */
export function dateProblem(field: string, value: string | null | undefined): string | null {
  if (value === null || value === undefined) return null;
  if (!DATE.test(value)) return `${field} "${value}" must be a date YYYY-MM-DD`;
  const d = new Date(`${value}T00:00:00Z`);
  if (Number.isNaN(d.getTime()) || d.toISOString().slice(0, 10) !== value) return `${field} "${value}" is not a calendar date`;
  return null;
}

/** What a case needs before it can be traced: an onset date, or a sampling date when asymptomatic. */
export function caseDatesProblem(c: { classification: CaseClassification; onset: string | null; sampled: string | null }): string | null {
  const bad = dateProblem('onset', c.onset) ?? dateProblem('sampled', c.sampled);
  if (bad) return bad;
  if (c.classification === 'asymptomatic') {
    if (!c.sampled && !c.onset) return 'an asymptomatic case needs a sampling date (--sampled)';
  } else if (!c.onset && !c.sampled) {
    return `a ${c.classification} case needs an onset date (--onset) or a sampling date (--sampled)`;
  }
  return null;
}
