/**
 * @module Feedback as a use case, and the re-analysis it starts: a final outcome closes the lead and
 * its command; tested positive makes the person a confirmed case that is traced at once (its leads
 * pushed, linked into the transmission chain); identity mismatch reissues the lead under the corrected
 * identifiers; not found sends a wider search to the unit above; named contacts become leads. A case's
 * loop closes when every one of its leads has a final outcome.
 */
import { dateProblem } from '../domain/case.ts';
import type { CommandAction } from '../domain/command.ts';
import { OUTCOME_EFFECTS, validateFeedback, type FeedbackInput, type ValidFeedback } from '../domain/feedback.ts';
import { systemActor, type Actor } from '../domain/jurisdiction.ts';
import { isControlled, normaliseIds } from '../domain/lead.ts';
import type { CaseRecord, FeedbackRecord, LeadRecord, RecordsOps, RecordsStore } from '../stores/records/records-store.ts';
import type { CaseService } from './case.service.ts';
import { newId, type CommandService } from './command.service.ts';
import type { EventBus, LoopEvent } from './events.ts';
import { LoopInputError, type JurisdictionService } from './jurisdiction.service.ts';
import type { ContactInput, LeadService } from './lead.service.ts';

/** Resolves an identifier to its person: the part of the identity service feedback needs. */
export interface IdentityResolver {
  /** The person `kind:value` belongs to, with every identifier of theirs (conflicting links held back). */
  resolve(idKey: string): Promise<{ personKey: string; ids: string[] }>;
}

/** Marks, in the evidence of a reissued contact, the lead it carries on. */
const REISSUE_OF = 'reissueOf';

/** Feedback with what a positive test needs to start the next trace. */
export interface FeedbackSubmission extends FeedbackInput {
  /** For tested_positive: symptom onset, `YYYY-MM-DD`, when the person has symptoms. */
  onset?: string | null;
  /** For tested_positive: sampling date of the positive test, `YYYY-MM-DD` (default: today, UTC). */
  sampled?: string | null;
  /** For tested_positive: when the person was isolated, ISO 8601 (default: now, the time of the feedback). */
  isolatedAt?: string | null;
}

/** What filing one feedback did. */
export interface FeedbackResult {
  feedback: FeedbackRecord;
  /** The lead after the feedback. */
  lead: LeadRecord;
  /** A new case (tested positive), if one was made. */
  newCase: CaseRecord | null;
  /** New leads: the reissued lead, named contacts, the new case's contacts. */
  newLeads: number;
  /** Cases whose loop closed with this feedback. */
  closedLoops: string[];
}

export class FeedbackService {
  constructor(
    private readonly store: RecordsStore,
    private readonly bus: EventBus,
    private readonly jurisdictions: JurisdictionService,
    private readonly commands: CommandService,
    private readonly leads: LeadService,
    private readonly cases: CaseService,
    private readonly now: () => Date = () => new Date(),
    /** Identity resolution; without it corrected identifiers are taken as given. */
    private readonly identity: IdentityResolver | null = null,
  ) {}

  /**
   * The person behind corrected identifiers: every identifier identity resolution joins to any of
   * them (conflicting links held back), so the reissued lead is keyed, deduplicated and located as
   * that person.
   */
  private async resolveIds(ids: readonly string[]): Promise<string[]> {
    if (!this.identity) return normaliseIds([...ids]);
    const all = new Set(ids);
    for (const id of ids) for (const other of (await this.identity.resolve(id)).ids) all.add(other);
    return normaliseIds([...all]);
  }

  /** Files feedback on a command the actor sees, then runs the re-analysis the outcome calls for. */
  async file(actor: Actor, commandId: string, input: FeedbackSubmission): Promise<FeedbackResult> {
    let v: ValidFeedback;
    try {
      v = validateFeedback(input);
    } catch (err) {
      throw new LoopInputError((err as Error).message);
    }
    const bad = dateProblem('onset', input.onset) ?? dateProblem('sampled', input.sampled);
    if (bad) throw new LoopInputError(`invalid feedback: ${bad}`);
    if (input.isolatedAt && Number.isNaN(Date.parse(input.isolatedAt))) throw new LoopInputError(`invalid feedback: isolatedAt "${input.isolatedAt}" is not an ISO 8601 time`);
    const effect = OUTCOME_EFFECTS[v.outcome];
    const tree = await this.jurisdictions.tree();
    const cmd0 = await this.commands.get(actor, commandId);
    const lead0 = await this.store.getLead(cmd0.leadId);
    if (!lead0) throw new LoopInputError(`command ${commandId} has no lead`);
    // The corrected identifiers are resolved to their person, and places for the reissued lead looked up,
    // before the transaction (both read the data plane). The evidence names the lead it carries on.
    const reissue: ContactInput | null =
      v.outcome === 'identity_mismatch'
        ? {
          ids: await this.resolveIds(v.correctedIds), degree: lead0.degree, category: lead0.category, viaIds: undefined, risk: lead0.risk,
          evidence: { ...(typeof lead0.evidence === 'object' && lead0.evidence !== null ? lead0.evidence : { original: lead0.evidence }), [REISSUE_OF]: lead0.id },
        }
        : null;
    const reissueUnits = reissue ? await this.leads.locate([reissue], lead0.jurisdiction) : new Map();

    const at = this.now().toISOString();
    const events: LoopEvent[] = [];
    const system = systemActor();
    const outcome = await this.store.transaction(async (tx) => {
      let cmd = await this.commands.get(actor, commandId, tx);
      // An officer on site files feedback straight from the inbox: the accept and start it implies are
      // recorded as their own events, so the history still shows every step.
      const implied: CommandAction[] = cmd.state === 'pushed' ? [{ kind: 'accept' }, { kind: 'start' }] : cmd.state === 'accepted' ? [{ kind: 'start' }] : [];
      for (const a of implied) cmd = (await this.commands.actInTx(tx, actor, cmd, a, events, { implied: 'feedback' })).command;
      cmd = (await this.commands.actInTx(tx, actor, cmd, { kind: 'feedback' }, events, { outcome: v.outcome })).command;
      const feedback: FeedbackRecord = {
        id: newId('F'), commandId, leadId: cmd.leadId, outcome: v.outcome, temperature: v.temperature, notes: v.notes,
        namedContacts: v.namedContacts, correctedIds: v.correctedIds, actorUserId: actor.userId, actorRole: actor.role, at,
      };
      await tx.insertFeedback(feedback);
      events.push({ type: 'feedback.filed', at, jurisdictions: [cmd.jurisdiction], commandId, leadId: cmd.leadId, outcome: v.outcome });
      let lead = (await tx.getLead(cmd.leadId)) as LeadRecord;
      cmd = (await this.commands.actInTx(tx, actor, cmd, { kind: 'close', reason: v.outcome }, events)).command;
      let newLeads = 0;

      if (effect.final || v.outcome === 'identity_mismatch') {
        if (lead.status === 'open') {
          lead = { ...lead, status: 'closed', outcome: v.outcome, closedAt: at };
          await tx.updateLead(lead);
          events.push({ type: 'lead.closed', at, jurisdictions: lead.jurisdiction ? [lead.jurisdiction] : [], leadId: lead.id, caseId: lead.caseId, outcome: v.outcome });
        }
      }
      const status = await tx.getPersonStatus(lead.personKey);
      const nextStatus = v.outcome === 'already_under_control' ? (isControlled(status?.status) ? null : 'home_control') : effect.status;
      // A positive test makes the person a case: the case service sets that status when it creates the case.
      if (nextStatus && v.outcome !== 'tested_positive') {
        await tx.putPersonStatus({
          personKey: lead.personKey, ids: normaliseIds([...lead.ids, ...(status?.ids ?? [])]), status: nextStatus,
          jurisdiction: status?.jurisdiction ?? lead.jurisdiction, caseId: status?.caseId ?? null, since: at, updatedAt: at,
        });
      }

      if (v.outcome === 'not_found' && lead.status === 'open') {
        // A wider search: the unit above gets a new command for the same lead.
        const up = tree.parentOf(cmd.jurisdiction) ?? cmd.jurisdiction;
        const next = await this.commands.pushInTx(tx, system, lead, up, `not found by ${cmd.jurisdiction}: search widened (command ${cmd.id})`, events);
        if (next) {
          lead = { ...lead, commandId: next.id, jurisdiction: up };
          await tx.updateLead(lead);
        }
      }

      if (reissue) {
        const kase = (await tx.getCase(lead.caseId)) as CaseRecord;
        const rec = await this.leads.recordInTx(tx, system, kase, [reissue], reissueUnits, events);
        for (const l of rec.newLeads) await tx.updateLead({ ...l, reissueOf: lead.id });
        newLeads += rec.newLeads.length;
      }
      const closedLoops = await this.closeLoopsInTx(tx, system, [lead.caseId], events);
      return { feedback, lead, newLeads, closedLoops };
    });
    this.bus.publishAll(events);

    let newCase: CaseRecord | null = null;
    let newLeads = outcome.newLeads;
    let contactsOf = outcome.lead.caseId;
    if (v.outcome === 'tested_positive') {
      const existing = await this.store.getCaseByPerson(outcome.lead.personKey);
      if (existing) {
        contactsOf = existing.id;
        // Already a case (added directly): the positive test still tells where it came from.
        if (!existing.sourceCaseId && existing.id !== outcome.lead.caseId) {
          await this.store.updateCase({ ...existing, sourceCaseId: outcome.lead.caseId, sourceLeadId: outcome.lead.id, updatedAt: at });
        }
      } else {
        const sampled = input.sampled ?? (input.onset ? null : at.slice(0, 10));
        const request = {
          ids: outcome.lead.ids, classification: 'confirmed', onset: input.onset ?? null, sampled,
          isolatedAt: input.isolatedAt ? new Date(input.isolatedAt).toISOString() : at,
          jurisdiction: outcome.lead.jurisdiction, sourceCaseId: outcome.lead.caseId, sourceLeadId: outcome.lead.id,
          reason: `tested positive (feedback ${outcome.feedback.id})`,
        };
        let made: Awaited<ReturnType<CaseService['add']>>;
        try {
          made = await this.cases.add(system, request);
        } catch (err) {
          if (!(err instanceof LoopInputError)) throw err;
          // The feedback is filed; the case must exist even when its dates cannot be traced yet. It is
          // kept untraced (traces = 0) with the reason, for an analyst to correct the dates and retrace.
          made = await this.cases.add(system, { ...request, trace: false, reason: `${request.reason}; not traced: ${err.message}` });
        }
        newCase = made.case;
        contactsOf = made.case.id;
        newLeads += made.trace?.recorded.newLeads.length ?? 0;
      }
    }
    if (v.namedContacts.length) {
      newLeads += await this.recordNamed(system, contactsOf, outcome.lead, v.namedContacts, outcome.feedback.id);
    }
    return { feedback: outcome.feedback, lead: outcome.lead, newCase, newLeads, closedLoops: outcome.closedLoops };
  }

  /** Contacts the person named become leads of the case (degree 1 when the person is the case). */
  private async recordNamed(actor: Actor, caseId: string, lead: LeadRecord, named: readonly string[], feedbackId: string): Promise<number> {
    const kase = await this.store.getCase(caseId);
    if (!kase) return 0;
    const direct = kase.personKey === lead.personKey;
    const contacts: ContactInput[] = named.map((id) => ({
      ids: [id], degree: direct ? 1 : 2, category: 'named', ...(direct ? {} : { viaIds: lead.ids }), risk: 50,
      evidence: { namedIn: feedbackId, by: direct ? 'case' : 'contact' },
    }));
    const units = await this.leads.locate(contacts, lead.jurisdiction);
    const events: LoopEvent[] = [];
    const rec = await this.store.transaction(async (tx) => {
      const r = await this.leads.recordInTx(tx, actor, kase, contacts, units, events);
      if (r.newLeads.length) {
        const current = (await tx.getCase(caseId)) as CaseRecord;
        if (current.loopClosed) await tx.updateCase({ ...current, loopClosed: false, updatedAt: this.now().toISOString() });
      }
      return r;
    });
    this.bus.publishAll(events);
    return rec.newLeads.length;
  }

  /**
   * Closes the loop of each case whose leads all have a final outcome (a lead closed on an identity
   * mismatch counts once its reissue is recorded — a new lead, or the corrected person's exposure joined
   * to their open lead or linked to their controlled status — since the work is carried on there; or a
   * correction naming the case's own person, since nobody is left to reach).
   */
  async closeLoopsInTx(tx: RecordsOps, actor: Actor, caseIds: readonly string[], events: LoopEvent[]): Promise<string[]> {
    const closed: string[] = [];
    const at = this.now().toISOString();
    for (const caseId of caseIds) {
      const kase = await tx.getCase(caseId);
      if (!kase || kase.loopClosed) continue;
      // Cheap test first: while any lead is open the loop cannot close (most feedback ends here).
      if ((await tx.listLeads({ caseId, status: 'open', limit: 1 })).length) continue;
      const leads = await tx.listLeads({ caseId });
      const reissued = new Set<string>();
      for (const l of leads) if (l.reissueOf) reissued.add(l.reissueOf);
      if (leads.some((l) => l.outcome === 'identity_mismatch' && !reissued.has(l.id))) {
        for (const x of await tx.listExposures({ caseId })) {
          const of = (x.evidence as Record<string, unknown> | null)?.[REISSUE_OF];
          if (typeof of === 'string' && x.disposition !== 'recorded') reissued.add(of);
        }
        // A correction that names the case's own person leaves nobody to reissue to: the lead was the
        // case itself, and its work is done.
        const own = new Set([kase.personKey, ...kase.ids]);
        for (const l of leads) {
          if (l.outcome !== 'identity_mismatch' || reissued.has(l.id)) continue;
          const corrected = (await tx.listFeedback({ leadId: l.id })).filter((f) => f.outcome === 'identity_mismatch').at(-1)?.correctedIds ?? [];
          if (corrected.length && (await this.resolveIds(corrected)).some((id) => own.has(id))) reissued.add(l.id);
        }
      }
      const done = leads.every((l) => l.status === 'closed' && l.outcome !== null && (OUTCOME_EFFECTS[l.outcome].final || reissued.has(l.id)));
      if (!done) continue;
      await tx.updateCase({ ...kase, loopClosed: true, updatedAt: at });
      const seq = (await tx.caseEvents(caseId)).length + 1;
      await tx.appendCaseEvent({ caseId, seq, at, kind: 'loop_closed', actorUserId: actor.userId, actorRole: actor.role, from: null, to: null, reason: `${leads.length} leads, all with a final outcome`, data: { leads: leads.length } });
      events.push({ type: 'case.loop_closed', at, jurisdictions: kase.jurisdiction ? [kase.jurisdiction] : [], caseId });
      closed.push(caseId);
    }
    return closed;
  }

  /** Feedback filed on a command the actor sees. */
  async list(actor: Actor, commandId: string): Promise<FeedbackRecord[]> {
    await this.commands.get(actor, commandId);
    return this.store.listFeedback({ commandId });
  }
}
