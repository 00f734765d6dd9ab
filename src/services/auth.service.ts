/**
 * @module Logging in and staying logged in: argon2id passwords, TOTP for the privileged roles, lockout
 * after repeated failures, server-side sessions with idle and absolute timeouts, and the permission
 * check every route makes (refusals are audited).
 */
import crypto from 'node:crypto';
import { hash, verify, type Algorithm } from '@node-rs/argon2';
import {
  base32Decode,
  DEFAULT_SESSION_POLICY,
  passwordProblems,
  sessionExpiry,
  verifyTotp,
  type SessionPolicy,
} from '../domain/auth.ts';
import type { Actor } from '../domain/jurisdiction.ts';
import { can, requiresTotp, type Permission, type Role } from '../domain/roles.ts';
import type { SecurityStore, UserRecord } from '../stores/records/security-store.ts';
import { PermissionDeniedError, type AuditService } from './audit.service.ts';

/** The logged-in user as every service sees them. */
export interface Principal extends Actor {
  userId: string;
  username: string;
  displayName: string;
  role: Role;
  jurisdiction: string;
  /** A one-time password is still in use: only changing it (and logging out) is allowed. */
  mustChangePassword: boolean;
}

export type AuthFailure =
  | 'invalid_credentials'
  | 'account_locked'
  | 'totp_required'
  | 'totp_invalid'
  | 'session_expired'
  | 'not_authenticated';

/** Login or session failure. Messages never say whether a user name exists. */
export class AuthenticationError extends Error {
  readonly statusCode = 401;
  constructor(readonly code: AuthFailure, message: string) {
    super(message);
    this.name = 'AuthenticationError';
  }
}

/** A new password is refused; the message lists why. */
export class PasswordPolicyError extends Error {
  readonly statusCode = 400;
  constructor(readonly problems: string[]) {
    super(`newPassword: ${problems.join('; ')}`);
    this.name = 'PasswordPolicyError';
  }
}

/** argon2id with OWASP's minimum (19 MiB, 2 passes); tests may lower the cost. */
export interface PasswordHashing {
  memoryCost: number;
  timeCost: number;
}
export const DEFAULT_HASHING: PasswordHashing = { memoryCost: 19456, timeCost: 2 };

// `Algorithm` is an ambient const enum, which isolated modules cannot read: Argon2id is its value 2.
const ARGON2ID = 2 as Algorithm;

export async function hashPassword(password: string, cost: PasswordHashing = DEFAULT_HASHING): Promise<string> {
  return hash(password, { algorithm: ARGON2ID, memoryCost: cost.memoryCost, timeCost: cost.timeCost, parallelism: 1 });
}

export async function verifyPassword(stored: string, password: string): Promise<boolean> {
  try {
    return await verify(stored, password);
  } catch {
    // A malformed stored hash must refuse the login, not crash it.
    return false;
  }
}

export function toPrincipal(u: UserRecord): Principal {
  return {
    userId: u.id,
    username: u.username,
    displayName: u.displayName,
    role: u.role,
    jurisdiction: u.jurisdiction,
    mustChangePassword: u.mustChangePassword,
  };
}

/** How long a checked session is trusted without reading the store again. */
export const SESSION_CACHE_MS = 1000;

function tokenHash(token: string): string {
  return crypto.createHash('sha256').update(token).digest('hex');
}

export interface AuthOptions {
  policy?: SessionPolicy;
  hashing?: PasswordHashing;
  /** Milliseconds since the epoch; injected so tests control time. */
  now?: () => number;
}

export interface LoginResult {
  /** The session token for the cookie. Shown once; only its hash is stored. */
  token: string;
  principal: Principal;
}

export class AuthService {
  readonly policy: SessionPolicy;
  private readonly hashing: PasswordHashing;
  private readonly now: () => number;
  /** Verified against when the user is unknown, so an unknown name costs the same time as a wrong password. */
  private dummyHash: Promise<string> | null = null;
  /**
   * Sessions checked in the last second, so a busy client does not cost two reads per request. Ending
   * a session or changing a user through this service drops its entries at once; a change made by
   * another process (the CLI) takes effect within `SESSION_CACHE_MS`.
   */
  private readonly sessions = new Map<string, { principal: Principal; createdAt: number; lastSeenAt: number; checkedAt: number }>();
  /** Reads of sessions under way, by token hash (shared by the requests that wait for them). */
  private readonly checking = new Map<string, Promise<Principal>>();
  /** Counts logouts and user changes, so a read that started before one is not cached after it. */
  private forgotten = 0;

  constructor(
    private readonly store: SecurityStore,
    private readonly audit: AuditService,
    opts: AuthOptions = {},
  ) {
    this.policy = opts.policy ?? DEFAULT_SESSION_POLICY;
    this.hashing = opts.hashing ?? DEFAULT_HASHING;
    this.now = opts.now ?? Date.now;
  }

  private iso(ms = this.now()): string {
    return new Date(ms).toISOString();
  }

  /** Hashes a password with this service's cost. */
  hash(password: string): Promise<string> {
    return hashPassword(password, this.hashing);
  }

  /**
   * Checks name, password and (for admin, analyst and commander) the TOTP code, then opens a session.
   * Every attempt is audited; the fifth failure in a row locks the account for `policy.lockSeconds`.
   */
  async login(input: { username: string; password: string; totp?: string }): Promise<LoginResult> {
    const username = input.username.trim().toLowerCase();
    const user = await this.store.userByUsername(username);
    const nowMs = this.now();
    const invalid = (): AuthenticationError => new AuthenticationError('invalid_credentials', 'wrong user name or password');

    if (!user) {
      this.dummyHash ??= this.hash(crypto.randomBytes(16).toString('hex'));
      await verifyPassword(await this.dummyHash, input.password);
      await this.audit.record(null, 'login_failed', 'failed', { username, detail: { reason: 'unknown_user' } });
      throw invalid();
    }
    const actor = { userId: user.id, username: user.username, role: user.role, jurisdiction: user.jurisdiction };
    if (user.lockedUntil && Date.parse(user.lockedUntil) > nowMs) {
      await this.audit.record(actor, 'login_failed', 'failed', { detail: { reason: 'locked' } });
      throw new AuthenticationError('account_locked', `account locked after ${this.policy.maxFailedLogins} failed logins; try again later or ask an administrator`);
    }
    const fail = async (reason: string, err: AuthenticationError): Promise<never> => {
      const count = await this.store.incrementFailedLogins(user.id, this.iso(nowMs));
      await this.audit.record(actor, 'login_failed', 'failed', { detail: { reason, failures: count } });
      if (count >= this.policy.maxFailedLogins) {
        await this.store.updateUser(user.id, { lockedUntil: this.iso(nowMs + this.policy.lockSeconds * 1000) }, this.iso(nowMs));
        await this.audit.record(actor, 'account_locked', 'ok', { detail: { failures: count } });
      }
      throw err;
    };

    if (!(await verifyPassword(user.passwordHash, input.password))) return fail('password', invalid());
    if (user.disabled) {
      // Said only after a correct password, so the message gives nothing away to a guesser.
      await this.audit.record(actor, 'login_failed', 'failed', { detail: { reason: 'disabled' } });
      throw invalid();
    }
    if (requiresTotp(user.role)) {
      if (!user.totpSecret) {
        await this.audit.record(actor, 'login_failed', 'failed', { detail: { reason: 'totp_not_enrolled' } });
        throw new AuthenticationError('totp_required', 'this role needs a TOTP code, but none is enrolled: ask an administrator to reset the account');
      }
      if (!input.totp) throw new AuthenticationError('totp_required', 'totp: a 6-digit code from the authenticator app is required for this role');
      const step = verifyTotp(base32Decode(user.totpSecret), input.totp.trim(), Math.floor(nowMs / 1000));
      if (step === null) return fail('totp', new AuthenticationError('totp_invalid', 'totp: wrong or expired code'));
      if (!(await this.store.claimTotpStep(user.id, step))) return fail('totp_replay', new AuthenticationError('totp_invalid', 'totp: this code was already used; wait for the next one'));
    }

    await this.store.updateUser(user.id, { failedLogins: 0, lockedUntil: null }, this.iso(nowMs));
    const token = crypto.randomBytes(32).toString('base64url');
    await this.store.createSession({ idHash: tokenHash(token), userId: user.id, createdAt: this.iso(nowMs), lastSeenAt: this.iso(nowMs) });
    await this.audit.record(actor, 'login', 'ok');
    return { token, principal: toPrincipal(user) };
  }

  /**
   * The principal of a session token, or an AuthenticationError. Ends sessions that timed out or whose
   * user was disabled. The last-seen time is written at most once a minute, so reads stay reads.
   *
   * A check is trusted for `SESSION_CACHE_MS`. Concurrent requests of one session share one read of
   * the store, and a session in use is checked again in the background once half that time has passed,
   * so a busy client never waits for the store while a cached answer is never older than the limit.
   */
  async authenticate(token: string | undefined): Promise<Principal> {
    if (!token) throw new AuthenticationError('not_authenticated', 'not logged in');
    const idHash = tokenHash(token);
    const cached = this.sessions.get(idHash);
    const nowMs = this.now();
    if (cached && nowMs - cached.checkedAt < SESSION_CACHE_MS) {
      if (!sessionExpiry({ createdAt: cached.createdAt / 1000, lastSeenAt: cached.lastSeenAt / 1000 }, nowMs / 1000, this.policy)) {
        if (nowMs - cached.checkedAt >= SESSION_CACHE_MS / 2 && !this.checking.has(idHash)) {
          // The outcome lands in the cache; a refused session is dropped from it there.
          this.check(idHash).catch(() => undefined);
        }
        return cached.principal;
      }
    }
    return this.check(idHash);
  }

  /** Reads and checks a session, once however many requests are waiting for it. */
  private check(idHash: string): Promise<Principal> {
    let pending = this.checking.get(idHash);
    if (!pending) {
      const started = this.forgotten;
      const p: Promise<Principal> = this.load(idHash, started).finally(() => {
        if (this.checking.get(idHash) === p) this.checking.delete(idHash);
      });
      pending = p;
      this.checking.set(idHash, p);
    }
    return pending;
  }

  private async load(idHash: string, started: number): Promise<Principal> {
    // The answer is as old as the read's start: that is when the cached check's time starts.
    const readAt = this.now();
    const found = await this.store.sessionWithUser(idHash);
    if (!found) {
      this.sessions.delete(idHash);
      throw new AuthenticationError('not_authenticated', 'not logged in (no such session)');
    }
    const { session, user } = found;
    const nowMs = this.now();
    const expired = sessionExpiry(
      { createdAt: Date.parse(session.createdAt) / 1000, lastSeenAt: Date.parse(session.lastSeenAt) / 1000 },
      nowMs / 1000,
      this.policy,
    );
    if (expired) {
      this.sessions.delete(idHash);
      await this.store.deleteSession(idHash);
      throw new AuthenticationError('session_expired', expired === 'idle' ? 'session ended after inactivity; log in again' : 'session reached its maximum age; log in again');
    }
    if (!user || user.disabled) {
      this.sessions.delete(idHash);
      await this.store.deleteSession(idHash);
      throw new AuthenticationError('not_authenticated', 'not logged in (account disabled)');
    }
    const touchEveryMs = Math.min(60_000, (this.policy.idleSeconds * 1000) / 10);
    let lastSeenAt = Date.parse(session.lastSeenAt);
    if (nowMs - lastSeenAt >= touchEveryMs) {
      await this.store.touchSession(idHash, this.iso(nowMs));
      lastSeenAt = nowMs;
    }
    const principal = toPrincipal(user);
    // A logout or a change of user made while this read was under way may have made it stale: the
    // answer serves the requests that were already waiting for it, but is not kept.
    if (started === this.forgotten) {
      if (this.sessions.size >= 10_000) this.sessions.clear();
      this.sessions.set(idHash, { principal, createdAt: Date.parse(session.createdAt), lastSeenAt, checkedAt: readAt });
    }
    return principal;
  }

  /** Forgets cached sessions of a user (after disabling, resetting or a password change). */
  forgetUser(userId: string): void {
    this.forgotten++;
    this.checking.clear();
    for (const [k, v] of this.sessions) if (v.principal.userId === userId) this.sessions.delete(k);
  }

  /** Ends a session (logout). */
  async logout(token: string | undefined, principal?: Principal): Promise<void> {
    if (!token) return;
    this.forgotten++;
    this.checking.delete(tokenHash(token));
    this.sessions.delete(tokenHash(token));
    await this.store.deleteSession(tokenHash(token));
    if (principal) await this.audit.record(principal, 'logout', 'ok');
  }

  /** Changes one's own password (and clears a one-time password); other sessions of the user end. */
  async changePassword(principal: Principal, currentPassword: string, newPassword: string, keepToken?: string): Promise<void> {
    const user = await this.store.userById(principal.userId);
    if (!user) throw new AuthenticationError('not_authenticated', 'not logged in');
    if (!(await verifyPassword(user.passwordHash, currentPassword))) {
      await this.audit.record(principal, 'password_change', 'failed', { detail: { reason: 'current_password' } });
      throw new AuthenticationError('invalid_credentials', 'currentPassword: wrong password');
    }
    const problems = passwordProblems(newPassword, user.username);
    if (currentPassword === newPassword) problems.push('password must differ from the current one');
    if (problems.length) throw new PasswordPolicyError(problems);
    await this.store.updateUser(user.id, { passwordHash: await this.hash(newPassword), mustChangePassword: false }, this.iso());
    // Someone who learnt the old password must not keep a session opened with it.
    const keep = keepToken ? await this.store.sessionByHash(tokenHash(keepToken)) : null;
    this.forgetUser(user.id);
    await this.store.deleteSessionsOfUser(user.id);
    if (keep) await this.store.createSession(keep);
    await this.audit.record(principal, 'password_change', 'ok');
  }

  /**
   * Throws (and audits) unless the principal's role grants the permission (null: any logged-in user)
   * and the one-time password has been replaced.
   */
  async require(principal: Principal, permission: Permission | null, subject: string | null = null): Promise<void> {
    if (principal.mustChangePassword) {
      throw await this.audit.denied(principal, `${permission ?? 'any action'} (password change required first)`, subject);
    }
    if (permission !== null && !can(principal.role, permission)) throw await this.audit.denied(principal, permission, subject);
  }

  /** Deletes sessions past their timeouts; returns how many (a periodic sweep keeps the table small). */
  async sweepSessions(): Promise<number> {
    const nowMs = this.now();
    return this.store.deleteStaleSessions(
      this.iso(nowMs - this.policy.idleSeconds * 1000),
      this.iso(nowMs - this.policy.absoluteSeconds * 1000),
    );
  }
}

export { PermissionDeniedError };
