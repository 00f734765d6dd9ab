/**
 * @module The few ClickHouse calls the presence store makes, over HTTP with `@clickhouse/client`, and
 * the `clickhouse://` URL that configures them. The store depends on the small `ClickHouseConnection`
 * interface, not on the client package, so the SQL stays in one place and the client can change.
 */
import { ClickHouseLogLevel, createClient, type ClickHouseClient } from '@clickhouse/client';
import { Readable } from 'node:stream';
import { sqlName } from './clickhouse-sql.ts';

/** A connection to one ClickHouse server. */
export interface ClickHouseConnection {
  /** Runs a statement that returns no rows (DDL, INSERT … SELECT, ALTER). */
  command(sql: string): Promise<void>;
  /**
   * Runs a query and returns its rows as objects (64-bit integers arrive as strings; callers convert).
   * `settings` are ClickHouse settings for this query only.
   */
  rows<T>(sql: string, settings?: Record<string, string | number>): Promise<T[]>;
  /** Runs a query and yields its result as TabSeparated lines, without holding the whole result. */
  lines(sql: string): AsyncIterable<string>;
  /** Inserts TabSeparated text (already escaped with `tsvField`) into a table. */
  insertTsv(table: string, columns: readonly string[], text: string): Promise<void>;
  /** Closes the connection's sockets. */
  close(): Promise<void>;
}

/** Where the store lives: the server's HTTP address, the logical database, the cluster of shards. */
export interface ClickHouseTarget {
  /** `http://host:port` of the server the store talks to. */
  httpUrl: string;
  username: string;
  password: string;
  /** The logical database: Distributed tables, dictionaries, people, places, identity links. */
  database: string;
  /** The cluster (from the server's `remote_servers`) whose shards hold the presence tables. */
  cluster: string;
}

/**
 * Parses `clickhouse://[user[:password]@]host[:port]/database[?cluster=NAME]` (port 8123 and cluster
 * `cordon_cluster` by default). `http://…` is accepted too, for the test servers' URLs.
 */
export function parseClickHouseUrl(url: string): ClickHouseTarget {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new Error(`presence URL "${url}" is not a URL (expected clickhouse://host:8123/database)`);
  }
  if (u.protocol !== 'clickhouse:' && u.protocol !== 'http:') {
    throw new Error(`presence URL must start with clickhouse:// (got ${u.protocol}//)`);
  }
  const database = decodeURIComponent(u.pathname.replace(/^\//, '')) || 'cordon';
  sqlName(database);
  const cluster = u.searchParams.get('cluster') ?? 'cordon_cluster';
  sqlName(cluster);
  return {
    httpUrl: `http://${u.hostname.includes(':') ? `[${u.hostname}]` : u.hostname}:${u.port || '8123'}`,
    username: decodeURIComponent(u.username) || 'default',
    password: decodeURIComponent(u.password),
    database,
    cluster,
  };
}

/** Escapes one TabSeparated field (`\\`, tab, newline and the other control characters). */
export function tsvField(value: string): string {
  // eslint-disable-next-line no-control-regex
  return /[\\\t\n\r\0\x08\x0c]/.test(value) ? value.replace(/[\\\t\n\r\0\x08\x0c]/g, (c) => TSV_ESCAPES[c] ?? c) : value;
}
const TSV_ESCAPES: Record<string, string> = { '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r', '\0': '\\0', '\b': '\\b', '\f': '\\f' };

/** Reverses `tsvField` for values read back as TabSeparated. */
export function tsvUnescape(value: string): string {
  if (!value.includes('\\')) return value;
  return value.replace(/\\(.)/g, (_, c: string) => TSV_UNESCAPES[c] ?? c);
}
const TSV_UNESCAPES: Record<string, string> = { t: '\t', n: '\n', r: '\r', '0': '\0', b: '\b', f: '\f', '\\': '\\', "'": "'" };

/** Opens an HTTP connection to a ClickHouse server (no query is sent until first use). */
export function connectClickHouse(target: Pick<ClickHouseTarget, 'httpUrl' | 'username' | 'password'>): ClickHouseConnection {
  const client: ClickHouseClient = createClient({
    url: target.httpUrl,
    username: target.username,
    password: target.password,
    request_timeout: 600_000,
    // The client's own log lines can carry query text, and query text carries identifiers: keep it quiet.
    log: { level: ClickHouseLogLevel.OFF },
    clickhouse_settings: {
      // An insert through a Distributed table returns once every shard holds its rows.
      insert_distributed_sync: 1,
      // Pushdown reads carry a few hundred place windows as literals.
      max_query_size: '4194304',
    },
  });
  return {
    async command(sql) {
      await client.command({ query: sql });
    },
    async rows<T>(sql: string, settings?: Record<string, string | number>): Promise<T[]> {
      const rs = await client.query({ query: sql, format: 'JSONEachRow', ...(settings ? { clickhouse_settings: settings } : {}) });
      return rs.json<T>();
    },
    async *lines(sql) {
      const rs = await client.query({ query: sql, format: 'TabSeparated' });
      // The client's stream hands out whole rows (lines without their newline).
      for await (const chunk of rs.stream() as AsyncIterable<Array<{ text: string }>>) {
        for (const row of chunk) yield row.text;
      }
    },
    async insertTsv(table, columns, text) {
      if (!text) return;
      await client.insert({
        table,
        columns: columns as [string, ...string[]],
        values: Readable.from([Buffer.from(text, 'utf8')], { objectMode: false }),
        format: 'TabSeparated',
      });
    },
    async close() {
      await client.close();
    },
  };
}
