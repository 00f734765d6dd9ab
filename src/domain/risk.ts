/**
 * @module The risk score of a contact: a sum of named parts (category, duration, proximity,
 * confidence, repeat), each with a sentence saying why, so an analyst can read and argue with it.
 * Weights come from the rule set.
 */
import type { Category, RuleSet } from './contact-rules.ts';

/** One readable part of a score. */
export interface RiskPart {
  factor: 'category' | 'duration' | 'proximity' | 'confidence' | 'repeat';
  value: number;
  why: string;
}

export interface Risk {
  /** Sum of the parts, clamped to 0–100 and rounded to a whole number. */
  score: number;
  parts: RiskPart[];
}

/** The facts about a contact the score is made of. */
export interface RiskInput {
  category: Category;
  /** Longest single shared interval, seconds. */
  longestOverlapSeconds: number;
  /** Smallest row distance in a vehicle, when seats were known. */
  seatDistance?: number;
  /** Shared a household. */
  household: boolean;
  /** Shared a hotel room. */
  sameRoom: boolean;
  /** Every piece of evidence at the strongest category is date-only. */
  lowConfidence: boolean;
  /** Pieces of evidence at the strongest category. */
  exposures: number;
}

/**
 * The few texts a score says, made once: a trace scores hundreds of contacts and the same numbers
 * come back (minutes, rows, exposures), so building each sentence every time only feeds the GC.
 */
const CATEGORY_WHY: Record<Category, string> = {
  close: 'close contact', secondary: 'secondary contact', companion: 'companion contact', general: 'general contact',
};
const texts = new Map<string, string[]>();
function text(kind: string, n: number, make: (n: number) => string): string {
  if (!Number.isInteger(n) || n < 0 || n > 100_000) return make(n);
  let list = texts.get(kind);
  if (!list) texts.set(kind, (list = []));
  return (list[n] ??= make(n));
}

function round1(x: number): number {
  return Math.round(x * 10) / 10;
}

/** Scores a contact. Pure: the same facts and weights give the same score. */
export function scoreRisk(rules: RuleSet, input: RiskInput): Risk {
  const w = rules.risk;
  const parts: RiskPart[] = [{ factor: 'category', value: w.category[input.category], why: CATEGORY_WHY[input.category] ?? `${String(input.category)} contact` }];
  const hours = input.longestOverlapSeconds / 3600;
  const duration = round1(Math.min(w.durationMax, hours * w.durationPerHour));
  if (duration > 0) {
    parts.push({ factor: 'duration', value: duration, why: text('longest', Math.round(input.longestOverlapSeconds / 60), (m) => `longest shared interval ${m} min`) });
  }
  if (input.household) {
    parts.push({ factor: 'proximity', value: w.proximity.household, why: 'same household' });
  } else if (input.sameRoom) {
    parts.push({ factor: 'proximity', value: w.proximity.sameRoom, why: 'same hotel room' });
  } else if (input.seatDistance !== undefined) {
    const v = Math.max(0, w.proximity.seatRowsMax - w.proximity.seatRowPenalty * input.seatDistance);
    if (v > 0) parts.push({ factor: 'proximity', value: v, why: text('rows', input.seatDistance, (d) => `${d} rows apart`) });
  }
  if (input.lowConfidence && w.lowConfidence !== 0) {
    parts.push({ factor: 'confidence', value: w.lowConfidence, why: 'source gave only a date (whole-day interval)' });
  }
  const repeat = Math.min(w.repeatMax, Math.max(0, input.exposures - 1) * w.repeatPerExposure);
  if (repeat > 0) parts.push({ factor: 'repeat', value: repeat, why: text('exposures', input.exposures, (e) => `${e} separate exposures`) });
  let sum = 0;
  for (const p of parts) sum += p.value;
  return { score: Math.max(0, Math.min(100, Math.round(sum))), parts };
}
