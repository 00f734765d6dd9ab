import { describe, expect, it } from 'vitest';
import { historyOf } from './person.tsx';
import type { PersonPage } from '../api/endpoints.ts';

/** Labels stand for themselves, so the rows show which keys were chosen. */
const t = (key: string): string => key;

function page(statusHistory: PersonPage['statusHistory']): PersonPage {
  return {
    personRef: 'p_x', ids: ['phone:138****0000'], jurisdiction: 'J', registered: [], case: null, commands: [], exposures: [],
    status: statusHistory.length ? { status: statusHistory.at(-1)!.status, since: statusHistory.at(-1)!.since, updatedAt: statusHistory.at(-1)!.since, caseId: null } : null,
    statusHistory,
    leads: [{
      id: 'L1', caseId: 'C1', personRef: 'p_x', ids: [], degree: 1, category: 'close', viaPersonRef: null, risk: 50, evidence: null,
      status: 'closed', outcome: 'tested_positive', commandId: null, jurisdiction: 'J', reissueOf: null, createdAt: '2026-03-01T09:00:00Z', closedAt: '2026-03-02T09:00:00Z',
    }],
  };
}

describe('historyOf', () => {
  it('lists every change of status from the store in time order among the lead events, skipping repeats', () => {
    const sut = historyOf(page([
      { status: 'lead', since: '2026-03-01T09:00:00Z', jurisdiction: 'J', caseId: 'C1' },
      { status: 'lead', since: '2026-03-01T10:00:00Z', jurisdiction: 'J', caseId: 'C2' },
      { status: 'home_control', since: '2026-03-01T12:00:00Z', jurisdiction: 'J', caseId: null },
      { status: 'confirmed', since: '2026-03-02T09:00:00Z', jurisdiction: 'J', caseId: 'C9' },
    ]), t);
    expect(sut.map((r) => [r.at, r.what])).toEqual([
      ['2026-03-01T09:00:00Z', 'person.leadOpened · contacts.close'],
      ['2026-03-01T09:00:00Z', 'person.statusChange · status.lead'],
      ['2026-03-01T12:00:00Z', 'person.statusChange · status.home_control'],
      ['2026-03-02T09:00:00Z', 'person.leadClosed · feedback.tested_positive'],
      ['2026-03-02T09:00:00Z', 'person.statusChange · status.confirmed'],
    ]);
    expect(sut.find((r) => r.what.endsWith('status.confirmed'))?.link).toBe('C9');
  });

  it('has no status rows for someone the loop never gave a status', () => {
    expect(historyOf(page([]), t).map((r) => r.what)).toEqual(['person.leadOpened · contacts.close', 'person.leadClosed · feedback.tested_positive']);
  });
});
