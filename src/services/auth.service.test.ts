import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SqlSecurityStore } from '../stores/records/sql-security-store.ts';
import type { SqlConnection } from '../stores/records/sql-connection.ts';
import { openSqliteConnection } from '../stores/records/sqlite/sqlite-connection.ts';
import { AuditService } from './audit.service.ts';
import { AuthService, SESSION_CACHE_MS } from './auth.service.ts';

const PASSWORD = 'correct horse battery staple';

/** The security store, counting the session reads that checking a cookie makes. */
class CountingStore extends SqlSecurityStore {
  reads = 0;
  /** When set, session reads wait for it (to hold a read under way). */
  gate: Promise<void> | null = null;

  override async sessionWithUser(idHash: string): ReturnType<SqlSecurityStore['sessionWithUser']> {
    this.reads++;
    const found = await super.sessionWithUser(idHash);
    if (this.gate) await this.gate;
    return found;
  }
}

let conn: SqlConnection;
let store: CountingStore;
let auth: AuthService;
let now: number;
let token: string;

/** Lets pending promise callbacks (a background read) run. */
const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

beforeEach(async () => {
  now = Date.parse('2026-03-01T08:00:00.000Z');
  conn = openSqliteConnection(':memory:');
  store = new CountingStore(conn);
  await store.init();
  const clock = (): number => now;
  auth = new AuthService(store, new AuditService(store, clock), { now: clock, hashing: { memoryCost: 1024, timeCost: 1 } });
  await store.createUser({
    id: 'u1', username: 'officer', displayName: 'officer', role: 'precinct_officer', jurisdiction: 'J1',
    passwordHash: await auth.hash(PASSWORD), mustChangePassword: false, totpSecret: null, totpLastStep: null, disabled: false,
    failedLogins: 0, lockedUntil: null, createdAt: '2026-01-01T00:00:00.000Z', updatedAt: '2026-01-01T00:00:00.000Z',
  });
  token = (await auth.login({ username: 'officer', password: PASSWORD })).token;
  store.reads = 0;
});

afterEach(async () => {
  await conn.close();
});

describe('checking session cookies', () => {
  it('reads the store once for concurrent requests of one session', async () => {
    const principals = await Promise.all(Array.from({ length: 8 }, () => auth.authenticate(token)));
    expect(principals.map((p) => p.userId)).toEqual(Array(8).fill('u1'));
    expect(store.reads).toBe(1);
  });

  it('checks a session in use again in the background, before the cached check runs out', async () => {
    await auth.authenticate(token);
    now += SESSION_CACHE_MS / 4;
    await auth.authenticate(token);
    await settle();
    expect(store.reads).toBe(1);
    // Past half its life, the cached answer is served and renewed meanwhile.
    now += SESSION_CACHE_MS / 2;
    store.gate = new Promise(() => undefined);
    expect((await auth.authenticate(token)).userId).toBe('u1');
    expect(store.reads).toBe(2);
  });

  it('refuses a session ended by another process once the background check has seen it', async () => {
    await auth.authenticate(token);
    await store.deleteSessionsOfUser('u1');
    now += (SESSION_CACHE_MS * 3) / 4;
    expect((await auth.authenticate(token)).userId).toBe('u1'); // still within the cache limit
    await settle();
    await settle();
    await expect(auth.authenticate(token)).rejects.toMatchObject({ code: 'not_authenticated' });
  });

  it('never serves a cached check older than the limit', async () => {
    await auth.authenticate(token);
    await store.deleteSessionsOfUser('u1');
    now += SESSION_CACHE_MS;
    await expect(auth.authenticate(token)).rejects.toMatchObject({ code: 'not_authenticated' });
  });

  it('does not keep a check that was under way when the session was logged out', async () => {
    let open = (): void => undefined;
    store.gate = new Promise((resolve) => {
      open = resolve;
    });
    const before = auth.authenticate(token);
    await settle();
    await auth.logout(token);
    store.gate = null;
    open();
    // The request that came before the logout is answered; nothing after it is.
    expect((await before).userId).toBe('u1');
    await expect(auth.authenticate(token)).rejects.toMatchObject({ code: 'not_authenticated' });
  });
});
