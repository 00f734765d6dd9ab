/**
 * @module Users as a use case: creating them with a one-time password (and a TOTP secret for the
 * privileged roles), listing them within the administrator's subtree, disabling (which ends their
 * sessions at once), re-enabling, unlocking and resetting. Every change is audited.
 */
import crypto from 'node:crypto';
import { newOneTimePassword, newTotpSecret, passwordProblems, totpUri } from '../domain/auth.ts';
import { isRole, requiresTotp, type Role, ROLES } from '../domain/roles.ts';
import type { SecurityStore, UserRecord } from '../stores/records/security-store.ts';
import { SqlConstraintError } from '../stores/records/sql-connection.ts';
import type { AuditService } from './audit.service.ts';
import type { AuthService, Principal } from './auth.service.ts';

/** The jurisdiction checks user management needs (LOOP's JurisdictionTree has this shape). */
export interface ScopeCheck {
  /** The code names a known jurisdiction. */
  has(code: string): boolean;
  /** `code` lies in the subtree of `scope` (or is it). */
  inScope(scope: string, code: string | null | undefined): boolean;
}

/** A user as the API shows it: no hashes, no secrets. */
export interface PublicUser {
  id: string;
  username: string;
  displayName: string;
  role: Role;
  jurisdiction: string;
  disabled: boolean;
  locked: boolean;
  mustChangePassword: boolean;
  totpEnrolled: boolean;
  createdAt: string;
  updatedAt: string;
}

export class UserInputError extends Error {
  readonly statusCode = 400;
  constructor(message: string) {
    super(message);
    this.name = 'UserInputError';
  }
}

export class UserNotFoundError extends Error {
  readonly statusCode = 404;
  constructor(id: string) {
    super(`user ${id} not found`);
    this.name = 'UserNotFoundError';
  }
}

/** The created or reset user with the secrets to hand over once (never stored in clear, never logged). */
export interface IssuedCredentials {
  user: PublicUser;
  oneTimePassword: string;
  /** Base32 TOTP secret for roles that need one, else null. */
  totpSecret: string | null;
  /** `otpauth://` URI of the secret, for a QR code. */
  totpUri: string | null;
}

/** The built-in actor for bootstrap and the CLI on the server's own machine: not bound to a subtree. */
export const SYSTEM: Principal = {
  userId: 'system',
  username: 'system',
  displayName: 'Cordon',
  role: 'admin',
  jurisdiction: '*',
  mustChangePassword: false,
};

export function publicUser(u: UserRecord, nowMs: number): PublicUser {
  return {
    id: u.id,
    username: u.username,
    displayName: u.displayName,
    role: u.role,
    jurisdiction: u.jurisdiction,
    disabled: u.disabled,
    locked: u.lockedUntil !== null && Date.parse(u.lockedUntil) > nowMs,
    mustChangePassword: u.mustChangePassword,
    totpEnrolled: u.totpSecret !== null,
    createdAt: u.createdAt,
    updatedAt: u.updatedAt,
  };
}

const USERNAME = /^[a-z][a-z0-9._-]{2,31}$/;

export class UserService {
  constructor(
    private readonly store: SecurityStore,
    private readonly auth: AuthService,
    private readonly audit: AuditService,
    /** The current jurisdiction tree, or null before any is imported (then scopes match exactly). */
    private readonly scope: () => Promise<ScopeCheck | null>,
    private readonly now: () => number = Date.now,
  ) {}

  private async inScope(actor: Principal, code: string): Promise<boolean> {
    if (actor === SYSTEM || actor.userId === 'system') return true;
    const tree = await this.scope();
    return tree ? tree.inScope(actor.jurisdiction, code) : actor.jurisdiction === code;
  }

  private async requireAdmin(actor: Principal, subject: string | null): Promise<void> {
    if (actor.userId === 'system') return;
    await this.auth.require(actor, 'users:admin', subject);
  }

  /** A user the actor may manage, or UserNotFoundError (outside the subtree looks the same as absent). */
  private async managed(actor: Principal, id: string): Promise<UserRecord> {
    const u = await this.store.userById(id);
    if (!u || !(await this.inScope(actor, u.jurisdiction))) throw new UserNotFoundError(id);
    return u;
  }

  /** Creates a user with a one-time password (and a TOTP secret when the role needs one). */
  async create(
    actor: Principal,
    input: { username: string; displayName?: string; role: string; jurisdiction: string; password?: string; mustChangePassword?: boolean },
  ): Promise<IssuedCredentials> {
    await this.requireAdmin(actor, `user:${input.username}`);
    const username = input.username.trim().toLowerCase();
    if (!USERNAME.test(username)) {
      throw new UserInputError(`username: "${input.username}" must be 3–32 characters: a letter, then letters, digits, ".", "_" or "-"`);
    }
    if (!isRole(input.role)) throw new UserInputError(`role: "${input.role}" is not one of ${ROLES.join(', ')}`);
    const tree = await this.scope();
    if (tree && !tree.has(input.jurisdiction)) throw new UserInputError(`jurisdiction: "${input.jurisdiction}" is not a known jurisdiction code`);
    if (!(await this.inScope(actor, input.jurisdiction))) throw new UserInputError(`jurisdiction: "${input.jurisdiction}" is outside your jurisdiction`);
    const password = input.password ?? newOneTimePassword();
    if (input.password !== undefined) {
      const problems = passwordProblems(password, username);
      if (problems.length) throw new UserInputError(`password: ${problems.join('; ')}`);
    }
    const totpSecret = requiresTotp(input.role) ? newTotpSecret() : null;
    const at = new Date(this.now()).toISOString();
    const record: UserRecord = {
      id: crypto.randomUUID(),
      username,
      displayName: input.displayName?.trim() || username,
      role: input.role,
      jurisdiction: input.jurisdiction,
      passwordHash: await this.auth.hash(password),
      mustChangePassword: input.mustChangePassword ?? true,
      totpSecret,
      totpLastStep: null,
      disabled: false,
      failedLogins: 0,
      lockedUntil: null,
      createdAt: at,
      updatedAt: at,
    };
    try {
      await this.store.createUser(record);
    } catch (err) {
      if (err instanceof SqlConstraintError && err.constraint === 'unique') throw new UserInputError(`username: "${username}" is taken`);
      throw err;
    }
    await this.audit.record(actor, 'user.create', 'ok', { subject: `user:${record.id}`, detail: { role: record.role, jurisdiction: record.jurisdiction } });
    return {
      user: publicUser(record, this.now()),
      oneTimePassword: password,
      totpSecret,
      totpUri: totpSecret ? totpUri(totpSecret, username) : null,
    };
  }

  /** Users in the actor's subtree, by username. */
  async list(actor: Principal): Promise<PublicUser[]> {
    await this.requireAdmin(actor, 'users');
    const out: PublicUser[] = [];
    for (const u of await this.store.listUsers()) {
      if (await this.inScope(actor, u.jurisdiction)) out.push(publicUser(u, this.now()));
    }
    return out;
  }

  /** One user in the actor's subtree. */
  async get(actor: Principal, id: string): Promise<PublicUser> {
    await this.requireAdmin(actor, `user:${id}`);
    return publicUser(await this.managed(actor, id), this.now());
  }

  /** Disables a user and ends every session they have, at once. */
  async disable(actor: Principal, id: string): Promise<PublicUser> {
    await this.requireAdmin(actor, `user:${id}`);
    const u = await this.managed(actor, id);
    if (u.id === actor.userId) throw new UserInputError('id: you cannot disable your own account');
    const at = new Date(this.now()).toISOString();
    await this.store.updateUser(id, { disabled: true }, at);
    this.auth.forgetUser(id);
    const ended = await this.store.deleteSessionsOfUser(id);
    await this.audit.record(actor, 'user.disable', 'ok', { subject: `user:${id}`, detail: { sessionsEnded: ended } });
    return publicUser({ ...u, disabled: true, updatedAt: at }, this.now());
  }

  /** Re-enables a user. */
  async enable(actor: Principal, id: string): Promise<PublicUser> {
    await this.requireAdmin(actor, `user:${id}`);
    const u = await this.managed(actor, id);
    const at = new Date(this.now()).toISOString();
    await this.store.updateUser(id, { disabled: false }, at);
    await this.audit.record(actor, 'user.enable', 'ok', { subject: `user:${id}` });
    return publicUser({ ...u, disabled: false, updatedAt: at }, this.now());
  }

  /** Clears a lockout. */
  async unlock(actor: Principal, id: string): Promise<PublicUser> {
    await this.requireAdmin(actor, `user:${id}`);
    const u = await this.managed(actor, id);
    const at = new Date(this.now()).toISOString();
    await this.store.updateUser(id, { lockedUntil: null, failedLogins: 0 }, at);
    await this.audit.record(actor, 'user.unlock', 'ok', { subject: `user:${id}` });
    return publicUser({ ...u, lockedUntil: null, failedLogins: 0, updatedAt: at }, this.now());
  }

  /** Issues a new one-time password (and TOTP secret where needed), unlocks, and ends the user's sessions. */
  async reset(actor: Principal, id: string): Promise<IssuedCredentials> {
    await this.requireAdmin(actor, `user:${id}`);
    const u = await this.managed(actor, id);
    const password = newOneTimePassword();
    const totpSecret = requiresTotp(u.role) ? newTotpSecret() : null;
    const at = new Date(this.now()).toISOString();
    await this.store.updateUser(id, {
      passwordHash: await this.auth.hash(password), mustChangePassword: true, totpSecret, lockedUntil: null, failedLogins: 0,
    }, at);
    this.auth.forgetUser(id);
    await this.store.deleteSessionsOfUser(id);
    await this.audit.record(actor, 'user.reset', 'ok', { subject: `user:${id}` });
    const next = { ...u, mustChangePassword: true, totpSecret, lockedUntil: null, updatedAt: at };
    return { user: publicUser(next, this.now()), oneTimePassword: password, totpSecret, totpUri: totpSecret ? totpUri(totpSecret, u.username) : null };
  }

  /** How many users exist (bootstrap creates the demo users only when there are none). */
  async count(): Promise<number> {
    return (await this.store.listUsers()).length;
  }
}
