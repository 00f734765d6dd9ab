/**
 * @module The SQLite connection of the records store (better-sqlite3): one file in the data folder,
 * WAL journal, `synchronous=FULL`, foreign keys on. better-sqlite3 is synchronous; this wraps it in the
 * async SqlConnection interface and serialises every call through one queue, so that a transaction
 * that awaits between statements never lets another caller's statement run inside it.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { SqlConstraintError, type SqlCapabilities, type SqlConnection, type SqlRow, type SqlValue } from '../sql-connection.ts';

const CAPABILITIES: SqlCapabilities = { name: 'sqlite', dialect: 'sqlite' };

/** Opens (creating if needed) a SQLite records database; `:memory:` gives a private in-memory one. */
export function openSqliteConnection(file: string): SqliteConnection {
  if (file !== ':memory:') fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  // FULL, not NORMAL: in WAL mode NORMAL may lose the last commits on power loss, and a command or
  // feedback that a precinct was told is saved must stay saved. Records writes are few and small, so
  // the extra fsync per commit costs little.
  db.pragma('synchronous = FULL');
  db.pragma('foreign_keys = ON');
  // A CLI and a server may share the file: wait for the other writer rather than fail at once.
  db.pragma('busy_timeout = 5000');
  return new SqliteConnection(db);
}

/** Maps better-sqlite3's constraint errors to SqlConstraintError so callers need not know the driver. */
function translate(err: unknown): unknown {
  if (err instanceof Database.SqliteError && err.code.startsWith('SQLITE_CONSTRAINT')) {
    const kind = /UNIQUE|PRIMARYKEY/.test(err.code)
      ? 'unique'
      : err.code.includes('FOREIGNKEY')
        ? 'foreign_key'
        : err.code.includes('CHECK')
          ? 'check'
          : 'other';
    return new SqlConstraintError(err.message, kind);
  }
  return err;
}

/** A FIFO of async jobs: each waits for the one before it to settle. */
class Queue {
  private tail: Promise<unknown> = Promise.resolve();
  run<T>(job: () => Promise<T>): Promise<T> {
    const next = this.tail.then(job, job);
    this.tail = next.catch(() => undefined);
    return next;
  }
}

export class SqliteConnection implements SqlConnection {
  readonly capabilities = CAPABILITIES;
  private readonly queue = new Queue();
  private readonly statements = new Map<string, Database.Statement>();
  /** Marks the async context of a running transaction, to catch a call that would wait for itself. */
  private readonly inTransaction = new AsyncLocalStorage<true>();

  constructor(readonly db: Database.Database) {}

  private prepare(sql: string): Database.Statement {
    let st = this.statements.get(sql);
    if (!st) {
      st = this.db.prepare(sql);
      this.statements.set(sql, st);
    }
    return st;
  }

  /** Runs statements directly, without the queue: used by the transaction that holds the queue. */
  readonly direct: SqlConnection = {
    capabilities: CAPABILITIES,
    query: async <R extends SqlRow>(sql: string, params: readonly SqlValue[] = []) => {
      try {
        return this.prepare(sql).all(...params) as R[];
      } catch (err) {
        throw translate(err);
      }
    },
    execute: async (sql: string, params: readonly SqlValue[] = []) => {
      try {
        return { changes: this.prepare(sql).run(...params).changes };
      } catch (err) {
        throw translate(err);
      }
    },
    exec: async (script: string) => {
      try {
        this.db.exec(script);
      } catch (err) {
        throw translate(err);
      }
    },
    transaction: <T>(fn: (tx: SqlConnection) => Promise<T>) => fn(this.direct),
    close: async () => {
      throw new Error('close the connection, not a transaction on it');
    },
  };

  /**
   * Queues a call. Made from inside a transaction on the outer connection, it would wait for the
   * transaction that waits for it: that is a programming error, reported at once instead of hanging.
   */
  private queued<T>(job: () => Promise<T>): Promise<T> {
    if (this.inTransaction.getStore()) {
      return Promise.reject(new Error('records store: a statement on the store was issued inside one of its own transactions; use the transaction\'s operations'));
    }
    return this.queue.run(job);
  }

  query<R extends SqlRow = SqlRow>(sql: string, params?: readonly SqlValue[]): Promise<R[]> {
    return this.queued(() => this.direct.query<R>(sql, params));
  }

  execute(sql: string, params?: readonly SqlValue[]): Promise<{ changes: number }> {
    return this.queued(() => this.direct.execute(sql, params));
  }

  exec(script: string): Promise<void> {
    return this.queued(() => this.direct.exec(script));
  }

  transaction<T>(fn: (tx: SqlConnection) => Promise<T>): Promise<T> {
    return this.queued(async () => {
      // IMMEDIATE takes the write lock at once, so a read-then-write inside cannot be overtaken by
      // another process writing between the read and the write.
      this.db.exec('BEGIN IMMEDIATE');
      try {
        const result = await this.inTransaction.run(true, () => fn(this.direct));
        this.db.exec('COMMIT');
        return result;
      } catch (err) {
        if (this.db.inTransaction) this.db.exec('ROLLBACK');
        throw err;
      }
    });
  }

  async close(): Promise<void> {
    await this.queue.run(async () => {
      this.statements.clear();
      this.db.close();
    });
  }
}
