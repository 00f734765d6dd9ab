/**
 * @module Leads as a use case: turning a trace's contacts (or contacts named in feedback) into
 * exposures and leads — deduplicated against open leads and people's status — and pushing the new
 * leads as commands; reading leads within the actor's scope.
 */
import type { Actor } from '../domain/jurisdiction.ts';
import {
  decideExposure, moreSevere, normaliseIds, personKeyOf, type ContactCategory, type ExposureDisposition,
} from '../domain/lead.ts';
import { matchPushRule, type PushRuleSet } from '../domain/sla.ts';
import type {
  CaseRecord, CommandEventRecord, CommandRecord, ExposureRecord, LeadFilter, LeadRecord, PersonStatusRecord, RecordsOps, RecordsStore,
} from '../stores/records/records-store.ts';
import { newId, unitFor, type CommandService, type Location, type RecentPlaces, type Whereabouts } from './command.service.ts';
import type { LoopEvent } from './events.ts';
import { NotFoundError, type JurisdictionService } from './jurisdiction.service.ts';

/** A contact to record against a case: from a trace, or named in feedback. */
export interface ContactInput {
  ids: readonly string[];
  degree: 1 | 2;
  category: ContactCategory;
  /** For degree 2: the identifiers of the close contact it came through. */
  viaIds?: readonly string[];
  /** 0–100. */
  risk: number;
  evidence: unknown;
  /**
   * Places (`kind:id`) where the person is known to have been, latest first — a trace's evidence. Their
   * last known location is taken from these before the data plane reads their presences.
   */
  seenAt?: string[];
}

/** What recording a batch of contacts did. */
export interface RecordedContacts {
  exposures: number;
  byDisposition: Record<ExposureDisposition, number>;
  newLeads: LeadRecord[];
  commands: number;
}

export class LeadService {
  constructor(
    private readonly store: RecordsStore,
    private readonly jurisdictions: JurisdictionService,
    private readonly commands: CommandService,
    private readonly whereabouts: Whereabouts,
    private readonly rules: PushRuleSet,
    private readonly now: () => Date = () => new Date(),
    /** Recent places of people the evidence cannot place (the tracer's index); none without a tracer. */
    private readonly recent?: RecentPlaces,
  ) {}

  /**
   * Locates the people of a batch of contacts (outside any transaction: it reads the data plane) so
   * `recordInTx` can assign each new lead to its unit.
   */
  async locate(contacts: readonly ContactInput[], caseUnit: string | null): Promise<Map<string, { unit: string; basis: string }>> {
    const tree = await this.jurisdictions.tree();
    const keys = contacts.map((c) => personKeyOf(c.ids));
    const located = await this.whereabouts.locate(contacts.map((c) => c.ids), { seenAt: contacts.map((c) => c.seenAt), recent: this.recent, now: this.now() });
    const out = new Map<string, { unit: string; basis: string }>();
    keys.forEach((k, i) => out.set(k, unitFor(tree, located[i], caseUnit)));
    return out;
  }

  /** Where people are (residence, else last seen), from the same sources as contacts: the index before the store. */
  locatePeople(people: readonly (readonly string[])[]): Promise<(Location | null)[]> {
    return this.whereabouts.locate(people, { recent: this.recent, now: this.now() });
  }

  /**
   * Records contacts of a case inside the caller's transaction: an exposure for each, a new lead (and
   * its command) for people neither under control nor already on an open lead, the exposure joined to
   * the open lead otherwise, or linked to the person's status when already controlled. The case's own
   * person is never their own contact.
   */
  async recordInTx(
    tx: RecordsOps,
    actor: Actor,
    kase: CaseRecord,
    contacts: readonly ContactInput[],
    units: Map<string, { unit: string; basis: string }>,
    events: LoopEvent[],
  ): Promise<RecordedContacts> {
    const at = this.now().toISOString();
    const result: RecordedContacts = {
      exposures: 0,
      byDisposition: { new_lead: 0, joined_open_lead: 0, linked_to_status: 0, recorded: 0 },
      newLeads: [],
      commands: 0,
    };
    // The most severe exposures first, so a person's lead carries its strongest category from the start.
    const order = [...contacts]
      .sort((a, b) => (a.degree - b.degree) || (b.risk - a.risk))
      .map((c) => {
        const ids = normaliseIds(c.ids);
        return { c, ids, personKey: personKeyOf(ids), viaPersonKey: c.viaIds?.length ? personKeyOf(c.viaIds) : null };
      })
      .filter((x) => x.personKey !== kase.personKey && !kase.ids.some((id) => x.ids.includes(id)));
    // Read every person's status and open lead in two queries, decide in memory, write in batches:
    // the cost of a trace's leads is then a handful of statements, not several per contact.
    const keys = order.map((x) => x.personKey);
    const statuses = await tx.getPersonStatuses(keys);
    const openLeads = await tx.openLeadsOf(keys);
    const fromStore = new Set(openLeads.keys());
    const root = (await this.jurisdictions.tree()).root;
    const leads: LeadRecord[] = [];
    const commands: CommandRecord[] = [];
    const commandEvents: CommandEventRecord[] = [];
    const updated = new Map<string, LeadRecord>();
    const exposures: ExposureRecord[] = [];
    const statusRows: PersonStatusRecord[] = [];
    for (const { c, ids, personKey, viaPersonKey } of order) {
      const status = statuses.get(personKey) ?? null;
      const open = openLeads.get(personKey) ?? null;
      const pushable = matchPushRule(this.rules, c) !== null;
      const disposition = decideExposure({ status: status?.status ?? null, hasOpenLead: open !== null, pushable });
      const place = units.get(personKey) ?? { unit: kase.jurisdiction ?? root, basis: 'case_unit' };
      let leadId: string | null = null;
      if (disposition === 'new_lead') {
        const lead: LeadRecord = {
          id: newId('L'), caseId: kase.id, personKey, ids, degree: c.degree, category: c.category, viaPersonKey,
          risk: c.risk, evidence: c.evidence, status: 'open', outcome: null, commandId: null, jurisdiction: place.unit,
          reissueOf: null, createdAt: at, closedAt: null,
        };
        const plan = this.commands.planPush(actor, lead, place.unit, `${c.category} contact of case ${kase.id}; unit by ${place.basis}`);
        if (plan) {
          lead.commandId = plan.command.id;
          commands.push(plan.command);
          commandEvents.push(plan.event);
          events.push(plan.bus);
        }
        leads.push(lead);
        openLeads.set(personKey, lead);
        leadId = lead.id;
        events.push({ type: 'lead.created', at, jurisdictions: [place.unit], leadId: lead.id, caseId: kase.id });
        const row: PersonStatusRecord = {
          personKey, ids: normaliseIds([...ids, ...(status?.ids ?? [])]), status: 'contact', jurisdiction: place.unit,
          caseId: null, since: at, updatedAt: at,
        };
        statusRows.push(row);
        statuses.set(personKey, row);
      } else if (disposition === 'joined_open_lead' && open) {
        leadId = open.id;
        const category = moreSevere(open.category, c.category);
        if (category !== open.category || c.risk > open.risk) {
          // The lead object is shared with the batch's map, so later exposures see the upgrade too.
          Object.assign(open, { category, risk: Math.max(open.risk, c.risk), degree: c.degree < open.degree ? c.degree : open.degree });
          if (fromStore.has(personKey)) updated.set(open.id, open);
        }
      }
      // linked_to_status: the person's status already controls them, so the exposure is history, not work.
      exposures.push({
        id: newId('X'), caseId: kase.id, personKey, ids, degree: c.degree, category: c.category, viaPersonKey, risk: c.risk,
        evidence: c.evidence, disposition, leadId, createdAt: at,
      });
      result.byDisposition[disposition]++;
    }
    await tx.insertLeads(leads);
    await tx.insertCommands(commands);
    await tx.appendCommandEvents(commandEvents);
    for (const l of updated.values()) await tx.updateLead(l);
    await tx.insertExposures(exposures);
    await tx.putPersonStatuses(statusRows);
    result.exposures = exposures.length;
    result.newLeads = leads;
    result.commands = commands.length;
    return result;
  }

  /** A lead the actor may see, else NotFound. */
  async get(actor: Actor, id: string): Promise<LeadRecord> {
    const scope = await this.jurisdictions.scope(actor);
    const lead = await this.store.getLead(id);
    if (!lead || !scope.sees(lead.jurisdiction)) throw new NotFoundError('lead', id);
    return lead;
  }

  /** Leads in the actor's scope. */
  async list(actor: Actor, filter: Omit<LeadFilter, 'jurisdictions'> = {}): Promise<LeadRecord[]> {
    const scope = await this.jurisdictions.scope(actor);
    return this.store.listLeads({ ...filter, ...(scope.codes ? { jurisdictions: scope.codes } : {}) });
  }

  /** A lead's exposures (every case and piece of evidence that put the person on it). */
  async exposures(actor: Actor, leadId: string): Promise<ExposureRecord[]> {
    const lead = await this.get(actor, leadId);
    return this.store.listExposures({ personKey: lead.personKey });
  }
}

