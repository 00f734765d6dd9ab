/**
 * @module Cases as a use case: adding a case, reclassifying (confirming) it, recording isolation, and
 * tracing it — the trace runs through the TraceService and its contacts become exposures, leads and
 * pushed commands in one transaction. Reads apply the actor's jurisdiction scope.
 */
import {
  caseDatesProblem, checkReclassification, CaseRuleError, dateProblem, isCaseClassification, type CaseClassification,
} from '../domain/case.ts';
import { parseIdKey } from '../domain/formats.ts';
import type { Actor } from '../domain/jurisdiction.ts';
import { normaliseIds, personKeyOf, type ContactCategory } from '../domain/lead.ts';
import type { CaseEventRecord, CaseFilter, CaseRecord, RecordsOps, RecordsStore } from '../stores/records/records-store.ts';
import type { TraceResult, TraceService } from '../trace/types.ts';
import { TraceRequestError } from '../trace/window.ts';
import { newId, unitFor } from './command.service.ts';
import type { EventBus, LoopEvent } from './events.ts';
import { ConflictError, LoopInputError, NotFoundError, type JurisdictionService } from './jurisdiction.service.ts';
import type { ContactInput, LeadService, RecordedContacts } from './lead.service.ts';

/** A new case as submitted. */
export interface NewCase {
  /** The person's identifiers, `kind:value` (at least one). */
  ids: readonly string[];
  classification: string;
  /** Symptom onset, `YYYY-MM-DD`. */
  onset?: string | null;
  /** Sampling date of the positive test, `YYYY-MM-DD`. */
  sampled?: string | null;
  /** When the person was isolated, ISO 8601. */
  isolatedAt?: string | null;
  /** The responsible unit; otherwise found from residence or last known location. */
  jurisdiction?: string | null;
  /** The case this one was infected through, if known. */
  sourceCaseId?: string | null;
  /** The lead that became this case. */
  sourceLeadId?: string | null;
  /** Run the trace and push leads now (default true). */
  trace?: boolean;
  /** Why the case is created (kept in its history). */
  reason?: string | null;
}

/** What a trace of a case did. */
export interface CaseTraceOutcome {
  contacts: number;
  recorded: RecordedContacts;
  window: TraceResult['window'] | null;
}

export interface CaseServiceOptions {
  /** Rule set for traces (`v8`, `v9`); the tracer's default otherwise. */
  traceRules?: string;
  /** Trace degree (default 2: close contacts and their secondary contacts). */
  traceDegree?: 1 | 2;
}

/** Keeps the evidence of a contact readable and bounded: the strongest pairs, and how many more. */
const MAX_EVIDENCE_PAIRS = 8;

/** Turns a trace's contacts into the loop's contact inputs. */
export function contactsFromTrace(result: TraceResult): ContactInput[] {
  const idsByKey = new Map<string, readonly string[]>();
  for (const c of result.contacts) idsByKey.set(c.key, c.ids);
  return result.contacts
    .filter((c) => c.ids.length > 0)
    .map((c) => ({
      ids: c.ids,
      degree: c.degree,
      category: c.category as ContactCategory,
      ...(c.via && idsByKey.get(c.via)?.length ? { viaIds: idsByKey.get(c.via) } : {}),
      risk: c.risk.score,
      evidence: {
        rules: result.rules,
        firstExposure: c.firstExposure,
        risk: c.risk,
        pairs: c.evidence.slice(0, MAX_EVIDENCE_PAIRS),
        morePairs: Math.max(0, c.evidence.length - MAX_EVIDENCE_PAIRS),
      },
      seenAt: placesSeenAt(c),
    }));
}

/**
 * The places of a contact's own presences in the evidence, latest first and each once: where the
 * trace last saw them, so locating them needs no scan of their presences.
 */
function placesSeenAt(c: TraceResult['contacts'][number]): string[] {
  const seen = [...c.evidence].sort((a, b) => (a.contact.end < b.contact.end ? 1 : a.contact.end > b.contact.end ? -1 : 0));
  return [...new Set(seen.map((e) => e.contact.place))];
}

function checkIds(ids: readonly string[], field = 'ids'): string[] {
  if (!ids.length) throw new LoopInputError(`${field}: at least one identifier KIND:VALUE is needed`);
  return normaliseIds(
    ids.map((raw, i) => {
      try {
        const { kind, value } = parseIdKey(raw.trim());
        return `${kind}:${value}`;
      } catch (err) {
        throw new LoopInputError(`${field}[${i}]: ${(err as Error).message}`);
      }
    }),
  );
}

export class CaseService {
  constructor(
    private readonly store: RecordsStore,
    private readonly bus: EventBus,
    private readonly jurisdictions: JurisdictionService,
    private readonly leads: LeadService,
    private readonly tracer: TraceService | null,
    private readonly opts: CaseServiceOptions = {},
    private readonly now: () => Date = () => new Date(),
  ) {}

  private async runTrace(ids: readonly string[], c: { classification: CaseClassification; onset: string | null; sampled: string | null; isolatedAt: string | null }): Promise<TraceResult | null> {
    if (!this.tracer) return null;
    try {
      return await this.tracer.trace({
      id: ids[0],
      ...(c.onset ? { onset: c.onset } : {}),
      ...(c.sampled ? { sampled: c.sampled } : {}),
      ...(c.isolatedAt ? { isolated: c.isolatedAt } : {}),
      asymptomatic: c.classification === 'asymptomatic' || !c.onset,
      ...(this.opts.traceRules ? { rules: this.opts.traceRules } : {}),
      degree: this.opts.traceDegree ?? 2,
      now: this.now().getTime(),
      });
    } catch (err) {
      // A request the tracer refuses (an empty window, a bad date) is the caller's input problem.
      if (err instanceof TraceRequestError) throw new LoopInputError(`cannot trace this case: ${err.message}`);
      throw err;
    }
  }

  /** Appends a case event with the next sequence number (given when known, e.g. 1 for a new case). */
  private async caseEvent(tx: RecordsOps, actor: Actor, e: Omit<CaseEventRecord, 'seq' | 'actorUserId' | 'actorRole' | 'at'>, at: string, knownSeq?: number): Promise<void> {
    const seq = knownSeq ?? (await tx.caseEvents(e.caseId)).length + 1;
    await tx.appendCaseEvent({ ...e, seq, at, actorUserId: actor.userId, actorRole: actor.role });
  }

  /**
   * Adds a case and (by default) traces it at once, pushing its leads. The person's identifiers are
   * completed by the trace's identity resolution before the case is keyed, so a case added by phone
   * and a lead found by ID card are the same person.
   */
  async add(actor: Actor, input: NewCase): Promise<{ case: CaseRecord; trace: CaseTraceOutcome | null }> {
    if (!isCaseClassification(input.classification)) {
      throw new LoopInputError(`classification "${input.classification}" must be suspected, confirmed or asymptomatic`);
    }
    const givenIds = checkIds(input.ids);
    const dates = { classification: input.classification, onset: input.onset ?? null, sampled: input.sampled ?? null };
    const bad = caseDatesProblem(dates);
    if (bad) throw new LoopInputError(bad);
    const isolatedAt = input.isolatedAt ?? null;
    if (isolatedAt !== null && Number.isNaN(Date.parse(isolatedAt))) throw new LoopInputError(`isolatedAt "${isolatedAt}" is not an ISO 8601 time`);
    const scope = await this.jurisdictions.scope(actor);
    if (input.jurisdiction && !scope.tree.has(input.jurisdiction)) throw new LoopInputError(`jurisdiction "${input.jurisdiction}" does not exist`);

    // Scope first: no trace is run for a person outside the actor's jurisdiction.
    const [home] = await this.leads.locatePeople([givenIds]);
    const unit = input.jurisdiction ?? unitFor(scope.tree, home, null).unit;
    // The identifiers are the caller's own input, but error texts may reach logs: name no one in them.
    if (!scope.sees(unit)) throw new NotFoundError('person', 'with these identifiers');
    const wantTrace = input.trace !== false;
    const result = wantTrace ? await this.runTrace(givenIds, { ...dates, isolatedAt }) : null;
    const ids = normaliseIds([...givenIds, ...(result?.person.ids ?? [])]);
    const personKey = personKeyOf(ids);
    const existing = await this.store.getCaseByPerson(personKey);
    if (existing) {
      if (!scope.sees(existing.jurisdiction)) throw new ConflictError('this person is already a case of another jurisdiction');
      throw new ConflictError(`this person is already case ${existing.id}`);
    }

    const contacts = result ? contactsFromTrace(result) : [];
    const units = await this.leads.locate(contacts, unit);
    const at = this.now().toISOString();
    const kase: CaseRecord = {
      id: newId('C'), personKey, ids, classification: input.classification, onset: dates.onset, sampled: dates.sampled,
      isolatedAt, jurisdiction: unit, sourceCaseId: input.sourceCaseId ?? null, sourceLeadId: input.sourceLeadId ?? null,
      loopClosed: false, traces: result ? 1 : 0, createdAt: at, updatedAt: at,
    };
    const events: LoopEvent[] = [];
    const recorded = await this.store.transaction(async (tx) => {
      await tx.insertCase(kase);
      await this.caseEvent(tx, actor, { caseId: kase.id, kind: 'created', from: null, to: kase.classification, reason: input.reason ?? null, data: null }, at, 1);
      const prior = await tx.getPersonStatus(personKey);
      await tx.putPersonStatus({
        personKey, ids: normaliseIds([...ids, ...(prior?.ids ?? [])]), status: 'case', jurisdiction: unit, caseId: kase.id, since: at, updatedAt: at,
      });
      events.push({ type: 'case.created', at, jurisdictions: [unit], caseId: kase.id, classification: kase.classification, sourceCaseId: kase.sourceCaseId });
      if (!result) return null;
      const rec = await this.leads.recordInTx(tx, actor, kase, contacts, units, events);
      await this.caseEvent(tx, actor, { caseId: kase.id, kind: 'traced', from: null, to: null, reason: null, data: { window: result.window, contacts: contacts.length, ...rec.byDisposition } }, at, 2);
      events.push({ type: 'case.traced', at, jurisdictions: [unit], caseId: kase.id, contacts: contacts.length, newLeads: rec.newLeads.length, commands: rec.commands });
      return rec;
    });
    this.bus.publishAll(events);
    return { case: kase, trace: recorded && result ? { contacts: contacts.length, recorded, window: result.window } : null };
  }

  /** Traces a case again (e.g. after new data or a new rule set) and pushes any new leads. */
  async retrace(actor: Actor, caseId: string): Promise<CaseTraceOutcome> {
    const kase = await this.get(actor, caseId);
    const result = await this.runTrace(kase.ids, kase);
    if (!result) throw new LoopInputError('no tracer is configured (the presence store is not open)');
    const contacts = contactsFromTrace(result);
    const units = await this.leads.locate(contacts, kase.jurisdiction);
    const at = this.now().toISOString();
    const events: LoopEvent[] = [];
    const recorded = await this.store.transaction(async (tx) => {
      const current = (await tx.getCase(caseId)) as CaseRecord;
      const rec = await this.leads.recordInTx(tx, actor, current, contacts, units, events);
      await tx.updateCase({ ...current, traces: current.traces + 1, loopClosed: current.loopClosed && rec.newLeads.length === 0, updatedAt: at });
      await this.caseEvent(tx, actor, { caseId, kind: 'traced', from: null, to: null, reason: null, data: { window: result.window, contacts: contacts.length, ...rec.byDisposition } }, at);
      if (current.loopClosed && rec.newLeads.length) {
        await this.caseEvent(tx, actor, { caseId, kind: 'loop_reopened', from: null, to: null, reason: 'new leads from a new trace', data: null }, at);
      }
      return rec;
    });
    events.push({ type: 'case.traced', at, jurisdictions: kase.jurisdiction ? [kase.jurisdiction] : [], caseId, contacts: contacts.length, newLeads: recorded.newLeads.length, commands: recorded.commands });
    this.bus.publishAll(events);
    return { contacts: contacts.length, recorded, window: result.window };
  }

  /**
   * Reclassifies a case (suspected → confirmed or asymptomatic; asymptomatic → confirmed), optionally
   * with its dates, and traces it again so the new lookback's contacts are pushed.
   */
  async confirm(
    actor: Actor,
    caseId: string,
    input: { classification?: string; onset?: string | null; sampled?: string | null; reason?: string | null; trace?: boolean } = {},
  ): Promise<{ case: CaseRecord; trace: CaseTraceOutcome | null }> {
    const to = input.classification ?? 'confirmed';
    if (!isCaseClassification(to)) throw new LoopInputError(`classification "${to}" must be suspected, confirmed or asymptomatic`);
    const bad = dateProblem('onset', input.onset) ?? dateProblem('sampled', input.sampled);
    if (bad) throw new LoopInputError(bad);
    const before = await this.get(actor, caseId);
    try {
      checkReclassification(before.classification, to);
    } catch (err) {
      if (err instanceof CaseRuleError) throw new LoopInputError(`case ${caseId}: ${err.message}`);
      throw err;
    }
    const at = this.now().toISOString();
    const next: CaseRecord = {
      ...before, classification: to, onset: input.onset ?? before.onset, sampled: input.sampled ?? before.sampled, updatedAt: at,
    };
    const datesBad = caseDatesProblem(next);
    if (datesBad) throw new LoopInputError(`case ${caseId}: ${datesBad}`);
    await this.store.transaction(async (tx) => {
      await tx.updateCase(next);
      await this.caseEvent(tx, actor, { caseId, kind: 'classified', from: before.classification, to, reason: input.reason ?? null, data: null }, at);
    });
    this.bus.publish({ type: 'case.classified', at, jurisdictions: next.jurisdiction ? [next.jurisdiction] : [], caseId, from: before.classification, to });
    const trace = input.trace === false || !this.tracer ? null : await this.retrace(actor, caseId);
    return { case: (await this.store.getCase(caseId)) as CaseRecord, trace };
  }

  /** Records when the case was isolated (bounds the lookback and the secondary window). */
  async isolate(actor: Actor, caseId: string, isolatedAt: string): Promise<CaseRecord> {
    if (Number.isNaN(Date.parse(isolatedAt))) throw new LoopInputError(`isolatedAt "${isolatedAt}" is not an ISO 8601 time`);
    const before = await this.get(actor, caseId);
    const at = this.now().toISOString();
    const next = { ...before, isolatedAt: new Date(isolatedAt).toISOString(), updatedAt: at };
    await this.store.transaction(async (tx) => {
      await tx.updateCase(next);
      await this.caseEvent(tx, actor, { caseId, kind: 'isolated', from: before.isolatedAt, to: next.isolatedAt, reason: null, data: null }, at);
    });
    return next;
  }

  /** A case the actor may see, else NotFound. */
  async get(actor: Actor, id: string): Promise<CaseRecord> {
    const scope = await this.jurisdictions.scope(actor);
    const kase = await this.store.getCase(id);
    if (!kase || !scope.sees(kase.jurisdiction)) throw new NotFoundError('case', id);
    return kase;
  }

  /** Cases in the actor's scope. */
  async list(actor: Actor, filter: Omit<CaseFilter, 'jurisdictions'> = {}): Promise<CaseRecord[]> {
    const scope = await this.jurisdictions.scope(actor);
    return this.store.listCases({ ...filter, ...(scope.codes ? { jurisdictions: scope.codes } : {}) });
  }

  /** A case's history of classification, isolation, traces and loop closure. */
  async history(actor: Actor, id: string): Promise<{ case: CaseRecord; events: CaseEventRecord[] }> {
    const kase = await this.get(actor, id);
    return { case: kase, events: await this.store.caseEvents(id) };
  }
}
