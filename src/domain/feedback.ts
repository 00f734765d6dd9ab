/**
 * @module Feedback (反馈): what a unit found, its validation, and what each outcome means for the
 * lead and the person — final or not, the person's status after, and whether it starts re-analysis.
 */
import { parseIdKey } from './formats.ts';
import type { PersonStatus } from './lead.ts';

export const FEEDBACK_OUTCOMES = [
  'verified_home_control', 'centralized_isolation', 'hospital', 'not_found', 'identity_mismatch',
  'already_under_control', 'tested_positive', 'tested_negative',
] as const;
export type FeedbackOutcome = (typeof FEEDBACK_OUTCOMES)[number];

export function isFeedbackOutcome(s: string): s is FeedbackOutcome {
  return (FEEDBACK_OUTCOMES as readonly string[]).includes(s);
}

/**
 * What an outcome does. `final`: the lead is done (counts towards closing the case's loop).
 * `status`: the person's status after (null: unchanged). Not found keeps the lead open for another
 * attempt; identity mismatch closes this lead and reissues it under the corrected identity.
 */
export const OUTCOME_EFFECTS: Record<FeedbackOutcome, { final: boolean; status: PersonStatus | null }> = {
  verified_home_control: { final: true, status: 'home_control' },
  centralized_isolation: { final: true, status: 'centralized_isolation' },
  hospital: { final: true, status: 'hospital' },
  already_under_control: { final: true, status: null },
  tested_positive: { final: true, status: 'case' },
  tested_negative: { final: true, status: 'tested_negative' },
  not_found: { final: false, status: 'not_found' },
  identity_mismatch: { final: false, status: null },
};

/** Feedback as submitted, before validation. */
export interface FeedbackInput {
  outcome: string;
  temperature?: number | null;
  notes?: string | null;
  namedContacts?: readonly string[];
  correctedIds?: readonly string[];
}

/** Feedback after validation. */
export interface ValidFeedback {
  outcome: FeedbackOutcome;
  temperature: number | null;
  notes: string | null;
  namedContacts: string[];
  correctedIds: string[];
}

export class FeedbackValidationError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid feedback: ${problems.join('; ')}`);
    this.name = 'FeedbackValidationError';
  }
}

const MAX_NOTES = 4000;

/** Validates feedback; throws FeedbackValidationError naming every bad field. */
export function validateFeedback(input: FeedbackInput): ValidFeedback {
  const problems: string[] = [];
  if (!isFeedbackOutcome(input.outcome)) {
    problems.push(`outcome "${input.outcome}" is not one of ${FEEDBACK_OUTCOMES.join(', ')}`);
  }
  const t = input.temperature ?? null;
  if (t !== null && !(Number.isFinite(t) && t >= 30 && t <= 45)) {
    problems.push(`temperature ${t} is not a body temperature in °C (30–45)`);
  }
  const notes = input.notes?.trim() || null;
  if (notes && notes.length > MAX_NOTES) problems.push(`notes are ${notes.length} characters (at most ${MAX_NOTES})`);
  const ids = (field: string, list: readonly string[] | undefined): string[] => {
    const out: string[] = [];
    (list ?? []).forEach((raw, i) => {
      try {
        const { kind, value } = parseIdKey(raw.trim());
        out.push(`${kind}:${value}`);
      } catch (err) {
        problems.push(`${field}[${i}]: ${(err as Error).message}`);
      }
    });
    return [...new Set(out)];
  };
  const namedContacts = ids('namedContacts', input.namedContacts);
  const correctedIds = ids('correctedIds', input.correctedIds);
  if (input.outcome === 'identity_mismatch' && !correctedIds.length) {
    problems.push('identity_mismatch needs the corrected identifiers (correctedIds)');
  }
  if (problems.length) throw new FeedbackValidationError(problems);
  return { outcome: input.outcome as FeedbackOutcome, temperature: t, notes, namedContacts, correctedIds };
}
