/**
 * @module Commands (指令) and their state machine: pushed → accepted → in_progress → feedback → closed.
 * Feedback that needs more work reopens to in_progress; an open command can be transferred to another
 * unit (with a reason) and, past its deadline, escalated to the parent unit. Every transition yields
 * an event (who, when, what, why); an invalid one is refused with an error saying what is allowed.
 */

export const COMMAND_TYPES = ['verify_on_site', 'home_control', 'centralized_isolation', 'test', 'hospital_transfer'] as const;
export type CommandType = (typeof COMMAND_TYPES)[number];

export const PRIORITIES = ['urgent', 'high', 'normal'] as const;
export type Priority = (typeof PRIORITIES)[number];

export const COMMAND_STATES = ['pushed', 'accepted', 'in_progress', 'feedback', 'closed'] as const;
export type CommandState = (typeof COMMAND_STATES)[number];

export const COMMAND_EVENT_KINDS = [
  'pushed', 'accepted', 'started', 'feedback', 'reopened', 'closed', 'transferred', 'escalated',
] as const;
export type CommandEventKind = (typeof COMMAND_EVENT_KINDS)[number];

/** What someone asks to do to a command. */
export type CommandAction =
  | { kind: 'accept' }
  | { kind: 'start' }
  | { kind: 'feedback' }
  | { kind: 'reopen'; reason: string }
  | { kind: 'close'; reason?: string }
  | { kind: 'transfer'; to: string; reason: string }
  | { kind: 'escalate'; to: string; reason?: string };

/** The fields of a command the state machine reads and writes. */
export interface CommandCore {
  id: string;
  state: CommandState;
  jurisdiction: string;
  deadline: string;
  overdue: boolean;
  escalationLevel: number;
  escalatedTo: string | null;
  updatedAt: string;
  version: number;
}

/** The event a transition produces (the caller adds command id, seq and actor). */
export interface TransitionEvent {
  kind: CommandEventKind;
  fromState: CommandState | null;
  toState: CommandState;
  fromJurisdiction: string | null;
  toJurisdiction: string | null;
  reason: string | null;
}

export class InvalidTransitionError extends Error {
  constructor(
    message: string,
    readonly commandId: string,
    readonly state: CommandState,
    readonly action: CommandAction['kind'],
  ) {
    super(message);
    this.name = 'InvalidTransitionError';
  }
}

/** The states each action may start from, and where it leads (null: the state does not change). */
const TABLE: Record<CommandAction['kind'], { from: readonly CommandState[]; to: CommandState | null; event: CommandEventKind }> = {
  accept: { from: ['pushed'], to: 'accepted', event: 'accepted' },
  start: { from: ['accepted'], to: 'in_progress', event: 'started' },
  feedback: { from: ['in_progress'], to: 'feedback', event: 'feedback' },
  reopen: { from: ['feedback'], to: 'in_progress', event: 'reopened' },
  close: { from: ['feedback'], to: 'closed', event: 'closed' },
  // A transferred command starts over at the new unit, which must accept it.
  transfer: { from: ['pushed', 'accepted', 'in_progress'], to: 'pushed', event: 'transferred' },
  escalate: { from: ['pushed', 'accepted', 'in_progress', 'feedback'], to: null, event: 'escalated' },
};

/** The actions allowed in a state, for error messages and UIs. */
export function allowedActions(state: CommandState): CommandAction['kind'][] {
  return (Object.keys(TABLE) as CommandAction['kind'][]).filter((k) => TABLE[k].from.includes(state));
}

/**
 * Applies an action at time `now` (ISO). Returns the next command (version + 1) and the event, or
 * throws InvalidTransitionError naming the command, its state, the action and what is allowed.
 */
export function transition<C extends CommandCore>(cmd: C, action: CommandAction, now: string): { next: C; event: TransitionEvent } {
  const rule = TABLE[action.kind];
  const refuse = (why: string): never => {
    throw new InvalidTransitionError(`command ${cmd.id}: cannot ${action.kind} — ${why}`, cmd.id, cmd.state, action.kind);
  };
  if (!rule.from.includes(cmd.state)) {
    const allowed = allowedActions(cmd.state);
    refuse(`it is ${cmd.state}; allowed: ${allowed.length ? allowed.join(', ') : 'nothing (closed is final)'}`);
  }
  let reason: string | null = null;
  let jurisdiction = cmd.jurisdiction;
  let escalatedTo = cmd.escalatedTo;
  let escalationLevel = cmd.escalationLevel;
  switch (action.kind) {
    case 'transfer':
      if (!action.reason.trim()) refuse('a transfer needs a reason');
      if (!action.to) refuse('a transfer needs a target jurisdiction');
      if (action.to === cmd.jurisdiction) refuse(`it is already with ${action.to}`);
      reason = action.reason.trim();
      jurisdiction = action.to;
      // The new unit owns it from now: an earlier escalation was about the old unit's delay.
      escalatedTo = null;
      escalationLevel = 0;
      break;
    case 'reopen':
      if (!action.reason.trim()) refuse('reopening needs a reason');
      reason = action.reason.trim();
      break;
    case 'escalate':
      if (!action.to) refuse('an escalation needs a target unit');
      if (action.to === cmd.jurisdiction || action.to === cmd.escalatedTo) refuse(`it is already with ${action.to}`);
      escalatedTo = action.to;
      escalationLevel = cmd.escalationLevel + 1;
      reason = action.reason?.trim() || `overdue since ${cmd.deadline}`;
      break;
    case 'close':
      reason = action.reason?.trim() || null;
      break;
    case 'accept':
    case 'start':
    case 'feedback':
      break;
    default: {
      const never: never = action;
      throw new Error(`unknown action ${JSON.stringify(never)}`);
    }
  }
  const toState = rule.to ?? cmd.state;
  const next: C = {
    ...cmd,
    state: toState,
    jurisdiction,
    escalatedTo,
    escalationLevel,
    overdue: action.kind === 'escalate' ? true : cmd.overdue,
    updatedAt: now,
    version: cmd.version + 1,
  };
  return {
    next,
    event: {
      kind: rule.event,
      fromState: cmd.state,
      toState,
      fromJurisdiction: cmd.jurisdiction,
      toJurisdiction: action.kind === 'escalate' ? escalatedTo : jurisdiction,
      reason,
    },
  };
}

/** True when the command is not closed and its deadline is before `now`. */
export function isOverdue(cmd: Pick<CommandCore, 'state' | 'deadline'>, now: string): boolean {
  return cmd.state !== 'closed' && cmd.deadline < now;
}

/**
 * How many levels an open command should be escalated by `now`: one as soon as it is overdue, then
 * one more for every further SLA window (deadline − created) it stays open, capped by `maxLevels`.
 */
export function dueEscalationLevel(cmd: { createdAt: string; deadline: string; state: CommandState }, now: string, maxLevels: number): number {
  if (!isOverdue(cmd, now)) return 0;
  const window = Math.max(60_000, Date.parse(cmd.deadline) - Date.parse(cmd.createdAt));
  const late = Date.parse(now) - Date.parse(cmd.deadline);
  return Math.min(maxLevels, 1 + Math.floor(late / window));
}
