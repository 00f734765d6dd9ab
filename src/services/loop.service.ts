/**
 * @module The closed loop, assembled and summarised: `createLoop` wires the jurisdiction, case, lead,
 * command and feedback services over one records store, event bus and tracer; `LoopService` answers
 * the commander's questions — open leads and overdue commands per unit, people under control, the
 * transmission chain — within the actor's scope.
 */
import type { CaseClassification } from '../domain/case.ts';
import { systemActor, type Actor } from '../domain/jurisdiction.ts';
import type { PersonStatus } from '../domain/lead.ts';
import fs from 'node:fs';
import { DEFAULT_PUSH_RULES, parsePushRules, type PushRuleSet } from '../domain/sla.ts';
import type { CaseRecord, RecordsStore } from '../stores/records/records-store.ts';
import type { TraceService } from '../trace/types.ts';
import { CaseService, type CaseServiceOptions } from './case.service.ts';
import { CommandService, NO_WHEREABOUTS, tracerRecentPlaces, type Whereabouts } from './command.service.ts';
import { EventBus, type LoopEvent } from './events.ts';
import { FeedbackService, type IdentityResolver } from './feedback.service.ts';
import { JurisdictionService, LoopInputError, NotFoundError } from './jurisdiction.service.ts';
import { LeadService } from './lead.service.ts';

/** Per-unit figures of the dashboard. */
export interface UnitSummary {
  jurisdiction: string | null;
  openLeads: number;
  openCommands: number;
  overdueCommands: number;
  cases: number;
}

/** The whole picture within a scope. */
export interface LoopSummary {
  cases: Record<CaseClassification, number>;
  casesWithOpenLoop: number;
  openLeads: number;
  openCommands: number;
  overdueCommands: number;
  /** People by status (under home control, in isolation, in hospital, …). */
  people: Partial<Record<PersonStatus, number>>;
  /** Per unit, only units with something to show. */
  units: UnitSummary[];
}

/** One link in the transmission chain: a case and the case it came through. */
export interface ChainNode {
  caseId: string;
  classification: CaseClassification;
  jurisdiction: string | null;
  sourceCaseId: string | null;
  loopClosed: boolean;
  /** Open leads of the case. */
  openLeads: number;
  createdAt: string;
}

export class LoopService {
  constructor(
    private readonly store: RecordsStore,
    private readonly jurisdictions: JurisdictionService,
    private readonly feedback: FeedbackService,
    private readonly bus: EventBus,
  ) {}

  /** Counts for the commander's dashboard, within the actor's subtree. */
  async summary(actor: Actor): Promise<LoopSummary> {
    const scope = await this.jurisdictions.scope(actor);
    const counts = (await this.store.countsByJurisdiction()).filter((c) => scope.sees(c.jurisdiction));
    const cases = await this.store.listCases(scope.codes ? { jurisdictions: scope.codes } : {});
    const byClass: Record<CaseClassification, number> = { suspected: 0, confirmed: 0, asymptomatic: 0 };
    for (const c of cases) byClass[c.classification]++;
    const people: Partial<Record<PersonStatus, number>> = {};
    for (const p of await this.store.listPersonStatuses([], scope.codes)) people[p.status] = (people[p.status] ?? 0) + 1;
    const sum = (k: keyof UnitSummary): number => counts.reduce((n, c) => n + (typeof c[k] === 'number' ? (c[k] as number) : 0), 0);
    return {
      cases: byClass,
      casesWithOpenLoop: cases.filter((c) => !c.loopClosed).length,
      openLeads: sum('openLeads'),
      openCommands: sum('openCommands'),
      overdueCommands: sum('overdueCommands'),
      people,
      units: counts,
    };
  }

  /**
   * The transmission chain around a case: its ancestors (the cases it came through) up to the first
   * known case, and every case descended from it. Cases outside the actor's scope are left out.
   */
  async chain(actor: Actor, caseId: string): Promise<ChainNode[]> {
    const scope = await this.jurisdictions.scope(actor);
    const all = await this.store.listCases({});
    const byId = new Map(all.map((c) => [c.id, c]));
    const start = byId.get(caseId);
    if (!start || !scope.sees(start.jurisdiction)) throw new NotFoundError('case', caseId);
    const picked = new Map<string, CaseRecord>();
    for (let c: CaseRecord | undefined = start; c && !picked.has(c.id); c = c.sourceCaseId ? byId.get(c.sourceCaseId) : undefined) picked.set(c.id, c);
    const children = new Map<string, CaseRecord[]>();
    for (const c of all) if (c.sourceCaseId) children.set(c.sourceCaseId, [...(children.get(c.sourceCaseId) ?? []), c]);
    const stack = [start.id];
    while (stack.length) {
      for (const child of children.get(stack.pop() as string) ?? []) {
        if (!picked.has(child.id)) {
          picked.set(child.id, child);
          stack.push(child.id);
        }
      }
    }
    const open = await this.store.listLeads({ status: 'open' });
    const openBy = new Map<string, number>();
    for (const l of open) openBy.set(l.caseId, (openBy.get(l.caseId) ?? 0) + 1);
    return [...picked.values()]
      .filter((c) => scope.sees(c.jurisdiction))
      .sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.id.localeCompare(b.id))
      .map((c) => ({
        caseId: c.id, classification: c.classification, jurisdiction: c.jurisdiction, sourceCaseId: c.sourceCaseId,
        loopClosed: c.loopClosed, openLeads: openBy.get(c.id) ?? 0, createdAt: c.createdAt,
      }));
  }

  /** Closes the loop of every case whose leads are all final (e.g. a case traced with no contacts). */
  async closeLoops(): Promise<string[]> {
    const open = await this.store.listCases({ loopClosed: false });
    const events: LoopEvent[] = [];
    const closed = await this.store.transaction((tx) => this.feedback.closeLoopsInTx(tx, systemActor(), open.map((c) => c.id), events));
    this.bus.publishAll(events);
    return closed;
  }
}

/**
 * Reads push rules from a JSON file (`{ version, maxEscalationLevels, rules: [...] }`, the shape of
 * DEFAULT_PUSH_RULES); every bad field is reported with the file and its place in it.
 */
export function readPushRulesFile(file: string): PushRuleSet {
  let json: unknown;
  try {
    json = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    throw new LoopInputError(`${file}: cannot read push rules (${(err as Error).message})`);
  }
  try {
    return parsePushRules(json, file);
  } catch (err) {
    throw new LoopInputError((err as Error).message);
  }
}

/** Everything the loop needs. Only the store is required. */
export interface LoopDeps {
  store: RecordsStore;
  bus?: EventBus;
  /** Runs traces; without it cases are recorded but not traced. */
  tracer?: TraceService | null;
  /** Finds where people live or were last seen; without it leads go to the case's unit. */
  whereabouts?: Whereabouts;
  /**
   * Resolves an identifier to its person (the identity service): corrected identifiers from feedback
   * join the person they belong to. Without it they are taken as given.
   */
  identity?: IdentityResolver | null;
  rules?: PushRuleSet;
  trace?: CaseServiceOptions;
  /** The clock (tests and simulations move it). */
  now?: () => Date;
}

/** The loop's services over one store and bus. */
export interface Loop {
  bus: EventBus;
  jurisdictions: JurisdictionService;
  cases: CaseService;
  leads: LeadService;
  commands: CommandService;
  feedback: FeedbackService;
  status: LoopService;
}

/** Wires the loop's services together. */
export function createLoop(deps: LoopDeps): Loop {
  const bus = deps.bus ?? new EventBus();
  const rules = deps.rules ?? DEFAULT_PUSH_RULES;
  const now = deps.now ?? (() => new Date());
  const whereabouts = deps.whereabouts ?? NO_WHEREABOUTS;
  const jurisdictions = new JurisdictionService(deps.store, bus);
  const commands = new CommandService(deps.store, bus, jurisdictions, rules, now);
  // Contacts a trace's evidence cannot place are looked up in the tracer's index (their latest presences
  // alone, no contact search) before any read of the presence store.
  const recent = deps.tracer ? tracerRecentPlaces(deps.tracer, now) : undefined;
  const leads = new LeadService(deps.store, jurisdictions, commands, whereabouts, rules, now, recent);
  const cases = new CaseService(deps.store, bus, jurisdictions, leads, deps.tracer ?? null, deps.trace ?? {}, now);
  const feedback = new FeedbackService(deps.store, bus, jurisdictions, commands, leads, cases, now, deps.identity ?? null);
  const status = new LoopService(deps.store, jurisdictions, feedback, bus);
  return { bus, jurisdictions, cases, leads, commands, feedback, status };
}
