/**
 * @module Where the server peers for tests are: PostgreSQL, ClickHouse and Chromium. Each is used when
 * reachable; when it is not, its suites are skipped with a reason — except under CI (`CI=true`), where a
 * missing server is a failure, so a green CI always means the server adapters were tested.
 */
import net from 'node:net';
import fs from 'node:fs';

function reachable(host: string, port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

function requireOrSkip(what: string, ok: boolean): boolean {
  if (!ok && process.env.CI === 'true') {
    throw new Error(`${what} is required under CI but is not reachable`);
  }
  return ok;
}

/** PostgreSQL URL for tests (env CORDON_TEST_POSTGRES_URL, default the local server), or undefined to skip. */
export async function testPostgresUrl(): Promise<string | undefined> {
  const url = process.env.CORDON_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
  const u = new URL(url);
  const ok = await reachable(u.hostname, Number(u.port || 5432));
  return requireOrSkip(`PostgreSQL at ${u.hostname}:${u.port || 5432}`, ok) ? url : undefined;
}

/** ClickHouse HTTP URL for tests (env CORDON_TEST_CLICKHOUSE_URL, default http://127.0.0.1:8123), or undefined to skip. */
export async function testClickHouseUrl(): Promise<string | undefined> {
  const url = process.env.CORDON_TEST_CLICKHOUSE_URL ?? 'http://127.0.0.1:8123';
  const u = new URL(url);
  const ok = await reachable(u.hostname, Number(u.port || 8123));
  return requireOrSkip(`ClickHouse at ${u.hostname}:${u.port || 8123}`, ok) ? url : undefined;
}

/** Path of Chromium for browser tests (env CORDON_TEST_CHROMIUM, default /usr/bin/chromium), or undefined to skip. */
export function testChromiumPath(): string | undefined {
  const p = process.env.CORDON_TEST_CHROMIUM ?? '/usr/bin/chromium';
  return requireOrSkip(`Chromium at ${p}`, fs.existsSync(p)) ? p : undefined;
}
