/**
 * @module The SQL connection both records-store adapters share: a tiny interface over better-sqlite3
 * and pg, so the records store and the security store write one set of queries and run them on
 * either backend. Queries use `?` placeholders; the PostgreSQL connection numbers them (`$1`, `$2`, …),
 * so a literal `?` must not appear inside SQL text (pass it as a parameter instead).
 */

/** A value bound to a placeholder. Times are ISO 8601 UTC text, JSON is text, booleans are 0/1. */
export type SqlValue = string | number | null;

/** One row as the database returns it, keyed by column name. */
export type SqlRow = Record<string, unknown>;

/** What a backend can do, as flags (never `if (backend === …)` in the code that uses it). */
export interface SqlCapabilities {
  /** Backend name for messages and benchmarks (`sqlite`, `postgres`). */
  readonly name: string;
  /** Migrations are kept per dialect: the key into a migration list (`sqlite`, `postgres`). */
  readonly dialect: SqlDialect;
}

export type SqlDialect = 'sqlite' | 'postgres';

/** A connection (or a transaction on one). Every method is async so one interface fits both clients. */
export interface SqlConnection {
  /** What this backend is and can do. */
  readonly capabilities: SqlCapabilities;
  /** Runs a query and returns its rows. */
  query<R extends SqlRow = SqlRow>(sql: string, params?: readonly SqlValue[]): Promise<R[]>;
  /** Runs a statement and returns how many rows it changed. */
  execute(sql: string, params?: readonly SqlValue[]): Promise<{ changes: number }>;
  /** Runs a script of several statements without parameters (migrations). */
  exec(script: string): Promise<void>;
  /**
   * Runs `fn` in a transaction: committed when it resolves, rolled back when it throws. Inside, use
   * only the connection passed to `fn`. Transactions do not nest: calling this on the inner connection
   * runs `fn` in the same transaction.
   */
  transaction<T>(fn: (tx: SqlConnection) => Promise<T>): Promise<T>;
  /** Closes the connection (or pool). */
  close(): Promise<void>;
}

/** Thrown by a connection when a unique or foreign-key constraint refuses a write. */
export class SqlConstraintError extends Error {
  constructor(message: string, readonly constraint: 'unique' | 'foreign_key' | 'check' | 'other') {
    super(message);
    this.name = 'SqlConstraintError';
  }
}
