import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testPostgresUrl } from '../../../test/support/services.ts';
import { openPostgresConnection, type PostgresConnection } from './postgres/postgres-connection.ts';
import { SqlSecurityStore } from './sql-security-store.ts';
import { SqlConstraintError, type SqlConnection } from './sql-connection.ts';
import { openSqliteConnection } from './sqlite/sqlite-connection.ts';
import type { UserRecord } from './security-store.ts';

const pgUrl = await testPostgresUrl();

interface Backend {
  name: string;
  open(): Promise<SqlConnection>;
  skip?: string;
}

const BACKENDS: Backend[] = [
  { name: 'sqlite', open: async () => openSqliteConnection(':memory:') },
  {
    name: 'postgres',
    skip: pgUrl ? undefined : 'PostgreSQL not reachable',
    open: async () => {
      const u = new URL(pgUrl ?? 'postgres://127.0.0.1/postgres');
      u.searchParams.set('schema', `cordon_security_store_${process.pid}`);
      // Start from an empty schema: a crashed earlier run may have left one behind.
      const stale = await openPostgresConnection(u.toString(), { max: 1 });
      await stale.dropSchema();
      await stale.close();
      return openPostgresConnection(u.toString(), { max: 2 });
    },
  },
];

function user(id: string, username: string): UserRecord {
  const at = '2026-01-01T00:00:00.000Z';
  return {
    id, username, displayName: username, role: 'precinct_officer', jurisdiction: 'J1', passwordHash: 'x',
    mustChangePassword: true, totpSecret: null, totpLastStep: null, disabled: false, failedLogins: 0,
    lockedUntil: null, createdAt: at, updatedAt: at,
  };
}

for (const backend of BACKENDS) {
  describe.skipIf(backend.skip !== undefined)(`security store on ${backend.name}`, () => {
    let conn: SqlConnection;
    let sut: SqlSecurityStore;

    beforeAll(async () => {
      conn = await backend.open();
      sut = new SqlSecurityStore(conn);
      await sut.init();
      await sut.init(); // a second start applies nothing and fails nothing
    });

    afterAll(async () => {
      if (!conn) return;
      if ('dropSchema' in conn) await (conn as PostgresConnection).dropSchema();
      await conn.close();
    });

    it('stores users with unique, case-insensitive names', async () => {
      await sut.createUser(user('u1', 'Officer1'));
      expect((await sut.userByUsername('OFFICER1'))?.id).toBe('u1');
      await expect(sut.createUser(user('u2', 'officer1'))).rejects.toBeInstanceOf(SqlConstraintError);
      expect(await sut.updateUser('u1', { disabled: true, displayName: 'O. One' }, '2026-01-02T00:00:00.000Z')).toBe(true);
      const u = await sut.userById('u1');
      expect(u).toMatchObject({ disabled: true, displayName: 'O. One', mustChangePassword: true, updatedAt: '2026-01-02T00:00:00.000Z' });
      expect(await sut.incrementFailedLogins('u1', '2026-01-02T00:00:00.000Z')).toBe(1);
      expect(await sut.incrementFailedLogins('u1', '2026-01-02T00:00:00.000Z')).toBe(2);
    });

    it('claims each TOTP step once', async () => {
      await sut.createUser(user('u3', 'analyst3'));
      expect(await sut.claimTotpStep('u3', 100)).toBe(true);
      expect(await sut.claimTotpStep('u3', 100)).toBe(false);
      expect(await sut.claimTotpStep('u3', 99)).toBe(false);
      expect(await sut.claimTotpStep('u3', 101)).toBe(true);
    });

    it('ends all sessions of a user and stale ones', async () => {
      await sut.createUser(user('u4', 'staff4'));
      await sut.createSession({ idHash: 'h1', userId: 'u4', createdAt: '2026-01-01T00:00:00.000Z', lastSeenAt: '2026-01-01T00:00:00.000Z' });
      await sut.createSession({ idHash: 'h2', userId: 'u4', createdAt: '2026-01-01T00:00:00.000Z', lastSeenAt: '2026-01-01T05:00:00.000Z' });
      await sut.touchSession('h1', '2026-01-01T01:00:00.000Z');
      expect((await sut.sessionByHash('h1'))?.lastSeenAt).toBe('2026-01-01T01:00:00.000Z');
      expect(await sut.deleteStaleSessions('2026-01-01T02:00:00.000Z', '2025-12-31T00:00:00.000Z')).toBe(1);
      expect(await sut.sessionByHash('h1')).toBeNull();
      expect(await sut.deleteSessionsOfUser('u4')).toBe(1);
      expect(await sut.sessionByHash('h2')).toBeNull();
    });

    it('reads a session with its user in one call', async () => {
      await sut.createUser({ ...user('u5', 'staff5'), createdAt: '2025-06-01T00:00:00.000Z' });
      await sut.createSession({ idHash: 'h5', userId: 'u5', createdAt: '2026-01-01T00:00:00.000Z', lastSeenAt: '2026-01-01T00:30:00.000Z' });
      const found = await sut.sessionWithUser('h5');
      expect(found?.session).toEqual({ idHash: 'h5', userId: 'u5', createdAt: '2026-01-01T00:00:00.000Z', lastSeenAt: '2026-01-01T00:30:00.000Z' });
      expect(found?.user).toEqual(await sut.userById('u5'));
      expect(found?.user?.createdAt).toBe('2025-06-01T00:00:00.000Z');
      expect(await sut.sessionWithUser('nothing')).toBeNull();
    });

    it('keeps the audit trail append-only: the database refuses UPDATE and DELETE', async () => {
      const row = await sut.appendAudit({
        at: '2026-01-03T00:00:00.000Z', userId: 'u1', username: 'officer1', role: 'analyst', jurisdiction: 'J1',
        action: 'trace.read', outcome: 'ok', caseId: 'C1', purpose: 'contact tracing', subject: 'person:P1', detail: { contacts: 3 },
      });
      expect(row.id).toBeGreaterThan(0);
      await expect(conn.execute("UPDATE audit SET purpose = 'changed' WHERE id = ?", [row.id])).rejects.toThrow(/append-only/);
      await expect(conn.execute('DELETE FROM audit WHERE id = ?', [row.id])).rejects.toThrow(/append-only/);
      await expect(conn.execute('DELETE FROM audit')).rejects.toThrow(/append-only/);
      const found = await sut.searchAudit({ caseId: 'C1' });
      expect(found.total).toBe(1);
      expect(found.rows[0]).toMatchObject({ purpose: 'contact tracing', detail: { contacts: 3 }, action: 'trace.read' });
    });

    it('searches the audit trail newest first with filters', async () => {
      for (let i = 0; i < 5; i++) {
        await sut.appendAudit({
          at: `2026-02-0${i + 1}T00:00:00.000Z`, userId: 'u9', username: 'nine', role: 'admin', jurisdiction: 'J1',
          action: i % 2 ? 'login_failed' : 'login', outcome: i % 2 ? 'failed' : 'ok', caseId: null, purpose: null, subject: null, detail: null,
        });
      }
      const logins = await sut.searchAudit({ userId: 'u9', action: 'login' });
      expect(logins.total).toBe(3);
      expect(logins.rows.map((r) => r.at)).toEqual(['2026-02-05T00:00:00.000Z', '2026-02-03T00:00:00.000Z', '2026-02-01T00:00:00.000Z']);
      const window = await sut.searchAudit({ username: 'NINE', from: '2026-02-02T00:00:00.000Z', to: '2026-02-04T00:00:00.000Z', limit: 1 });
      expect(window.total).toBe(2);
      expect(window.rows).toHaveLength(1);
    });
  });
}

if (pgUrl) {
  it('PostgreSQL also refuses TRUNCATE of the audit trail', async () => {
    const u = new URL(pgUrl);
    u.searchParams.set('schema', `cordon_security_truncate_${process.pid}`);
    const conn = await openPostgresConnection(u.toString(), { max: 1 });
    try {
      const sut = new SqlSecurityStore(conn);
      await sut.init();
      await expect(conn.exec('TRUNCATE audit')).rejects.toThrow(/append-only: TRUNCATE refused/);
    } finally {
      await conn.dropSchema();
      await conn.close();
    }
  });
}
