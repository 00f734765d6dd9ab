/**
 * @module The domain event bus: services publish what changed in the loop (a case confirmed, a command
 * pushed, accepted, escalated, feedback filed) after their transaction commits; the server turns the
 * events into server-sent events for dashboards and inboxes. Events carry record ids and the
 * jurisdictions concerned — never names or identifiers — so a subscriber filters by scope and fetches
 * details through the services, which apply the reader's scope.
 */
import type { CaseClassification } from '../domain/case.ts';
import type { CommandEventKind, CommandState } from '../domain/command.ts';
import type { FeedbackOutcome } from '../domain/feedback.ts';

interface Base {
  /** UTC time of the change. */
  at: string;
  /**
   * The units concerned (the command's unit, where it was escalated or transferred from, the case's
   * unit); a subscriber shows an event to a user when one of them is in the user's subtree.
   */
  jurisdictions: string[];
}

export type LoopEvent =
  | (Base & { type: 'case.created'; caseId: string; classification: CaseClassification; sourceCaseId: string | null })
  | (Base & { type: 'case.classified'; caseId: string; from: CaseClassification; to: CaseClassification })
  | (Base & { type: 'case.traced'; caseId: string; contacts: number; newLeads: number; commands: number })
  | (Base & { type: 'case.loop_closed'; caseId: string })
  | (Base & { type: 'lead.created'; leadId: string; caseId: string })
  | (Base & { type: 'lead.closed'; leadId: string; caseId: string; outcome: FeedbackOutcome })
  | (Base & { type: 'command.changed'; commandId: string; kind: CommandEventKind; state: CommandState; overdue: boolean })
  | (Base & { type: 'feedback.filed'; commandId: string; leadId: string; outcome: FeedbackOutcome })
  | (Base & { type: 'jurisdictions.imported'; count: number });

export type LoopEventType = LoopEvent['type'];
export type LoopListener = (event: LoopEvent) => void;

/** A synchronous in-process bus. A failing listener never breaks the publisher or other listeners. */
export class EventBus {
  private readonly listeners = new Set<LoopListener>();
  private failures = 0;

  /** Registers a listener; returns the function that removes it. */
  subscribe(listener: LoopListener): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  /** Delivers an event to every listener, in subscription order. */
  publish(event: LoopEvent): void {
    for (const l of this.listeners) {
      try {
        l(event);
      } catch {
        // A broken dashboard connection must not undo or block a command; count it for diagnostics.
        this.failures++;
      }
    }
  }

  /** Delivers several events in order. */
  publishAll(events: readonly LoopEvent[]): void {
    for (const e of events) this.publish(e);
  }

  /** How many listener calls threw since start. */
  get listenerFailures(): number {
    return this.failures;
  }

  /** How many listeners are registered. */
  get size(): number {
    return this.listeners.size;
  }
}
