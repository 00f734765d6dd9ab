/**
 * @module The risk score of a contact: a sum of named parts (category, duration, proximity,
 * confidence, repeat), each with a sentence saying why, so an analyst can read and argue with it.
 * Weights come from the rule set.
 */
import type { Category, RiskWeights, RuleSet } from './contact-rules.ts';

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

/** Risks already scored, per rule set, by `memoKey` (started over past 100,000). */
const scored = new WeakMap<RuleSet, Map<number, Risk>>();

/**
 * A whole number that names everything a score's parts depend on, when each fact is a small whole
 * number (else -1): the category, the duration part in tenths and the minutes its sentence says, the
 * proximity (household, same room, or the seat distance), low confidence and the exposures.
 */
function memoKey(w: RiskWeights, input: RiskInput): number {
  const c = input.category;
  const code = c === 'close' ? 0 : c === 'secondary' ? 1 : c === 'companion' ? 2 : c === 'general' ? 3 : -1;
  if (code < 0) return -1;
  const seconds = input.longestOverlapSeconds;
  const tenths = Math.round(Math.min(w.durationMax, (seconds / 3600) * w.durationPerHour) * 10);
  const minutes = Math.round(seconds / 60);
  const proximity = input.household ? 1 : input.sameRoom ? 2 : input.seatDistance === undefined ? 0 : 3 + input.seatDistance;
  const exposures = input.exposures;
  if (!(Number.isInteger(tenths) && tenths >= 0 && tenths < 1024 && Number.isInteger(minutes) && minutes >= 0 && minutes < 131_072
    && Number.isInteger(proximity) && proximity >= 0 && proximity < 1024 && Number.isInteger(exposures) && exposures >= 0 && exposures < 1024)) {
    return -1;
  }
  // 2 + 1 + 10 + 10 + 10 + 17 bits: within a double's 53.
  return ((((code * 2 + (input.lowConfidence ? 1 : 0)) * 1024 + tenths) * 1024 + proximity) * 1024 + exposures) * 131_072 + minutes;
}

/**
 * Scores a contact. Pure: the same facts and weights give the same score. A trace scores hundreds of
 * contacts and most share their facts with one scored before: the same frozen score is handed out again.
 */
export function scoreRisk(rules: RuleSet, input: RiskInput): Risk {
  const key = memoKey(rules.risk, input);
  if (key < 0) return computeRisk(rules, input);
  let memo = scored.get(rules);
  if (!memo) scored.set(rules, (memo = new Map()));
  const known = memo.get(key);
  if (known) return known;
  if (memo.size >= 100_000) memo.clear();
  const risk = computeRisk(rules, input);
  for (const part of risk.parts) Object.freeze(part);
  Object.freeze(risk.parts);
  memo.set(key, Object.freeze(risk));
  return risk;
}

function computeRisk(rules: RuleSet, input: RiskInput): Risk {
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
