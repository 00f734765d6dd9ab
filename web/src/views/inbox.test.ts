import { describe, expect, it } from 'vitest';
import { isOverdueAt, sortInbox } from './inbox.tsx';
import type { CommandState } from '../../../src/domain/command.ts';

const now = Date.parse('2026-03-01T08:00:00Z');
const cmd = (id: string, deadline: string, state: CommandState = 'pushed', overdue = false): { id: string; deadline: string; state: CommandState; overdue: boolean } => ({ id, deadline, state, overdue });

describe('inbox order', () => {
  it('puts overdue commands first, then the soonest deadlines; closed ones are never overdue', () => {
    const sut = sortInbox([
      cmd('later', '2026-03-01T12:00:00Z'),
      cmd('late', '2026-03-01T07:00:00Z'),
      cmd('soon', '2026-03-01T09:00:00Z'),
      cmd('flagged', '2026-03-01T10:00:00Z', 'accepted', true),
      cmd('done', '2026-03-01T06:00:00Z', 'closed'),
    ], now);
    expect(sut.map((c) => c.id)).toEqual(['late', 'flagged', 'done', 'soon', 'later']);
    expect(isOverdueAt(cmd('x', '2026-03-01T07:59:59Z'), now)).toBe(true);
    expect(isOverdueAt(cmd('x', '2026-03-01T08:00:00Z'), now)).toBe(false);
    expect(isOverdueAt(cmd('x', '2020-01-01T00:00:00Z', 'closed', true), now)).toBe(false);
  });
});
