/**
 * @module The records store port: the control plane's small, transactional, long-kept records —
 * jurisdictions, people's status, cases, exposures, leads, commands with their event history, and
 * feedback. Adapters: SQLite (embedded default, `sqlite/`) and PostgreSQL (`postgres/`), both over the
 * shared SqlConnection; one contract suite (`records-store.contract.ts`) runs against both.
 *
 * Times are ISO 8601 UTC strings (`2020-01-25T06:05:00.000Z`), dates are `YYYY-MM-DD`. A person is
 * named by a person key: one of their identifiers in `kind:value` form, chosen by `personKeyOf`
 * (src/domain/lead.ts), with all their identifiers listed beside it.
 *
 * Users, sessions and audit are not here: they live in the security store, which runs its own
 * migration area on the same connection (`connection` below).
 */
import type { CaseClassification, CaseEventKind } from '../../domain/case.ts';
import type { CommandEventKind, CommandState, CommandType, Priority } from '../../domain/command.ts';
import type { FeedbackOutcome } from '../../domain/feedback.ts';
import type { JurisdictionLevel, Geometry } from '../../domain/jurisdiction.ts';
import type { ContactCategory, ExposureDisposition, LeadStatus, PersonStatus } from '../../domain/lead.ts';
import type { SqlConnection } from './sql-connection.ts';

/** A unit in the jurisdiction tree (city bureau → district bureau → precinct → community). */
export interface JurisdictionRecord {
  /** Stable code, e.g. `330203` or `NB-HS-01-03`. */
  code: string;
  name: string;
  nameEn: string | null;
  level: JurisdictionLevel;
  /** Parent code; null for the root (the city bureau). */
  parent: string | null;
  /** Polygon or multipolygon (GeoJSON geometry), null when the unit has no area of its own. */
  geometry: Geometry | null;
}

/** A person's current status, as the loop knows it (drives lead deduplication). */
export interface PersonStatusRecord {
  personKey: string;
  /** Every identifier known for the person, `kind:value`. */
  ids: string[];
  status: PersonStatus;
  /** Responsible jurisdiction (by residence, else last known location), null when unknown. */
  jurisdiction: string | null;
  /** The case record of this person when they are one. */
  caseId: string | null;
  /** When the status took effect. */
  since: string;
  updatedAt: string;
}

/** One entry of a person's status history. */
export interface PersonStatusChange {
  status: PersonStatus;
  jurisdiction: string | null;
  caseId: string | null;
  since: string;
}

/** A case (病例). */
export interface CaseRecord {
  id: string;
  personKey: string;
  ids: string[];
  classification: CaseClassification;
  /** Symptom onset date; null for an asymptomatic case. */
  onset: string | null;
  /** Sampling date of the positive test. */
  sampled: string | null;
  /** When the person was isolated; null while not isolated. */
  isolatedAt: string | null;
  jurisdiction: string | null;
  /** The case this one was infected through, as far as the loop knows (the transmission chain). */
  sourceCaseId: string | null;
  /** The lead that turned into this case (a positive test on a contact), if any. */
  sourceLeadId: string | null;
  /** True once every lead of the case has a final outcome. */
  loopClosed: boolean;
  /** How many traces have run for the case. */
  traces: number;
  createdAt: string;
  updatedAt: string;
}

/** One step in a case's history (created, reclassified, isolated, traced, loop closed). */
export interface CaseEventRecord {
  caseId: string;
  /** 1, 2, … per case, in order. */
  seq: number;
  at: string;
  kind: CaseEventKind;
  actorUserId: string;
  actorRole: string;
  /** Classification before and after, for `classified`. */
  from: string | null;
  to: string | null;
  reason: string | null;
  data: unknown;
}

/** One exposure of one person to one case, found by a trace or named in feedback. */
export interface ExposureRecord {
  id: string;
  caseId: string;
  personKey: string;
  ids: string[];
  degree: 1 | 2;
  category: ContactCategory;
  /** For degree 2, the close contact it came through. */
  viaPersonKey: string | null;
  risk: number;
  /** The trace's evidence, kept as given (presences, rule, overlap, seat distance). */
  evidence: unknown;
  /** What became of it: a new lead, joined to an open lead, or linked to a person already controlled. */
  disposition: ExposureDisposition;
  /** The lead it belongs to, if any. */
  leadId: string | null;
  createdAt: string;
}

/** A lead (线索): a person needing action, with the evidence why. At most one open lead per person. */
export interface LeadRecord {
  id: string;
  caseId: string;
  personKey: string;
  ids: string[];
  degree: 1 | 2;
  category: ContactCategory;
  viaPersonKey: string | null;
  risk: number;
  evidence: unknown;
  status: LeadStatus;
  /** Final outcome once closed. */
  outcome: FeedbackOutcome | null;
  /** The current command working the lead. */
  commandId: string | null;
  jurisdiction: string | null;
  /** The lead this one reissues (after an identity mismatch). */
  reissueOf: string | null;
  createdAt: string;
  closedAt: string | null;
}

/** A command (指令) to a unit: what to do about a lead, by when. */
export interface CommandRecord {
  id: string;
  leadId: string;
  caseId: string;
  personKey: string;
  type: CommandType;
  priority: Priority;
  /** The unit that must act (changes on transfer). */
  jurisdiction: string;
  state: CommandState;
  deadline: string;
  /** Set by the overdue sweep once past the deadline and not closed. */
  overdue: boolean;
  /** How many levels the command has been escalated up the tree (0 = not escalated). */
  escalationLevel: number;
  /** The unit it is escalated to (sees it in its inbox too), null when not escalated. */
  escalatedTo: string | null;
  createdAt: string;
  updatedAt: string;
  /** Incremented on every update; updates name the version they read (optimistic concurrency). */
  version: number;
}

/** One transition of a command: who, when, what, why. */
export interface CommandEventRecord {
  commandId: string;
  /** 1, 2, … per command, in order. */
  seq: number;
  at: string;
  kind: CommandEventKind;
  actorUserId: string;
  actorRole: string;
  actorJurisdiction: string | null;
  fromState: CommandState | null;
  toState: CommandState;
  fromJurisdiction: string | null;
  toJurisdiction: string | null;
  reason: string | null;
  data: unknown;
}

/** What a unit found (反馈). */
export interface FeedbackRecord {
  id: string;
  commandId: string;
  leadId: string;
  outcome: FeedbackOutcome;
  /** Body temperature in °C, when measured. */
  temperature: number | null;
  notes: string | null;
  /** Contacts the person named, `kind:value`. */
  namedContacts: string[];
  /** Corrected identifiers for the person, `kind:value`. */
  correctedIds: string[];
  actorUserId: string;
  actorRole: string;
  at: string;
}

/** Filter for command lists (inboxes). Every field narrows; absent fields do not. */
export interface CommandFilter {
  /** Commands whose unit, or the unit escalated to, is one of these. */
  jurisdictions?: readonly string[];
  states?: readonly CommandState[];
  overdue?: boolean;
  caseId?: string;
  leadId?: string;
  personKey?: string;
  /** Not closed and deadline before this time (the overdue sweep). */
  openDeadlineBefore?: string;
  /** Ordered by deadline, then id. */
  limit?: number;
  offset?: number;
}

/** Filter for lead lists. */
export interface LeadFilter {
  jurisdictions?: readonly string[];
  status?: LeadStatus;
  caseId?: string;
  personKey?: string;
  limit?: number;
  offset?: number;
}

/** Filter for case lists. */
export interface CaseFilter {
  jurisdictions?: readonly string[];
  classification?: CaseClassification;
  loopClosed?: boolean;
  personKey?: string;
  limit?: number;
  offset?: number;
}

/** Counts per jurisdiction, for dashboards. */
export interface JurisdictionCounts {
  jurisdiction: string | null;
  openLeads: number;
  openCommands: number;
  overdueCommands: number;
  cases: number;
}

/** Reads and writes, available both on the store and inside a transaction. */
export interface RecordsOps {
  /** Inserts or replaces jurisdictions (keyed by code). */
  upsertJurisdictions(rows: readonly JurisdictionRecord[]): Promise<number>;
  /** Every jurisdiction, ordered by code. */
  listJurisdictions(): Promise<JurisdictionRecord[]>;

  /** A person's status, or null when the loop has never seen them. */
  getPersonStatus(personKey: string): Promise<PersonStatusRecord | null>;
  /** Inserts or replaces a person's status, and appends it to their history. */
  putPersonStatus(row: PersonStatusRecord): Promise<void>;
  /**
   * The person keys of people known under any of these `kind:value` identifiers (identifier → person
   * key; unknown identifiers are absent). Kept by every status put, so it covers everyone the loop met.
   */
  findPersonKeys(ids: readonly string[]): Promise<Map<string, string>>;
  /** Every status the person has had, oldest first (each put appends one). */
  personStatusHistory(personKey: string): Promise<PersonStatusChange[]>;
  /** Statuses of several people at once (absent keys are unknown people). */
  getPersonStatuses(personKeys: readonly string[]): Promise<Map<string, PersonStatusRecord>>;
  /** Inserts or replaces several statuses in few statements (a trace's contacts). */
  putPersonStatuses(rows: readonly PersonStatusRecord[]): Promise<void>;
  /** People whose status is one of these (all when empty), in these jurisdictions (all when absent). */
  listPersonStatuses(statuses: readonly PersonStatus[], jurisdictions?: readonly string[]): Promise<PersonStatusRecord[]>;

  /** Inserts a case; a second case for the same person is a SqlConstraintError('unique'). */
  insertCase(row: CaseRecord): Promise<void>;
  /** Replaces a case by id. */
  updateCase(row: CaseRecord): Promise<void>;
  getCase(id: string): Promise<CaseRecord | null>;
  /** The case of a person, if they are one. */
  getCaseByPerson(personKey: string): Promise<CaseRecord | null>;
  /** Cases matching the filter, oldest first. */
  listCases(filter?: CaseFilter): Promise<CaseRecord[]>;
  /** Appends to a case's history (seq must be the next one). */
  appendCaseEvent(row: CaseEventRecord): Promise<void>;
  /** A case's history in order. */
  caseEvents(caseId: string): Promise<CaseEventRecord[]>;

  insertExposure(row: ExposureRecord): Promise<void>;
  /** Inserts several exposures in few statements. */
  insertExposures(rows: readonly ExposureRecord[]): Promise<void>;
  /** Exposures of a case or of a person, oldest first. */
  listExposures(filter: { caseId?: string; personKey?: string; leadId?: string }): Promise<ExposureRecord[]>;

  /** Inserts a lead; a second open lead for the same person is a SqlConstraintError('unique'). */
  insertLead(row: LeadRecord): Promise<void>;
  /** Inserts several leads in few statements; the one-open-lead rule applies to each. */
  insertLeads(rows: readonly LeadRecord[]): Promise<void>;
  /** The open leads of several people, by person key. */
  openLeadsOf(personKeys: readonly string[]): Promise<Map<string, LeadRecord>>;
  /** Replaces a lead by id. */
  updateLead(row: LeadRecord): Promise<void>;
  getLead(id: string): Promise<LeadRecord | null>;
  /** The open lead of a person, if any. */
  openLeadOf(personKey: string): Promise<LeadRecord | null>;
  /** Leads matching the filter, oldest first. */
  listLeads(filter?: LeadFilter): Promise<LeadRecord[]>;

  insertCommand(row: CommandRecord): Promise<void>;
  /** Inserts several commands in few statements. */
  insertCommands(rows: readonly CommandRecord[]): Promise<void>;
  /**
   * Replaces a command if its stored version is `row.version - 1`; returns false (and changes
   * nothing) when someone else updated it first.
   */
  updateCommand(row: CommandRecord): Promise<boolean>;
  getCommand(id: string): Promise<CommandRecord | null>;
  /** Commands matching the filter, by deadline then id. */
  listCommands(filter?: CommandFilter): Promise<CommandRecord[]>;
  /** How many commands match the filter (limit and offset ignored). */
  countCommands(filter?: CommandFilter): Promise<number>;
  /** Appends to a command's history (seq must be the next one, or a SqlConstraintError). */
  appendCommandEvent(row: CommandEventRecord): Promise<void>;
  /** Appends several events (of new commands, typically their `pushed` event) in few statements. */
  appendCommandEvents(rows: readonly CommandEventRecord[]): Promise<void>;
  /** A command's history in order. */
  commandEvents(commandId: string): Promise<CommandEventRecord[]>;

  insertFeedback(row: FeedbackRecord): Promise<void>;
  /** Feedback on a command or a lead, oldest first. */
  listFeedback(filter: { commandId?: string; leadId?: string }): Promise<FeedbackRecord[]>;

  /** Open leads, open and overdue commands and cases per jurisdiction. */
  countsByJurisdiction(): Promise<JurisdictionCounts[]>;
}

/** The records store: the operations, plus transactions and lifecycle. */
export interface RecordsStore extends RecordsOps {
  /** Backend name (`sqlite`, `postgres`). */
  readonly name: string;
  /** The underlying connection: the security store runs its migrations and queries on it. */
  readonly connection: SqlConnection;
  /** Creates or upgrades the schema (the `records` migration area). Safe to call on every start. */
  init(): Promise<void>;
  /** Runs `fn` atomically: all its writes commit together, or none do. */
  transaction<T>(fn: (tx: RecordsOps) => Promise<T>): Promise<T>;
  /** Closes the connection. */
  close(): Promise<void>;
}
