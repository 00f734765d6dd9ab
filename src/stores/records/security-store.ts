/**
 * @module The security store port: users, sessions and the audit trail. It lives beside the records
 * store on the same SqlConnection, with its own migration area (`security`), so SQLite and PostgreSQL
 * both carry it. The audit table is append-only, enforced by the database itself (triggers), so no
 * code path — ours or an operator's SQL — can rewrite what was audited.
 */
import type { Role } from '../../domain/roles.ts';

/** A user as stored. Times are ISO 8601 UTC. */
export interface UserRecord {
  id: string;
  /** Unique login name (lower case). */
  username: string;
  displayName: string;
  role: Role;
  /** Jurisdiction code: the user sees this unit's subtree only. */
  jurisdiction: string;
  /** argon2id PHC string. */
  passwordHash: string;
  /** Set for one-time passwords: the user must choose a new password before doing anything else. */
  mustChangePassword: boolean;
  /** Base32 TOTP secret, null until enrolled. */
  totpSecret: string | null;
  /** The last TOTP time step accepted, so a code cannot be replayed. */
  totpLastStep: number | null;
  disabled: boolean;
  /** Consecutive failed logins since the last success. */
  failedLogins: number;
  /** Locked until this time after too many failures; null when not locked. */
  lockedUntil: string | null;
  createdAt: string;
  updatedAt: string;
}

/** A server-side session. The cookie holds a random token; only its SHA-256 is stored. */
export interface SessionRecord {
  idHash: string;
  userId: string;
  createdAt: string;
  lastSeenAt: string;
}

/** What an audit row records (design.md: user, role, jurisdiction, case, purpose, UTC time). */
export interface AuditEntry {
  /** UTC time. */
  at: string;
  userId: string | null;
  username: string | null;
  role: string | null;
  jurisdiction: string | null;
  /** What was done: `login`, `login_failed`, `trace.read`, `person.reveal`, `authz.denied`, … */
  action: string;
  outcome: 'ok' | 'denied' | 'failed';
  caseId: string | null;
  purpose: string | null;
  /** What the action touched (a person key, a command id, a route), never free personal text. */
  subject: string | null;
  /** Structured detail (counts, reasons). */
  detail: unknown;
}

export interface AuditRecord extends AuditEntry {
  /** Increasing with time of writing. */
  id: number;
}

/** Filter for audit searches; every field narrows. */
export interface AuditQuery {
  userId?: string;
  username?: string;
  action?: string;
  caseId?: string;
  outcome?: AuditEntry['outcome'];
  /** Inclusive lower bound, ISO time. */
  from?: string;
  /** Exclusive upper bound, ISO time. */
  to?: string;
  /** Newest first. */
  limit?: number;
  offset?: number;
}

/** Fields of a user that can change after creation. */
export type UserPatch = Partial<Pick<UserRecord,
  'displayName' | 'role' | 'jurisdiction' | 'passwordHash' | 'mustChangePassword' | 'totpSecret' | 'disabled' | 'failedLogins' | 'lockedUntil'>>;

export interface SecurityStore {
  /** Creates or upgrades the security tables (migration area `security`). Safe on every start. */
  init(): Promise<void>;
  /** Inserts a user; a taken username is a SqlConstraintError('unique'). */
  createUser(user: UserRecord): Promise<void>;
  /** A user by id, or null. */
  userById(id: string): Promise<UserRecord | null>;
  /** A user by login name (case-insensitive), or null. */
  userByUsername(username: string): Promise<UserRecord | null>;
  /** Every user, ordered by username. */
  listUsers(): Promise<UserRecord[]>;
  /** Changes some fields of a user (and its updatedAt); returns false when there is no such user. */
  updateUser(id: string, patch: UserPatch, at: string): Promise<boolean>;
  /** Adds one failed login atomically and returns the new count. */
  incrementFailedLogins(id: string, at: string): Promise<number>;
  /**
   * Records a TOTP step as used, only if it is later than the last one used; false means the code was
   * already used (a replay) and must be refused. Atomic, so two logins cannot both use one code.
   */
  claimTotpStep(id: string, step: number): Promise<boolean>;
  /** Stores a new session. */
  createSession(session: SessionRecord): Promise<void>;
  /** A session by the hash of its token, or null. */
  sessionByHash(idHash: string): Promise<SessionRecord | null>;
  /**
   * A session and its user (null when the user is gone) in one read, or null without such a session:
   * what checking a request's cookie needs.
   */
  sessionWithUser(idHash: string): Promise<{ session: SessionRecord; user: UserRecord | null } | null>;
  /** Moves a session's last-seen time forward. */
  touchSession(idHash: string, at: string): Promise<void>;
  /** Ends one session. */
  deleteSession(idHash: string): Promise<void>;
  /** Ends every session of a user; returns how many ended. */
  deleteSessionsOfUser(userId: string): Promise<number>;
  /** Deletes sessions last seen before `idleBefore` or created before `createdBefore`; returns how many. */
  deleteStaleSessions(idleBefore: string, createdBefore: string): Promise<number>;
  /** Appends one audit row; returns it with its id. */
  appendAudit(entry: AuditEntry): Promise<AuditRecord>;
  /** Audit rows matching the query, newest first, with the total count matching. */
  searchAudit(query: AuditQuery): Promise<{ rows: AuditRecord[]; total: number }>;
}
