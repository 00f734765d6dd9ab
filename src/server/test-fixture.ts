/**
 * @module A server on a private in-memory SQLite records store with a small jurisdiction tree, a
 * controllable clock and captured logs, for the server's own tests (and benchmarks that need users).
 */
import { Writable } from 'node:stream';
import { base32Decode, totp } from '../domain/auth.ts';
import { JurisdictionTree, type JurisdictionNode } from '../domain/jurisdiction.ts';
import type { Role } from '../domain/roles.ts';
import { AuditService } from '../services/audit.service.ts';
import { AuthService } from '../services/auth.service.ts';
import { SYSTEM, UserService } from '../services/user.service.ts';
import { SqlSecurityStore } from '../stores/records/sql-security-store.ts';
import type { SqlConnection } from '../stores/records/sql-connection.ts';
import { openSqliteConnection } from '../stores/records/sqlite/sqlite-connection.ts';
import { LocalEventSource } from './live-events.ts';
import { buildServer, type CordonServer, type RouteGroup, type StatusReport } from './server.ts';

/** City → two districts → a precinct each. */
export const FIXTURE_TREE: JurisdictionNode[] = [
  { code: 'NB', name: '宁波市公安局', nameEn: 'Ningbo', level: 'city', parent: null, geometry: null },
  { code: 'NB-HS', name: '海曙分局', nameEn: 'Haishu', level: 'district', parent: 'NB', geometry: null },
  { code: 'NB-ZH', name: '镇海分局', nameEn: 'Zhenhai', level: 'district', parent: 'NB', geometry: null },
  { code: 'NB-HS-01', name: '鼓楼派出所', nameEn: 'Gulou', level: 'precinct', parent: 'NB-HS', geometry: null },
  { code: 'NB-ZH-01', name: '骆驼派出所', nameEn: 'Luotuo', level: 'precinct', parent: 'NB-ZH', geometry: null },
];

export const FIXTURE_PASSWORD = 'correct horse battery staple';

export interface Fixture {
  server: CordonServer;
  url: string;
  conn: SqlConnection;
  auth: AuthService;
  users: UserService;
  audit: AuditService;
  store: SqlSecurityStore;
  events: LocalEventSource;
  tree: JurisdictionTree;
  /** Everything the server logged. */
  logs: () => string;
  /** Moves the clock forward. */
  advance(seconds: number): void;
  nowMs(): number;
  /** Creates a user with FIXTURE_PASSWORD (no password change required); returns id and TOTP secret. */
  addUser(username: string, role: Role, jurisdiction: string): Promise<{ id: string; totpSecret: string | null }>;
  /** The current TOTP code of a secret. */
  code(secret: string, offsetSteps?: number): string;
  /** Logs in over HTTP and returns the cookie header to send. */
  login(username: string, secret?: string | null, password?: string): Promise<string>;
  close(): Promise<void>;
}

export async function startFixture(opts: { routes?: RouteGroup[]; status?: () => Promise<StatusReport>; conn?: SqlConnection; webDist?: string } = {}): Promise<Fixture> {
  let now = Date.parse('2026-03-01T08:00:00.000Z');
  const clock = (): number => now;
  const conn = opts.conn ?? openSqliteConnection(':memory:');
  const store = new SqlSecurityStore(conn);
  await store.init();
  const audit = new AuditService(store, clock);
  // Cheap hashing keeps the suite fast; the production cost is the default.
  const auth = new AuthService(store, audit, { now: clock, hashing: { memoryCost: 1024, timeCost: 1 } });
  const tree = new JurisdictionTree(FIXTURE_TREE);
  const scope = async (): Promise<JurisdictionTree> => tree;
  const users = new UserService(store, auth, audit, scope, clock);
  const events = new LocalEventSource();
  let logged = '';
  const log = new Writable({
    write(chunk: Buffer, _enc, cb) {
      logged += chunk.toString();
      cb();
    },
  });
  const server = await buildServer({ auth, users, audit, scope, events: [events], routes: opts.routes, status: opts.status, log, heartbeatSeconds: 1, webDist: opts.webDist ?? null });
  await server.app.listen({ port: 0, host: '127.0.0.1' });
  const address = server.app.server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  const url = `http://127.0.0.1:${port}`;

  const code = (secret: string, offsetSteps = 0): string => totp(base32Decode(secret), Math.floor(now / 1000) + offsetSteps * 30);
  const fixture: Fixture = {
    server, url, conn, auth, users, audit, store, events, tree,
    logs: () => logged,
    advance: (s) => {
      now += s * 1000;
    },
    nowMs: clock,
    addUser: async (username, role, jurisdiction) => {
      const issued = await users.create(SYSTEM, { username, role, jurisdiction, password: FIXTURE_PASSWORD, mustChangePassword: false });
      return { id: issued.user.id, totpSecret: issued.totpSecret };
    },
    code,
    login: async (username, secret, password = FIXTURE_PASSWORD) => {
      const body: Record<string, string> = { username, password };
      if (secret) body.totp = code(secret);
      const res = await fetch(`${url}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      if (res.status !== 200) throw new Error(`login of ${username} failed: ${res.status} ${await res.text()}`);
      const cookie = res.headers.get('set-cookie') ?? '';
      return cookie.split(';')[0];
    },
    close: async () => {
      await server.app.close();
      if (!opts.conn) await conn.close();
    },
  };
  return fixture;
}
