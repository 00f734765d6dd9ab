/**
 * @module The audit trail as a use case: writing rows for the actions the law asks to account for
 * (reads of trajectories and contact lists, unmasking, logins, refused authorisations), checking that
 * a purpose and a case come with every such read, and searching the trail.
 */
import { can, isRole } from '../domain/roles.ts';
import type { AuditEntry, AuditQuery, AuditRecord, SecurityStore } from '../stores/records/security-store.ts';

/** Who did it, as far as known (a failed login has no user yet). */
export interface AuditActor {
  userId: string;
  username?: string;
  role: string;
  jurisdiction: string;
}

/** A purpose-bound read is missing its purpose or case (PIPL art. 28: a specific purpose). */
export class PurposeRequiredError extends Error {
  readonly statusCode = 400;
  constructor(message: string) {
    super(message);
    this.name = 'PurposeRequiredError';
  }
}

/** The caller may not do this. */
export class PermissionDeniedError extends Error {
  readonly statusCode = 403;
  constructor(message: string) {
    super(message);
    this.name = 'PermissionDeniedError';
  }
}

/** What a purpose-bound read names: why, and for which case. */
export interface Purpose {
  purpose: string;
  caseId: string;
}

export const MIN_PURPOSE_LENGTH = 4;
export const MAX_PURPOSE_LENGTH = 500;

/** How a purpose-bound read names its purpose: where the fields come from, and whether a case is required. */
export interface PurposeRule {
  /** Prefix of the field names in messages (`querystring`, `body`), so the caller sees which field is wrong. */
  where?: string;
  /** False where a read may have no case (a person's page opened from search); true by default. */
  caseRequired?: boolean;
}

/** Checks a purpose and case before a trajectory or contact read; throws PurposeRequiredError naming the field. */
export function checkPurpose(input: { purpose?: string | null; caseId?: string | null }, rule: PurposeRule = {}): { purpose: string; caseId: string | null } {
  const purpose = (input.purpose ?? '').trim();
  const caseId = (input.caseId ?? '').trim();
  const field = (name: string): string => (rule.where ? `${rule.where}.${name}` : name);
  if (!purpose) throw new PurposeRequiredError(`${field('purpose')}: a purpose is required to read a trajectory or contact list`);
  if (purpose.length < MIN_PURPOSE_LENGTH) throw new PurposeRequiredError(`${field('purpose')}: must have at least ${MIN_PURPOSE_LENGTH} characters`);
  if (purpose.length > MAX_PURPOSE_LENGTH) throw new PurposeRequiredError(`${field('purpose')}: must have at most ${MAX_PURPOSE_LENGTH} characters`);
  if (!caseId && rule.caseRequired !== false) throw new PurposeRequiredError(`${field('caseId')}: a case is required to read a trajectory or contact list`);
  return { purpose, caseId: caseId || null };
}

export class AuditService {
  constructor(
    private readonly store: SecurityStore,
    /** Milliseconds since the epoch; injected so tests control time. */
    private readonly now: () => number = Date.now,
  ) {}

  /** Appends one row. */
  async record(
    actor: AuditActor | null,
    action: string,
    outcome: AuditEntry['outcome'],
    extra: { caseId?: string | null; purpose?: string | null; subject?: string | null; detail?: unknown; username?: string | null } = {},
  ): Promise<AuditRecord> {
    return this.store.appendAudit({
      at: new Date(this.now()).toISOString(),
      userId: actor?.userId ?? null,
      username: actor?.username ?? extra.username ?? null,
      role: actor?.role ?? null,
      jurisdiction: actor?.jurisdiction ?? null,
      action,
      outcome,
      caseId: extra.caseId ?? null,
      purpose: extra.purpose ?? null,
      subject: extra.subject ?? null,
      detail: extra.detail ?? null,
    });
  }

  /**
   * Checks the purpose (and case) of a purpose-bound read; a refusal is written to the trail (outcome
   * `denied`, the same action) before the PurposeRequiredError is thrown, so an auditor sees attempts
   * as well as reads. Use `recordRead` unless the ok row needs figures known only after the read.
   */
  async requirePurpose(
    actor: AuditActor,
    action: string,
    input: { purpose?: string | null; caseId?: string | null },
    subject: string | null,
    rule: PurposeRule = {},
  ): Promise<{ purpose: string; caseId: string | null }> {
    try {
      return checkPurpose(input, rule);
    } catch (err) {
      if (err instanceof PurposeRequiredError) {
        // What the user typed as a reason (bounded) helps an auditor read the attempt; it is not data read.
        const given = (input.purpose ?? '').trim().slice(0, MAX_PURPOSE_LENGTH) || null;
        await this.record(actor, action, 'denied', { caseId: (input.caseId ?? '').trim() || null, purpose: given, subject, detail: { refused: err.message } });
      }
      throw err;
    }
  }

  /**
   * Records a purpose-bound read (trajectory, contact list, export) after checking its purpose and
   * case (refusals audited, see `requirePurpose`). Call before returning the data: no row, no read.
   */
  async recordRead(
    actor: AuditActor,
    action: string,
    input: { purpose?: string | null; caseId?: string | null },
    subject: string | null,
    detail?: unknown,
    rule: PurposeRule = {},
  ): Promise<{ purpose: string; caseId: string | null }> {
    const p = await this.requirePurpose(actor, action, input, subject, rule);
    await this.record(actor, action, 'ok', { caseId: p.caseId, purpose: p.purpose, subject, detail });
    return p;
  }

  /** Records a refused action and returns the error to throw. */
  async denied(actor: AuditActor | null, what: string, subject: string | null = null): Promise<PermissionDeniedError> {
    await this.record(actor, 'authz.denied', 'denied', { subject, detail: { what } });
    return new PermissionDeniedError(`not allowed: ${what}`);
  }

  /** Searches the trail; only roles with `audit:read` may. */
  async search(actor: AuditActor & { role: string }, query: AuditQuery): Promise<{ rows: AuditRecord[]; total: number }> {
    if (!canRead(actor.role)) throw await this.denied(actor, 'audit:read');
    return this.store.searchAudit(query);
  }
}

function canRead(role: string): boolean {
  return role === 'system' || (isRole(role) && can(role, 'audit:read'));
}
