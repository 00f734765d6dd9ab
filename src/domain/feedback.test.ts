import { describe, expect, it } from 'vitest';
import { FeedbackValidationError, OUTCOME_EFFECTS, FEEDBACK_OUTCOMES, validateFeedback } from './feedback.ts';
import { decideExposure, personKeyOf } from './lead.ts';
import { checkReclassification, caseDatesProblem } from './case.ts';

describe('feedback validation', () => {
  it('accepts a full feedback and normalises identifiers', () => {
    const sut = validateFeedback({ outcome: 'tested_positive', temperature: 38.2, notes: ' 发热 ', namedContacts: ['phone:139', 'phone:139'], correctedIds: [] });
    expect(sut).toEqual({ outcome: 'tested_positive', temperature: 38.2, notes: '发热', namedContacts: ['phone:139'], correctedIds: [] });
  });

  it('names every bad field', () => {
    let err: unknown;
    try {
      validateFeedback({ outcome: 'gone', temperature: 80, namedContacts: ['nokind'], correctedIds: ['fax:1'] });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(FeedbackValidationError);
    const problems = (err as FeedbackValidationError).problems.join('\n');
    expect(problems).toMatch(/outcome "gone"/);
    expect(problems).toMatch(/temperature 80/);
    expect(problems).toMatch(/namedContacts\[0\]/);
    expect(problems).toMatch(/correctedIds\[0\]: .*unknown kind "fax"/);
  });

  it('needs corrected identifiers for an identity mismatch', () => {
    expect(() => validateFeedback({ outcome: 'identity_mismatch' })).toThrow(/needs the corrected identifiers/);
  });

  it('has an effect for every outcome; only not found and identity mismatch leave the work unfinished', () => {
    expect(Object.keys(OUTCOME_EFFECTS).sort()).toEqual([...FEEDBACK_OUTCOMES].sort());
    expect(FEEDBACK_OUTCOMES.filter((o) => !OUTCOME_EFFECTS[o].final).sort()).toEqual(['identity_mismatch', 'not_found']);
  });
});

describe('lead rules', () => {
  it('dedups against status and open leads', () => {
    expect(decideExposure({ status: 'centralized_isolation', hasOpenLead: false, pushable: true })).toBe('linked_to_status');
    expect(decideExposure({ status: 'case', hasOpenLead: true, pushable: true })).toBe('linked_to_status');
    expect(decideExposure({ status: 'contact', hasOpenLead: true, pushable: true })).toBe('joined_open_lead');
    expect(decideExposure({ status: 'tested_negative', hasOpenLead: false, pushable: true })).toBe('new_lead');
    expect(decideExposure({ status: null, hasOpenLead: false, pushable: false })).toBe('recorded');
  });

  it('keys a person by their most stable identifier, whatever the order', () => {
    expect(personKeyOf(['phone:2', 'id_card:9', 'card:1'])).toBe('id_card:9');
    expect(personKeyOf(['card:1', 'phone:3', 'phone:2'])).toBe('phone:2');
    expect(() => personKeyOf([])).toThrow(/at least one identifier/);
  });
});

describe('case rules', () => {
  it('allows suspected → confirmed and asymptomatic → confirmed, never a downgrade', () => {
    expect(() => checkReclassification('suspected', 'confirmed')).not.toThrow();
    expect(() => checkReclassification('asymptomatic', 'confirmed')).not.toThrow();
    expect(() => checkReclassification('confirmed', 'suspected')).toThrow('a confirmed case cannot become suspected (it is final)');
  });

  it('needs the dates a lookback counts from', () => {
    expect(caseDatesProblem({ classification: 'asymptomatic', onset: null, sampled: null })).toMatch(/sampling date/);
    expect(caseDatesProblem({ classification: 'confirmed', onset: '2020-02-30', sampled: null })).toMatch(/not a calendar date/);
    expect(caseDatesProblem({ classification: 'confirmed', onset: '2020-01-24', sampled: null })).toBeNull();
  });
});
