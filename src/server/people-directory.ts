/**
 * @module People as the API shows them: search by an exact identifier, a person's page (status, case,
 * leads, commands, exposures) and the audited reveal of their identifiers — all bounded by the
 * reader's jurisdiction subtree, where a person outside it is "not found", by id and by search alike.
 */
import { ID_KINDS, type PersonRecord } from '../domain/formats.ts';
import type { Actor } from '../domain/jurisdiction.ts';
import { personKeyOf } from '../domain/lead.ts';
import type { AuditService } from '../services/audit.service.ts';
import type { Loop } from '../services/loop.service.ts';
import type { PresenceStore } from '../stores/presence/presence-store.ts';
import type { CaseRecord, CommandRecord, ExposureRecord, LeadRecord, PersonStatusChange, PersonStatusRecord, RecordsStore } from '../stores/records/records-store.ts';

export class PersonNotFoundError extends Error {
  readonly statusCode = 404;
  constructor() {
    super('person not found');
    this.name = 'PersonNotFoundError';
  }
}

export class PeopleQueryError extends Error {
  readonly statusCode = 400;
  constructor(message: string) {
    super(message);
    this.name = 'PeopleQueryError';
  }
}

/** What is known of one person, unmasked (the route masks it). */
export interface PersonView {
  personKey: string;
  ids: string[];
  status: PersonStatusRecord | null;
  jurisdiction: string | null;
  registered: PersonRecord[];
  case: CaseRecord | null;
  leads: LeadRecord[];
  commands: CommandRecord[];
  exposures: ExposureRecord[];
  /** Every status the person has had, oldest first. */
  history: PersonStatusChange[];
}

export class PeopleDirectory {
  constructor(
    private readonly records: RecordsStore,
    private readonly loop: Loop,
    private readonly presence: PresenceStore | null,
    private readonly audit: AuditService,
  ) {}

  /** The `kind:value` keys a query names: one when it has a kind, every kind for a bare value. */
  static keysOf(q: string): string[] {
    const text = q.trim();
    const i = text.indexOf(':');
    if (i > 0 && (ID_KINDS as readonly string[]).includes(text.slice(0, i))) {
      if (!text.slice(i + 1).trim()) throw new PeopleQueryError('q: the identifier value is empty');
      return [text];
    }
    // Only whole identifiers: partial matching would let anyone enumerate phone numbers.
    if (text.length < 4) throw new PeopleQueryError('q: give a whole identifier (KIND:VALUE or the value alone)');
    return ID_KINDS.filter((k) => k !== 'person').map((k) => `${k}:${text}`);
  }

  private async find(personKey: string, extraIds: readonly string[] = []): Promise<{ status: PersonStatusRecord | null; ids: string[]; registered: PersonRecord[]; jurisdiction: string | null }> {
    const status = await this.records.getPersonStatus(personKey);
    const ids = [...new Set([...(status?.ids ?? [personKey]), ...extraIds])].sort();
    const registered = this.presence ? await this.presence.people(ids) : [];
    const jurisdiction = status?.jurisdiction ?? registered.find((r) => r.jurisdiction)?.jurisdiction ?? null;
    return { status, ids, registered, jurisdiction };
  }

  /** People matching an exact identifier, within the actor's subtree. */
  async search(actor: Actor, q: string): Promise<{ personKey: string; ids: string[]; status: PersonStatusRecord | null; jurisdiction: string | null }[]> {
    const keys = PeopleDirectory.keysOf(q);
    const scope = await this.loop.jurisdictions.scope(actor);
    // The identifier index of the records store answers by key; no scan of everyone's status.
    const personKeys = [...new Set((await this.records.findPersonKeys(keys)).values())];
    const known = [...(await this.records.getPersonStatuses(personKeys)).values()];
    const out = new Map<string, { personKey: string; ids: string[]; status: PersonStatusRecord | null; jurisdiction: string | null }>();
    for (const s of known) out.set(s.personKey, { personKey: s.personKey, ids: s.ids, status: s, jurisdiction: s.jurisdiction });
    if (this.presence) {
      for (const r of await this.presence.people(keys)) {
        const key = `${r.idKind}:${r.idValue}`;
        if ([...out.values()].some((p) => p.ids.includes(key))) continue;
        out.set(personKeyOf([key]), { personKey: personKeyOf([key]), ids: [key], status: null, jurisdiction: r.jurisdiction ?? null });
      }
    }
    return [...out.values()].filter((p) => scope.sees(p.jurisdiction));
  }

  /** A person's page, or PersonNotFoundError (also when outside the subtree; the refusal is audited). */
  async get(actor: Actor, personKey: string): Promise<PersonView> {
    const { status, ids, registered, jurisdiction } = await this.find(personKey);
    const scope = await this.loop.jurisdictions.scope(actor);
    if ((!status && !registered.length) || !scope.sees(jurisdiction)) {
      if (status || registered.length) await this.audit.record(actor, 'authz.denied', 'denied', { subject: 'person', detail: { what: 'person outside the subtree' } });
      throw new PersonNotFoundError();
    }
    const kase = await this.records.getCaseByPerson(personKey);
    const leads = (await this.records.listLeads({ personKey })).filter((l) => scope.sees(l.jurisdiction));
    const commands = (await this.records.listCommands({ personKey })).filter((c) => scope.sees(c.jurisdiction) || (c.escalatedTo !== null && scope.sees(c.escalatedTo)));
    const exposures = await this.records.listExposures({ personKey });
    // Past statuses may name other units (the person moved) and cases: keep only what the reader's scope sees.
    const history = (await this.records.personStatusHistory(personKey)).map((h) => ({
      ...h,
      jurisdiction: h.jurisdiction !== null && scope.sees(h.jurisdiction) ? h.jurisdiction : null,
    }));
    return { personKey, ids, status, jurisdiction, registered, case: kase && scope.sees(kase.jurisdiction) ? kase : null, leads, commands, exposures, history };
  }

  /** A person's identifiers unmasked, with name and address: audited with the purpose before returning. */
  async reveal(actor: Actor, personKey: string, subject: string, purpose: { purpose: string; caseId?: string | null }): Promise<{ ids: string[]; registered: PersonRecord[] }> {
    const view = await this.get(actor, personKey);
    const p = purpose.purpose.trim();
    if (p.length < 4) throw new PeopleQueryError('purpose: a purpose of at least 4 characters is required to reveal identifiers');
    await this.audit.record(actor, 'person.reveal', 'ok', { purpose: p, caseId: purpose.caseId ?? null, subject });
    return { ids: view.ids, registered: view.registered };
  }
}
