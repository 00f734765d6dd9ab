/**
 * @module Roles and what each may do. Permissions are checked in the services (never only in the UI);
 * a role grants actions, the user's jurisdiction bounds the data those actions reach (its subtree).
 */

/** The roles of Cordon's users (see design.md, "Who uses it"). */
export const ROLES = [
  'analyst',
  'commander',
  'precinct_officer',
  'health_liaison',
  'quarantine_staff',
  'admin',
  'auditor',
] as const;
export type Role = (typeof ROLES)[number];

export function isRole(s: string): s is Role {
  return (ROLES as readonly string[]).includes(s);
}

/** Actions a role may be granted. */
export const PERMISSIONS = [
  /** List and read cases. */
  'case:read',
  /** Create, classify and confirm cases. */
  'case:write',
  /** Read a trajectory or contact list (always with a purpose and a case, always audited). */
  'trace:run',
  /** Read leads and push them. */
  'lead:read',
  /** Read commands in the inbox and their history. */
  'command:read',
  /** Accept, start, transfer a command and file its feedback. */
  'command:act',
  /** Search and read people (identifiers masked). */
  'people:read',
  /** Unmask a person's identifiers (audited). */
  'people:reveal',
  /** Read the dashboard summary and live events. */
  'dashboard:read',
  /** Read the jurisdiction tree and its polygons. */
  'jurisdiction:read',
  /** Upload data files to ingest. */
  'ingest:write',
  /** Create, change and disable users. */
  'users:admin',
  /** Search the audit trail. */
  'audit:read',
] as const;
export type Permission = (typeof PERMISSIONS)[number];

const FIELD: readonly Permission[] = ['command:read', 'command:act', 'people:read', 'jurisdiction:read', 'dashboard:read'];

/** Why each grant: analysts trace and push, commanders watch everything, field units act on commands. */
export const ROLE_PERMISSIONS: Readonly<Record<Role, readonly Permission[]>> = {
  analyst: ['case:read', 'case:write', 'trace:run', 'lead:read', 'command:read', 'people:read', 'people:reveal', 'dashboard:read', 'jurisdiction:read'],
  commander: ['case:read', 'case:write', 'trace:run', 'lead:read', 'command:read', 'command:act', 'people:read', 'people:reveal', 'dashboard:read', 'jurisdiction:read'],
  precinct_officer: [...FIELD, 'people:reveal'],
  health_liaison: [...FIELD, 'case:read', 'people:reveal'],
  quarantine_staff: [...FIELD],
  admin: ['users:admin', 'jurisdiction:read', 'ingest:write', 'dashboard:read', 'audit:read'],
  // The auditor reads the trail and nothing it records: no people, no traces.
  auditor: ['audit:read', 'jurisdiction:read'],
};

/** Roles that must log in with a second factor (TOTP): the ones that reach many people's data or the users. */
export const TOTP_REQUIRED_ROLES: readonly Role[] = ['admin', 'analyst', 'commander'];

export function can(role: Role, permission: Permission): boolean {
  return ROLE_PERMISSIONS[role].includes(permission);
}

export function requiresTotp(role: Role): boolean {
  return TOTP_REQUIRED_ROLES.includes(role);
}

/** Role names for people, in both languages of the UI. */
export const ROLE_LABELS: Readonly<Record<Role, { en: string; zh: string }>> = {
  analyst: { en: 'Analyst', zh: '研判民警' },
  commander: { en: 'Commander', zh: '指挥长' },
  precinct_officer: { en: 'Precinct officer', zh: '派出所民警' },
  health_liaison: { en: 'Health liaison', zh: '卫健联络员' },
  quarantine_staff: { en: 'Quarantine site staff', zh: '隔离点工作人员' },
  admin: { en: 'Administrator', zh: '管理员' },
  auditor: { en: 'Auditor', zh: '审计员' },
};
