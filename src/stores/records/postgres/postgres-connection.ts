/**
 * @module The PostgreSQL connection of the records store (a pg Pool). A URL may name a schema with
 * `?schema=NAME` (created when missing): every pooled connection then works in that schema, which
 * lets parallel test suites and several deployments share one database without colliding;
 * `?prepare=false` turns off named prepared statements (see `toQuery`).
 *
 * Every pooled connection runs with `max_parallel_workers_per_gather = 0`: the records store answers
 * many small concurrent queries (an inbox page, a count), and PostgreSQL would otherwise start
 * parallel workers for some of them. On a small server the worker start-up costs more than the scan
 * it splits (an inbox page of 100,000 open commands took 150 ms with two workers against 12 ms
 * without, measured on 2 busy cores) and the workers take cores from the other queries.
 */
import crypto from 'node:crypto';
import pg from 'pg';
import { SqlConstraintError, type SqlCapabilities, type SqlConnection, type SqlRow, type SqlValue } from '../sql-connection.ts';

const CAPABILITIES: SqlCapabilities = { name: 'postgres', dialect: 'postgres' };

/** `?` placeholders to `$1, $2, …` (the SQL of this project never has `?` inside literals). */
function numberPlaceholders(sql: string): string {
  let n = 0;
  return sql.replace(/\?/g, () => `$${++n}`);
}

/**
 * Statements with parameters run as named prepared statements: each pooled connection parses and
 * analyses one the first time it runs it, and later runs skip that (the server still plans each run
 * for its values unless a generic plan is as cheap). Measured on the inbox's count and page, 150
 * rounds each on 2 busy cores, four times: p50 3.2–5.5 ms against 4.0–6.8 ms unnamed. Only short
 * statements are named, and at most `MAX_NAMED` of them, so multi-row inserts of varying size do not
 * pile up on the server. Behind a pooler that cannot keep prepared statements (PgBouncer in
 * transaction mode before 1.21), add `?prepare=false` to the URL.
 */
const MAX_NAMED = 500;
const MAX_NAMED_LENGTH = 4000;
const statementNames = new Map<string, string>();

/** The query to send for `sql` with `params`: named (prepared) when it is worth it. */
function toQuery(sql: string, params: readonly SqlValue[], prepare: boolean): pg.QueryConfig {
  const text = numberPlaceholders(sql);
  const values = [...params];
  if (!prepare || !values.length || text.length > MAX_NAMED_LENGTH) return { text, values };
  let name = statementNames.get(text);
  if (name === undefined) {
    if (statementNames.size >= MAX_NAMED) return { text, values };
    name = `cordon_${crypto.createHash('sha1').update(text).digest('hex').slice(0, 24)}`;
    statementNames.set(text, name);
  }
  return { name, text, values };
}

/** Maps pg's SQLSTATE codes for constraint violations to SqlConstraintError. */
function translate(err: unknown): unknown {
  if (err && typeof err === 'object' && 'code' in err && typeof err.code === 'string') {
    const code = err.code;
    const message = err instanceof Error ? err.message : String(err);
    if (code === '23505') return new SqlConstraintError(message, 'unique');
    if (code === '23503') return new SqlConstraintError(message, 'foreign_key');
    if (code === '23514') return new SqlConstraintError(message, 'check');
    if (code.startsWith('23') || code === 'P0001') return new SqlConstraintError(message, 'other');
  }
  return err;
}

const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

/** Opens a pool on a `postgres://` URL; `?schema=NAME` selects (and creates) a schema. */
export async function openPostgresConnection(url: string, opts: { max?: number } = {}): Promise<PostgresConnection> {
  const u = new URL(url);
  const schema = u.searchParams.get('schema');
  u.searchParams.delete('schema');
  const prepare = u.searchParams.get('prepare');
  u.searchParams.delete('prepare');
  if (prepare !== null && prepare !== 'true' && prepare !== 'false') {
    throw new Error(`database URL: prepare must be true or false, not "${prepare}"`);
  }
  if (schema !== null && !SCHEMA_NAME.test(schema)) {
    throw new Error(`database URL: schema "${schema}" must be lower-case letters, digits and _ (at most 63)`);
  }
  const connectionString = u.toString();
  if (schema) {
    const client = new pg.Client({ connectionString });
    await client.connect();
    try {
      await client.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
    } finally {
      await client.end();
    }
  }
  const startup = ['-c max_parallel_workers_per_gather=0'];
  if (schema) startup.push(`-c search_path=${schema}`);
  const pool = new pg.Pool({
    connectionString,
    max: opts.max ?? 10,
    // Settings are startup options, so every pooled connection has them before its first query.
    options: startup.join(' '),
  });
  // An idle client's error (server restart) must not crash the process; the next query reconnects.
  pool.on('error', () => undefined);
  return new PostgresConnection(pool, schema, prepare !== 'false');
}

interface Queryable {
  query(text: string | pg.QueryConfig, values?: unknown[]): Promise<pg.QueryResult>;
}

function bind(q: Queryable, inTransaction: boolean, prepare: boolean, self: () => PostgresConnection | null): SqlConnection {
  const conn: SqlConnection = {
    capabilities: CAPABILITIES,
    query: async <R extends SqlRow>(sql: string, params: readonly SqlValue[] = []) => {
      try {
        return (await q.query(toQuery(sql, params, prepare))).rows as R[];
      } catch (err) {
        throw translate(err);
      }
    },
    execute: async (sql: string, params: readonly SqlValue[] = []) => {
      try {
        return { changes: (await q.query(toQuery(sql, params, prepare))).rowCount ?? 0 };
      } catch (err) {
        throw translate(err);
      }
    },
    exec: async (script: string) => {
      try {
        await q.query(script);
      } catch (err) {
        throw translate(err);
      }
    },
    transaction: <T>(fn: (tx: SqlConnection) => Promise<T>): Promise<T> => {
      if (inTransaction) return fn(conn);
      const owner = self();
      if (!owner) throw new Error('no pool');
      return owner.transaction(fn);
    },
    close: async () => {
      throw new Error('close the connection, not a transaction on it');
    },
  };
  return conn;
}

export class PostgresConnection implements SqlConnection {
  readonly capabilities = CAPABILITIES;
  private readonly outer: SqlConnection;

  constructor(
    readonly pool: pg.Pool,
    /** The schema every query runs in, or null for the server's default search path. */
    readonly schema: string | null,
    /** Statements with parameters run as named prepared statements (see `toQuery`). */
    readonly prepare = true,
  ) {
    this.outer = bind(pool, false, prepare, () => this);
  }

  query<R extends SqlRow = SqlRow>(sql: string, params?: readonly SqlValue[]): Promise<R[]> {
    return this.outer.query<R>(sql, params);
  }

  execute(sql: string, params?: readonly SqlValue[]): Promise<{ changes: number }> {
    return this.outer.execute(sql, params);
  }

  exec(script: string): Promise<void> {
    return this.outer.exec(script);
  }

  async transaction<T>(fn: (tx: SqlConnection) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      const result = await fn(bind(client, true, this.prepare, () => this));
      await client.query('COMMIT');
      return result;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
  }

  /** Drops the schema this connection works in (tests clean up their own schema with it). */
  async dropSchema(): Promise<void> {
    if (this.schema) await this.pool.query(`DROP SCHEMA IF EXISTS ${this.schema} CASCADE`);
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}
