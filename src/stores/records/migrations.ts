/**
 * @module The migration runner of the records store. Migrations come in ordered lists per area
 * (`records`, `security`, …) and per dialect, so each area keeps its own schema in its own files and
 * any area can be added without touching the others. Applied migrations are recorded in
 * `schema_migrations (area, id)`; each one runs in its own transaction.
 */
import type { SqlConnection, SqlDialect } from './sql-connection.ts';

/** One schema step. `id` orders the steps of an area (e.g. `0001_cases`) and is never reused. */
export interface Migration {
  /** Stable, sortable name; recorded once applied. */
  readonly id: string;
  /** The SQL script per dialect (several statements allowed). */
  readonly sql: Readonly<Record<SqlDialect, string>>;
}

/** A named, ordered list of migrations. */
export interface MigrationArea {
  /** Area name (`records`, `security`). */
  readonly area: string;
  /** Steps in the order they must run. */
  readonly migrations: readonly Migration[];
}

/** Applies every migration of the areas not yet applied, in order. Returns the ids it applied. */
export async function migrate(conn: SqlConnection, areas: readonly MigrationArea[]): Promise<string[]> {
  await conn.exec(
    `CREATE TABLE IF NOT EXISTS schema_migrations (
       area TEXT NOT NULL,
       id TEXT NOT NULL,
       applied_at TEXT NOT NULL,
       PRIMARY KEY (area, id)
     )`,
  );
  const applied: string[] = [];
  for (const { area, migrations } of areas) {
    const ids = migrations.map((m) => m.id);
    const sorted = [...ids].sort();
    if (ids.some((id, i) => id !== sorted[i]) || new Set(ids).size !== ids.length) {
      throw new Error(`migrations of area "${area}" must have unique ids in ascending order: ${ids.join(', ')}`);
    }
    const done = new Set(
      (await conn.query<{ id: string }>('SELECT id FROM schema_migrations WHERE area = ?', [area])).map((r) => r.id),
    );
    for (const m of migrations) {
      if (done.has(m.id)) continue;
      await conn.transaction(async (tx) => {
        // Re-check inside the transaction: two processes starting together must not both apply a step.
        const again = await tx.query('SELECT id FROM schema_migrations WHERE area = ? AND id = ?', [area, m.id]);
        if (again.length) return;
        await tx.exec(m.sql[tx.capabilities.dialect]);
        await tx.execute('INSERT INTO schema_migrations (area, id, applied_at) VALUES (?, ?, ?)', [
          area,
          m.id,
          new Date().toISOString(),
        ]);
        applied.push(`${area}/${m.id}`);
      });
    }
  }
  return applied;
}
