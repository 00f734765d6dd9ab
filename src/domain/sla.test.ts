import { describe, expect, it } from 'vitest';
import { DEFAULT_PUSH_RULES, deadlineOf, matchPushRule, parsePushRules } from './sla.ts';

describe('push rules', () => {
  it('gives a close contact an on-site verification within 2 h and a secondary one 12 h', () => {
    const close = matchPushRule(DEFAULT_PUSH_RULES, { category: 'close', degree: 1 });
    expect(close).toMatchObject({ type: 'verify_on_site', priority: 'urgent', withinMinutes: 120 });
    expect(deadlineOf(close!, '2020-01-25T06:00:00.000Z')).toBe('2020-01-25T08:00:00.000Z');
    expect(matchPushRule(DEFAULT_PUSH_RULES, { category: 'secondary', degree: 2 })?.withinMinutes).toBe(720);
    expect(matchPushRule(DEFAULT_PUSH_RULES, { category: 'key_person', degree: 1 })).toMatchObject({ type: 'home_control', withinMinutes: 240 });
    expect(matchPushRule(DEFAULT_PUSH_RULES, { category: 'general', degree: 1 })).toBeNull();
  });

  it('loads rules from data and names every bad field', () => {
    const parsed = parsePushRules(JSON.parse(JSON.stringify(DEFAULT_PUSH_RULES)));
    expect(parsed).toEqual(DEFAULT_PUSH_RULES);
    expect(() =>
      parsePushRules({ version: 'x', rules: [{ id: 'a', categories: ['close', 'nearby'], type: 'visit', priority: 'urgent', withinMinutes: 0 }] }, 'rules.json'),
    ).toThrow(/rules\.json: rules\[0\]\.categories: "nearby"[\s\S]*rules\[0\]\.type "visit"[\s\S]*rules\[0\]\.withinMinutes/);
    expect(() => parsePushRules([], 'rules.json')).toThrow('rules.json: expected an object');
  });

  it('matches on degree when a rule names one', () => {
    const set = parsePushRules({
      version: 't',
      rules: [
        { id: 'd2', categories: ['close'], degree: 2, type: 'test', priority: 'normal', withinMinutes: 60 },
        { id: 'any', categories: ['close'], type: 'verify_on_site', priority: 'urgent', withinMinutes: 120 },
      ],
    });
    expect(matchPushRule(set, { category: 'close', degree: 2 })?.id).toBe('d2');
    expect(matchPushRule(set, { category: 'close', degree: 1 })?.id).toBe('any');
  });
});
