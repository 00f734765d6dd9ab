/**
 * @module The PostgreSQL connection of the records store (a pg Pool). A URL may name a schema with
 * `?schema=NAME` (created when missing): every pooled connection then works in that schema, which
 * lets parallel test suites and several deployments share one database without colliding.
 */
import pg from 'pg';
import { SqlConstraintError, type SqlCapabilities, type SqlConnection, type SqlRow, type SqlValue } from '../sql-connection.ts';

const CAPABILITIES: SqlCapabilities = { name: 'postgres', dialect: 'postgres' };

/** `?` placeholders to `$1, $2, …` (the SQL of this project never has `?` inside literals). */
function numberPlaceholders(sql: string): string {
  let n = 0;
  return sql.replace(/\?/g, () => `$${++n}`);
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
  const pool = new pg.Pool({
    connectionString,
    max: opts.max ?? 10,
    // The schema is set as a startup option, so every pooled connection has it before its first query.
    ...(schema ? { options: `-c search_path=${schema}` } : {}),
  });
  // An idle client's error (server restart) must not crash the process; the next query reconnects.
  pool.on('error', () => undefined);
  return new PostgresConnection(pool, schema);
}

interface Queryable {
  query(text: string, values?: unknown[]): Promise<pg.QueryResult>;
}

function bind(q: Queryable, inTransaction: boolean, self: () => PostgresConnection | null): SqlConnection {
  const conn: SqlConnection = {
    capabilities: CAPABILITIES,
    query: async <R extends SqlRow>(sql: string, params: readonly SqlValue[] = []) => {
      try {
        return (await q.query(numberPlaceholders(sql), [...params])).rows as R[];
      } catch (err) {
        throw translate(err);
      }
    },
    execute: async (sql: string, params: readonly SqlValue[] = []) => {
      try {
        return { changes: (await q.query(numberPlaceholders(sql), [...params])).rowCount ?? 0 };
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
  ) {
    this.outer = bind(pool, false, () => this);
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
      const result = await fn(bind(client, true, () => this));
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
