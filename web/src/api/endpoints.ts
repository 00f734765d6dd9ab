/**
 * @module The API routes the UI calls, in one place, typed with the server's shapes: records as the
 * server sends them (person keys replaced by opaque `personRef`s, identifiers masked).
 */
import type { CaseEventRecord, CaseRecord, CommandEventRecord, CommandRecord, ExposureRecord, FeedbackRecord, LeadRecord, PersonStatusRecord } from '../../../src/stores/records/records-store.ts';
import type { TraceContact, TraceResult } from '../../../src/trace/types.ts';
import type { AuditRecord } from '../../../src/stores/records/security-store.ts';
import type { LoopSummary, ChainNode as LoopChainNode } from '../../../src/services/loop.service.ts';
import type { FeatureCollection, JurisdictionProps } from '../map/geo.ts';
import { get, post, query, upload } from './client.ts';

/** A person as lists show them: an opaque reference and masked identifiers. */
export interface PersonRef { personRef: string; ids: string[] }

export type CaseOut = Omit<CaseRecord, 'personKey' | 'ids'> & PersonRef;
export type LeadOut = Omit<LeadRecord, 'personKey' | 'ids' | 'viaPersonKey'> & PersonRef & { viaPersonRef: string | null };
export type ExposureOut = Omit<ExposureRecord, 'personKey' | 'ids' | 'viaPersonKey'> & PersonRef & { viaPersonRef: string | null };
export type CommandOut = Omit<CommandRecord, 'personKey'> & { personRef: string };
export type ContactOut = Omit<TraceContact, 'key' | 'ids' | 'via'> & PersonRef & { viaPersonRef: string | null };
export type TraceOut = Omit<TraceResult, 'person' | 'contacts'> & { person: PersonRef; contacts: ContactOut[] };
export type PersonStatusOut = Omit<PersonStatusRecord, 'personKey' | 'ids'> & PersonRef;
export type { CaseEventRecord, CommandEventRecord, FeedbackRecord, LoopSummary, LoopChainNode };

/** What tracing a case again and pushing its new leads reports. */
export interface RetraceOutcome { contacts: number; exposures: number; byDisposition: Record<string, number>; newLeads: number; commands: number; window: unknown }

/** The signed-in user as `/api/auth/me` and the login answer give it. */
export interface Me { userId: string; username: string; role: string; jurisdiction: string; displayName?: string; mustChangePassword?: boolean; permissions?: string[] }

export interface DashboardOut extends LoopSummary { epidemicCurve: { date: string; cases: number }[] }

export interface JurisdictionRow { code: string; name: string; nameEn: string | null; level: string; parent: string | null }

/** A person's page as `/api/people/:ref?purpose=…` sends it (identifiers masked). */
export interface PersonPage extends PersonRef {
  jurisdiction: string | null;
  status: { status: string; since: string; updatedAt: string; caseId: string | null } | null;
  /** Every status the person has had, oldest first. */
  statusHistory: { status: string; since: string; jurisdiction: string | null; caseId: string | null }[];
  registered: { jurisdiction: string | null; hasName: boolean; hasAddress: boolean }[];
  case: CaseOut | null;
  leads: LeadOut[];
  commands: CommandOut[];
  exposures: ExposureOut[];
}

export interface RevealOut { ids: string[]; registered: { name: string | null; address: string | null; jurisdiction: string | null }[] }

/** The answer of an upload: what was read, stored, rejected, and where the rejects file is. */
export interface IngestSummary {
  uploadId: string;
  name: string;
  bytes: number;
  format: string;
  kind: string;
  rowsRead: number;
  accepted: number;
  rejected: number;
  duplicates: number;
  seconds: number;
  rejects: string | null;
}

export interface UserRow { id: string; username: string; displayName?: string; role: string; jurisdiction: string; disabled: boolean; locked?: boolean; mustChangePassword?: boolean; totpEnrolled?: boolean }
export type AuditRow = AuditRecord;
export interface AuditSearch { username?: string; action?: string; caseId?: string; outcome?: string; from?: string; to?: string; limit?: number; offset?: number }

const enc = encodeURIComponent;

export const api = {
  me: () => get<{ user: Me }>('/api/auth/me').then((a) => a.user),
  login: (username: string, password: string, totp?: string) => post<{ user: Me }>('/api/auth/login', { username, password, ...(totp ? { totp } : {}) }),
  logout: () => post<unknown>('/api/auth/logout'),
  changePassword: (currentPassword: string, newPassword: string) => post<unknown>('/api/auth/password', { currentPassword, newPassword }),

  dashboard: () => get<DashboardOut>('/api/dashboard'),
  jurisdictionsGeo: () => get<FeatureCollection<JurisdictionProps>>('/api/jurisdictions/geojson'),
  roads: () => get<FeatureCollection>('/api/map/roads'),
  jurisdictions: () => get<{ jurisdictions: JurisdictionRow[] }>('/api/jurisdictions').then((a) => a.jurisdictions),

  cases: (q: { classification?: string; loopClosed?: boolean; limit?: number; offset?: number } = {}) => get<{ cases: CaseOut[] }>(`/api/cases${query(q)}`).then((a) => a.cases),
  addCase: (body: { ids: string[]; classification: string; onset?: string; sampled?: string; trace: boolean }) =>
    post<{ case: CaseOut; trace: RetraceOutcome | null }>('/api/cases', body),
  case: (id: string) => get<{ case: CaseOut; events: CaseEventRecord[] }>(`/api/cases/${enc(id)}`),
  chain: (caseId: string) => get<{ chain: LoopChainNode[] }>(`/api/cases/${enc(caseId)}/chain`).then((a) => a.chain),
  /** A purpose-bound, audited read of the trace with a chosen rule set and degree. */
  trace: (caseId: string, body: { rules: string; degree: 1 | 2; purpose: string }) => post<TraceOut>('/api/trace', { caseId, ...body }),
  /** Traces the case again and pushes its new leads (purpose-bound, audited). */
  retrace: (caseId: string, purpose: string) => post<{ trace: RetraceOutcome | null }>(`/api/cases/${enc(caseId)}/trace`, { purpose }),
  contactsCsvUrl: (caseId: string, q: { purpose: string; rules: string; degree: 1 | 2 }) => `/api/cases/${enc(caseId)}/contacts.csv${query(q)}`,
  /** A case's leads (with `chain`, those of every case in its chain): a contact list, so purpose-bound and audited. */
  leads: (q: { caseId: string; purpose: string; chain?: boolean; status?: 'open' | 'closed'; limit?: number; offset?: number }) => get<{ leads: LeadOut[] }>(`/api/leads${query(q)}`).then((a) => a.leads),

  commands: (q: { state?: string[]; overdue?: boolean; limit?: number; offset?: number } = {}) => {
    const states = (q.state ?? []).map((s) => `state=${enc(s)}`).join('&');
    const rest = query({ overdue: q.overdue, limit: q.limit, offset: q.offset }).replace(/^\?/, '');
    const qs = [states, rest].filter(Boolean).join('&');
    return get<{ total: number; commands: CommandOut[] }>(`/api/commands${qs ? `?${qs}` : ''}`);
  },
  commandHistory: (id: string) => get<{ command: CommandOut; events: CommandEventRecord[]; feedback: FeedbackRecord[] }>(`/api/commands/${enc(id)}/history`),
  act: (id: string, action: 'accept' | 'start', version?: number) => post<{ command: CommandOut }>(`/api/commands/${enc(id)}/${action}`, version ? { version } : {}),
  transfer: (id: string, to: string, reason: string) => post<{ command: CommandOut }>(`/api/commands/${enc(id)}/transfer`, { to, reason }),
  feedback: (id: string, body: { outcome: string; temperature?: number; notes?: string; namedContacts?: string[]; correctedIds?: string[]; onset?: string; sampled?: string }) =>
    post<{ newCase: CaseOut | null; newLeads: number }>(`/api/commands/${enc(id)}/feedback`, body),

  /** A person's page: purpose-bound and audited, with the case it serves when there is one. */
  person: (ref: string, q: { purpose: string; caseId?: string }) => get<PersonPage>(`/api/people/${enc(ref)}${query(q)}`),
  reveal: (ref: string, purpose: string, caseId?: string) => post<RevealOut>(`/api/people/${enc(ref)}/reveal`, { purpose, ...(caseId ? { caseId } : {}) }),
  searchPeople: (q: string) => get<{ people: (PersonRef & { status: string | null; jurisdiction: string | null })[] }>(`/api/people${query({ q })}`).then((a) => a.people),
  ingest: (file: File, onProgress: (f: number) => void) => upload<IngestSummary>(`/api/ingest${query({ name: file.name })}`, file, onProgress),

  users: () => get<{ users: UserRow[] }>('/api/admin/users').then((a) => a.users),
  setUserEnabled: (id: string, enabled: boolean) => post<UserRow>(`/api/admin/users/${enc(id)}/${enabled ? 'enable' : 'disable'}`),
  unlockUser: (id: string) => post<UserRow>(`/api/admin/users/${enc(id)}/unlock`),
  audit: (q: AuditSearch) => get<{ rows: AuditRow[]; total: number }>(`/api/audit${query({ ...q })}`),
};
