/**
 * @module The security store over the shared SqlConnection: one set of queries for SQLite and
 * PostgreSQL, with each dialect's schema applied through the records store's migration runner.
 */
import { isRole, type Role } from '../../domain/roles.ts';
import { migrate, type MigrationArea } from './migrations.ts';
import { POSTGRES_SECURITY_SCHEMA } from './postgres/postgres-security-schema.ts';
import type {
  AuditEntry,
  AuditQuery,
  AuditRecord,
  SecurityStore,
  SessionRecord,
  UserPatch,
  UserRecord,
} from './security-store.ts';
import type { SqlConnection, SqlRow, SqlValue } from './sql-connection.ts';
import { SQLITE_SECURITY_SCHEMA } from './sqlite/sqlite-security-schema.ts';

/** The `security` migration area: the same step ids on both dialects. */
export const SECURITY_MIGRATIONS: MigrationArea = {
  area: 'security',
  migrations: Object.keys(SQLITE_SECURITY_SCHEMA)
    .sort()
    .map((id) => {
      const postgres = POSTGRES_SECURITY_SCHEMA[id];
      if (postgres === undefined) throw new Error(`security migration ${id} has no PostgreSQL version`);
      return { id, sql: { sqlite: SQLITE_SECURITY_SCHEMA[id], postgres } };
    }),
};

const USER_COLUMNS: Record<keyof UserPatch, string> = {
  displayName: 'display_name',
  role: 'role',
  jurisdiction: 'jurisdiction',
  passwordHash: 'password_hash',
  mustChangePassword: 'must_change_password',
  totpSecret: 'totp_secret',
  disabled: 'disabled',
  failedLogins: 'failed_logins',
  lockedUntil: 'locked_until',
};

function str(v: unknown): string {
  return v === null || v === undefined ? '' : String(v);
}
function strOrNull(v: unknown): string | null {
  return v === null || v === undefined ? null : String(v);
}

function toUser(r: SqlRow): UserRecord {
  const role = str(r.role);
  if (!isRole(role)) throw new Error(`users: user ${str(r.id)} has an unknown role "${role}"`);
  return {
    id: str(r.id),
    username: str(r.username),
    displayName: str(r.display_name),
    role: role as Role,
    jurisdiction: str(r.jurisdiction),
    passwordHash: str(r.password_hash),
    mustChangePassword: Number(r.must_change_password) === 1,
    totpSecret: strOrNull(r.totp_secret),
    totpLastStep: r.totp_last_step === null || r.totp_last_step === undefined ? null : Number(r.totp_last_step),
    disabled: Number(r.disabled) === 1,
    failedLogins: Number(r.failed_logins),
    lockedUntil: strOrNull(r.locked_until),
    createdAt: str(r.created_at),
    updatedAt: str(r.updated_at),
  };
}

function toSession(r: SqlRow): SessionRecord {
  return { idHash: str(r.id_hash), userId: str(r.user_id), createdAt: str(r.created_at), lastSeenAt: str(r.last_seen_at) };
}

function toAudit(r: SqlRow): AuditRecord {
  const detail = strOrNull(r.detail);
  return {
    id: Number(r.id),
    at: str(r.at),
    userId: strOrNull(r.user_id),
    username: strOrNull(r.username),
    role: strOrNull(r.role),
    jurisdiction: strOrNull(r.jurisdiction),
    action: str(r.action),
    outcome: str(r.outcome) as AuditRecord['outcome'],
    caseId: strOrNull(r.case_id),
    purpose: strOrNull(r.purpose),
    subject: strOrNull(r.subject),
    detail: detail === null ? null : (JSON.parse(detail) as unknown),
  };
}

function sqlValue(v: unknown): SqlValue {
  if (v === null || v === undefined) return null;
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (typeof v === 'number' || typeof v === 'string') return v;
  return JSON.stringify(v);
}

export class SqlSecurityStore implements SecurityStore {
  constructor(private readonly conn: SqlConnection) {}

  async init(): Promise<void> {
    await migrate(this.conn, [SECURITY_MIGRATIONS]);
  }

  async createUser(u: UserRecord): Promise<void> {
    await this.conn.execute(
      `INSERT INTO users (id, username, display_name, role, jurisdiction, password_hash, must_change_password,
         totp_secret, totp_last_step, disabled, failed_logins, locked_until, created_at, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      [
        u.id, u.username.toLowerCase(), u.displayName, u.role, u.jurisdiction, u.passwordHash, u.mustChangePassword ? 1 : 0,
        u.totpSecret, u.totpLastStep, u.disabled ? 1 : 0, u.failedLogins, u.lockedUntil, u.createdAt, u.updatedAt,
      ],
    );
  }

  async userById(id: string): Promise<UserRecord | null> {
    const rows = await this.conn.query('SELECT * FROM users WHERE id = ?', [id]);
    return rows.length ? toUser(rows[0]) : null;
  }

  async userByUsername(username: string): Promise<UserRecord | null> {
    const rows = await this.conn.query('SELECT * FROM users WHERE username = ?', [username.toLowerCase()]);
    return rows.length ? toUser(rows[0]) : null;
  }

  async listUsers(): Promise<UserRecord[]> {
    return (await this.conn.query('SELECT * FROM users ORDER BY username')).map(toUser);
  }

  async updateUser(id: string, patch: UserPatch, at: string): Promise<boolean> {
    const sets: string[] = [];
    const params: SqlValue[] = [];
    for (const [key, column] of Object.entries(USER_COLUMNS) as [keyof UserPatch, string][]) {
      if (!(key in patch)) continue;
      sets.push(`${column} = ?`);
      params.push(sqlValue(patch[key]));
    }
    sets.push('updated_at = ?');
    params.push(at, id);
    const { changes } = await this.conn.execute(`UPDATE users SET ${sets.join(', ')} WHERE id = ?`, params);
    return changes > 0;
  }

  async incrementFailedLogins(id: string, at: string): Promise<number> {
    return this.conn.transaction(async (tx) => {
      await tx.execute('UPDATE users SET failed_logins = failed_logins + 1, updated_at = ? WHERE id = ?', [at, id]);
      const rows = await tx.query('SELECT failed_logins FROM users WHERE id = ?', [id]);
      return rows.length ? Number(rows[0].failed_logins) : 0;
    });
  }

  async claimTotpStep(id: string, step: number): Promise<boolean> {
    const { changes } = await this.conn.execute(
      'UPDATE users SET totp_last_step = ? WHERE id = ? AND (totp_last_step IS NULL OR totp_last_step < ?)',
      [step, id, step],
    );
    return changes > 0;
  }

  async createSession(s: SessionRecord): Promise<void> {
    await this.conn.execute('INSERT INTO sessions (id_hash, user_id, created_at, last_seen_at) VALUES (?, ?, ?, ?)', [
      s.idHash, s.userId, s.createdAt, s.lastSeenAt,
    ]);
  }

  async sessionByHash(idHash: string): Promise<SessionRecord | null> {
    const rows = await this.conn.query('SELECT * FROM sessions WHERE id_hash = ?', [idHash]);
    return rows.length ? toSession(rows[0]) : null;
  }

  async sessionWithUser(idHash: string): Promise<{ session: SessionRecord; user: UserRecord | null } | null> {
    // One round trip instead of two: every request whose cached session check ran out needs both.
    const rows = await this.conn.query(
      `SELECT s.id_hash, s.user_id, s.created_at AS session_created_at, s.last_seen_at, u.*
       FROM sessions s LEFT JOIN users u ON u.id = s.user_id WHERE s.id_hash = ?`,
      [idHash],
    );
    if (!rows.length) return null;
    const r = rows[0];
    const session = toSession({ ...r, created_at: r.session_created_at });
    return { session, user: r.id === null || r.id === undefined ? null : toUser(r) };
  }

  async touchSession(idHash: string, at: string): Promise<void> {
    await this.conn.execute('UPDATE sessions SET last_seen_at = ? WHERE id_hash = ? AND last_seen_at < ?', [at, idHash, at]);
  }

  async deleteSession(idHash: string): Promise<void> {
    await this.conn.execute('DELETE FROM sessions WHERE id_hash = ?', [idHash]);
  }

  async deleteSessionsOfUser(userId: string): Promise<number> {
    return (await this.conn.execute('DELETE FROM sessions WHERE user_id = ?', [userId])).changes;
  }

  async deleteStaleSessions(idleBefore: string, createdBefore: string): Promise<number> {
    return (await this.conn.execute('DELETE FROM sessions WHERE last_seen_at < ? OR created_at < ?', [idleBefore, createdBefore])).changes;
  }

  async appendAudit(e: AuditEntry): Promise<AuditRecord> {
    // Read the id back inside the transaction: RETURNING differs little, but this works everywhere.
    return this.conn.transaction(async (tx) => {
      const rows = await tx.query(
        `INSERT INTO audit (at, user_id, username, role, jurisdiction, action, outcome, case_id, purpose, subject, detail)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
        [
          e.at, e.userId, e.username, e.role, e.jurisdiction, e.action, e.outcome, e.caseId, e.purpose, e.subject,
          e.detail === null || e.detail === undefined ? null : JSON.stringify(e.detail),
        ],
      );
      return { ...e, id: Number(rows[0].id) };
    });
  }

  async searchAudit(q: AuditQuery): Promise<{ rows: AuditRecord[]; total: number }> {
    const where: string[] = [];
    const params: SqlValue[] = [];
    const eq = (column: string, v: string | undefined): void => {
      if (v === undefined) return;
      where.push(`${column} = ?`);
      params.push(v);
    };
    eq('user_id', q.userId);
    eq('username', q.username?.toLowerCase());
    eq('action', q.action);
    eq('case_id', q.caseId);
    eq('outcome', q.outcome);
    if (q.from !== undefined) {
      where.push('at >= ?');
      params.push(q.from);
    }
    if (q.to !== undefined) {
      where.push('at < ?');
      params.push(q.to);
    }
    const clause = where.length ? `WHERE ${where.join(' AND ')}` : '';
    const limit = Math.max(1, Math.min(q.limit ?? 100, 1000));
    const offset = Math.max(0, q.offset ?? 0);
    const rows = await this.conn.query(`SELECT * FROM audit ${clause} ORDER BY id DESC LIMIT ${limit} OFFSET ${offset}`, params);
    const total = await this.conn.query(`SELECT COUNT(*) AS n FROM audit ${clause}`, params);
    return { rows: rows.map(toAudit), total: Number(total[0].n) };
  }
}
