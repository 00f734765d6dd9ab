import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { COMMAND_STATES, InvalidTransitionError, dueEscalationLevel, transition, type CommandAction, type CommandCore, type CommandState } from './command.ts';

const T0 = '2020-01-25T06:00:00.000Z';
const start = (): CommandCore => ({
  id: 'K-1', state: 'pushed', jurisdiction: 'P1', deadline: '2020-01-25T08:00:00.000Z', overdue: false,
  escalationLevel: 0, escalatedTo: null, updatedAt: T0, version: 1,
});

// The lifecycle, written out independently of the implementation's table:
// pushed → accepted → in_progress → feedback → closed; feedback may go back to in_progress;
// transfer restarts at pushed from any state before feedback; escalation keeps the state.
const EXPECTED: Record<CommandAction['kind'], Partial<Record<CommandState, CommandState>>> = {
  accept: { pushed: 'accepted' },
  start: { accepted: 'in_progress' },
  feedback: { in_progress: 'feedback' },
  reopen: { feedback: 'in_progress' },
  close: { feedback: 'closed' },
  transfer: { pushed: 'pushed', accepted: 'pushed', in_progress: 'pushed' },
  escalate: { pushed: 'pushed', accepted: 'accepted', in_progress: 'in_progress', feedback: 'feedback' },
};

const units = ['P1', 'P2', 'P3', 'D1', 'D2', 'CITY'];
const arbAction: fc.Arbitrary<CommandAction> = fc.oneof(
  fc.constant({ kind: 'accept' as const }),
  fc.constant({ kind: 'start' as const }),
  fc.constant({ kind: 'feedback' as const }),
  fc.constant({ kind: 'close' as const }),
  fc.record({ kind: fc.constant('reopen' as const), reason: fc.constantFrom('', '  ', 'needs a second visit') }),
  fc.record({ kind: fc.constant('transfer' as const), to: fc.constantFrom(...units), reason: fc.constantFrom('', 'lives in P2', '住址在辖区外') }),
  fc.record({ kind: fc.constant('escalate' as const), to: fc.constantFrom(...units) }),
);

describe('command state machine', () => {
  it('any sequence of actions leaves a consistent state, and every refused action says why', () => {
    fc.assert(
      fc.property(fc.array(arbAction, { maxLength: 40 }), (actions) => {
        let sut = start();
        const history: { kind: string; fromState: CommandState | null; toState: CommandState; toJurisdiction: string | null }[] = [];
        let escalationsSinceTransfer = 0;
        for (const action of actions) {
          const expectedState = EXPECTED[action.kind][sut.state];
          const needsReason = (action.kind === 'transfer' || action.kind === 'reopen') && !action.reason.trim();
          const sameUnit =
            (action.kind === 'transfer' && action.to === sut.jurisdiction) ||
            (action.kind === 'escalate' && (action.to === sut.jurisdiction || action.to === sut.escalatedTo));
          const valid = expectedState !== undefined && !needsReason && !sameUnit;
          if (!valid) {
            let error: unknown;
            try {
              transition(sut, action, T0);
            } catch (err) {
              error = err;
            }
            expect(error).toBeInstanceOf(InvalidTransitionError);
            const message = (error as Error).message;
            expect(message).toContain(sut.id);
            expect(message).toContain(action.kind);
            if (expectedState === undefined) expect(message).toContain(`it is ${sut.state}`);
            continue;
          }
          const { next, event } = transition(sut, action, T0);
          expect(next.state).toBe(expectedState);
          expect(event.fromState).toBe(sut.state);
          expect(event.toState).toBe(next.state);
          expect(next.version).toBe(sut.version + 1);
          if (action.kind === 'transfer') {
            expect(next.jurisdiction).toBe(action.to);
            expect(event.reason).toBe(action.reason.trim());
            escalationsSinceTransfer = 0;
          } else {
            expect(next.jurisdiction).toBe(sut.jurisdiction);
          }
          if (action.kind === 'escalate') {
            escalationsSinceTransfer++;
            expect(next.escalatedTo).toBe(action.to);
            expect(next.overdue).toBe(true);
          }
          expect(next.escalationLevel).toBe(escalationsSinceTransfer);
          history.push(event);
          sut = next;
        }
        // Replaying the events alone gives the same state: the history is the whole story.
        let replayed: CommandState = 'pushed';
        let unit = 'P1';
        for (const e of history) {
          expect(e.fromState).toBe(replayed);
          replayed = e.toState;
          if (e.kind === 'transferred') unit = e.toJurisdiction as string;
        }
        expect(replayed).toBe(sut.state);
        expect(unit).toBe(sut.jurisdiction);
        expect(sut.version).toBe(history.length + 1);
      }),
      { numRuns: 500 },
    );
  });

  it('closed is final: every action on a closed command is refused', () => {
    let sut = start();
    for (const a of [{ kind: 'accept' }, { kind: 'start' }, { kind: 'feedback' }, { kind: 'close' }] as CommandAction[]) sut = transition(sut, a, T0).next;
    expect(sut.state).toBe('closed');
    for (const kind of ['accept', 'start', 'feedback', 'close'] as const) {
      expect(() => transition(sut, { kind }, T0)).toThrow(/cannot .* it is closed; allowed: nothing \(closed is final\)/);
    }
    expect(() => transition(sut, { kind: 'transfer', to: 'P2', reason: 'x' }, T0)).toThrow(InvalidTransitionError);
  });

  it('names the allowed actions when refusing', () => {
    expect(() => transition(start(), { kind: 'close' }, T0)).toThrow('command K-1: cannot close — it is pushed; allowed: accept, transfer, escalate');
  });

  it('escalates one level when overdue and one more per further SLA window', () => {
    const cmd = { createdAt: '2020-01-25T06:00:00.000Z', deadline: '2020-01-25T08:00:00.000Z', state: 'pushed' as CommandState };
    expect(dueEscalationLevel(cmd, '2020-01-25T07:59:59.000Z', 2)).toBe(0);
    expect(dueEscalationLevel(cmd, '2020-01-25T08:00:01.000Z', 2)).toBe(1);
    expect(dueEscalationLevel(cmd, '2020-01-25T10:00:01.000Z', 2)).toBe(2);
    expect(dueEscalationLevel(cmd, '2020-01-26T10:00:01.000Z', 2)).toBe(2);
    expect(dueEscalationLevel({ ...cmd, state: 'closed' }, '2020-01-26T10:00:01.000Z', 2)).toBe(0);
    expect(COMMAND_STATES).toEqual(['pushed', 'accepted', 'in_progress', 'feedback', 'closed']);
  });
});
