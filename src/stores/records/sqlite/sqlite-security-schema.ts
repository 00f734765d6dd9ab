/**
 * @module The security tables in SQLite: users, sessions and the append-only audit trail. Times are
 * ISO 8601 UTC text, booleans 0/1. Triggers refuse every UPDATE and DELETE on `audit`.
 */

/** Migration steps of the `security` area for SQLite, by id. */
export const SQLITE_SECURITY_SCHEMA: Readonly<Record<string, string>> = {
  '0001_users_sessions_audit': `
    CREATE TABLE users (
      id TEXT PRIMARY KEY,
      username TEXT NOT NULL UNIQUE,
      display_name TEXT NOT NULL,
      role TEXT NOT NULL,
      jurisdiction TEXT NOT NULL,
      password_hash TEXT NOT NULL,
      must_change_password INTEGER NOT NULL DEFAULT 0,
      totp_secret TEXT,
      totp_last_step INTEGER,
      disabled INTEGER NOT NULL DEFAULT 0,
      failed_logins INTEGER NOT NULL DEFAULT 0,
      locked_until TEXT,
      created_at TEXT NOT NULL,
      updated_at TEXT NOT NULL
    );
    CREATE TABLE sessions (
      id_hash TEXT PRIMARY KEY,
      user_id TEXT NOT NULL REFERENCES users(id),
      created_at TEXT NOT NULL,
      last_seen_at TEXT NOT NULL
    );
    CREATE INDEX sessions_user ON sessions (user_id);
    CREATE TABLE audit (
      id INTEGER PRIMARY KEY AUTOINCREMENT,
      at TEXT NOT NULL,
      user_id TEXT,
      username TEXT,
      role TEXT,
      jurisdiction TEXT,
      action TEXT NOT NULL,
      outcome TEXT NOT NULL,
      case_id TEXT,
      purpose TEXT,
      subject TEXT,
      detail TEXT
    );
    CREATE INDEX audit_at ON audit (at);
    CREATE INDEX audit_user ON audit (user_id, at);
    CREATE INDEX audit_case ON audit (case_id, at);
    CREATE INDEX audit_action ON audit (action, at);
    CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
      BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only: UPDATE refused'); END;
    CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
      BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only: DELETE refused'); END;
  `,
};
