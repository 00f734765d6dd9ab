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

function round1(x: number): number {
  return Math.round(x * 10) / 10;
}

/** Scores a contact. Pure: the same facts and weights give the same score. */
export function scoreRisk(rules: RuleSet, input: RiskInput): Risk {
  const w = rules.risk;
  const parts: RiskPart[] = [{ factor: 'category', value: w.category[input.category], why: `${input.category} contact` }];
  const hours = input.longestOverlapSeconds / 3600;
  const duration = round1(Math.min(w.durationMax, hours * w.durationPerHour));
  if (duration > 0) {
    parts.push({ factor: 'duration', value: duration, why: `longest shared interval ${Math.round(input.longestOverlapSeconds / 60)} min` });
  }
  if (input.household) {
    parts.push({ factor: 'proximity', value: w.proximity.household, why: 'same household' });
  } else if (input.sameRoom) {
    parts.push({ factor: 'proximity', value: w.proximity.sameRoom, why: 'same hotel room' });
  } else if (input.seatDistance !== undefined) {
    const v = Math.max(0, w.proximity.seatRowsMax - w.proximity.seatRowPenalty * input.seatDistance);
    if (v > 0) parts.push({ factor: 'proximity', value: v, why: `${input.seatDistance} rows apart` });
  }
  if (input.lowConfidence && w.lowConfidence !== 0) {
    parts.push({ factor: 'confidence', value: w.lowConfidence, why: 'source gave only a date (whole-day interval)' });
  }
  const repeat = Math.min(w.repeatMax, Math.max(0, input.exposures - 1) * w.repeatPerExposure);
  if (repeat > 0) parts.push({ factor: 'repeat', value: repeat, why: `${input.exposures} separate exposures` });
  const sum = parts.reduce((s, p) => s + p.value, 0);
  return { score: Math.max(0, Math.min(100, Math.round(sum))), parts };
}
