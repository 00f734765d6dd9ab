import { describe, expect, it } from 'vitest';
import { loadRuleSet, type Category, type RuleSet } from './contact-rules.ts';
import { scoreRisk, type RiskInput } from './risk.ts';

const CATEGORIES: Category[] = ['close', 'secondary', 'companion', 'general'];

/** Inputs that differ in one fact at a time, near the places a score changes (a tenth of the duration part, a minute, a row). */
function inputs(): RiskInput[] {
  const out: RiskInput[] = [];
  let seed = 7;
  const rand = (k: number): number => {
    seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
    return seed % k;
  };
  for (let i = 0; i < 4000; i++) {
    const proximity = rand(4);
    out.push({
      category: CATEGORIES[rand(4)],
      longestOverlapSeconds: rand(3) === 0 ? rand(200) * 30 + rand(2) : rand(3) === 0 ? 36 * rand(400) + rand(3) - 1 : rand(50_000),
      seatDistance: proximity === 3 ? rand(12) : undefined,
      household: proximity === 1,
      sameRoom: proximity === 2,
      lowConfidence: rand(2) === 0,
      exposures: rand(6),
    });
  }
  // Facts that are not small whole numbers are scored too (not remembered).
  out.push({ category: 'close', longestOverlapSeconds: 1e12, household: false, sameRoom: false, lowConfidence: false, exposures: 1 });
  out.push({ category: 'general', longestOverlapSeconds: 61.5, seatDistance: 2.5, household: false, sameRoom: false, lowConfidence: true, exposures: 5000 });
  return out;
}

describe('scoreRisk', () => {
  it('gives the same score for the same facts whatever was scored before it (the remembered scores never stand in for other facts)', () => {
    const list = inputs();
    // Two copies of the same rule set remember separately: one scores the inputs forwards, the other backwards.
    const a: RuleSet = structuredClone(loadRuleSet('v8'));
    const b: RuleSet = structuredClone(loadRuleSet('v8'));
    const forwards = list.map((x) => scoreRisk(a, x));
    const backwards = [...list].reverse().map((x) => scoreRisk(b, x)).reverse();
    expect(JSON.parse(JSON.stringify(forwards))).toEqual(JSON.parse(JSON.stringify(backwards)));
    // And again from the memory: the same values.
    expect(list.map((x) => scoreRisk(a, x))).toEqual(forwards);
  });

  it('reads the duration part and its minutes from the longest shared interval; frozen scores are shared', () => {
    const rules = loadRuleSet('v8');
    const base = { category: 'close' as const, household: false, sameRoom: false, lowConfidence: false, exposures: 1 };
    const one = scoreRisk(rules, { ...base, longestOverlapSeconds: 3600 });
    const two = scoreRisk(rules, { ...base, longestOverlapSeconds: 7200 });
    expect(one.parts.find((p) => p.factor === 'duration')?.why).toBe('longest shared interval 60 min');
    expect(two.parts.find((p) => p.factor === 'duration')?.why).toBe('longest shared interval 120 min');
    expect(two.score).toBeGreaterThan(one.score);
    expect(scoreRisk(rules, { ...base, longestOverlapSeconds: 3600 })).toBe(one);
    expect(Object.isFrozen(one) && Object.isFrozen(one.parts) && one.parts.every((p) => Object.isFrozen(p))).toBe(true);
    const rows = scoreRisk(rules, { ...base, longestOverlapSeconds: 600, seatDistance: 1 });
    expect(rows.parts.find((p) => p.factor === 'proximity')?.why).toBe('1 rows apart');
    expect(scoreRisk(rules, { ...base, longestOverlapSeconds: 600, seatDistance: 2 }).score).toBeLessThan(rows.score);
  });
});
