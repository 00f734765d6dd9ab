/**
 * @module Benchmark peers for the contact reads, each a `CandidateSource` so the very same tracer
 * (rules, evidence, risk) runs over it: SQLite and PostgreSQL with a btree on (place, start) and the
 * per-place max-duration bound, DuckDB with a SQL self-join on an unsorted table and on a table
 * sorted by (place, start). Only the reads differ between peers.
 */
import fs from 'node:fs';
import Database from 'better-sqlite3';
import pg from 'pg';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import type { SubInfo } from '../../src/domain/contact-rules.ts';
import type { PlaceKind } from '../../src/domain/formats.ts';
import type { Candidate, CandidateSource, FirstDegreeRead, PlaceWindow } from '../../src/trace/candidate-source.ts';

/** The presences every peer loads, as columns (store dictionary ids). */
export interface PeerData {
  n: number;
  ident: Uint32Array;
  place: Uint32Array;
  start: Uint32Array;
  end: Uint32Array;
  sub: Uint32Array;
  flags: Uint8Array;
  placeKind: (place: number) => PlaceKind;
  subInfo: (sub: number) => SubInfo | null;
}

/** A peer: a candidate source plus what it costs to hold. */
export interface Peer extends CandidateSource {
  /** Bytes on disk or in the server per presence (tables and indexes), when known. */
  bytesPerPresence(): Promise<number | undefined>;
  close(): Promise<void>;
}

/**
 * A fingerprint of the rows (count and a mix of every column), so a peer loaded by an earlier run is
 * reused only when it holds exactly these rows.
 */
export function fingerprint(d: PeerData): string {
  let h1 = 0x811c9dc5;
  let h2 = 0x12345678;
  for (let i = 0; i < d.n; i++) {
    h1 = Math.imul(h1 ^ d.ident[i], 0x01000193) ^ Math.imul(d.place[i], 0x9e3779b1);
    h2 = Math.imul(h2 ^ d.start[i], 0x85ebca6b) ^ Math.imul(d.end[i] ^ (d.sub[i] << 3) ^ d.flags[i], 0xc2b2ae35);
  }
  return `${d.n}-${(h1 >>> 0).toString(16)}-${(h2 >>> 0).toString(16)}`;
}

/** Longest duration per place: how far before a window an overlapping row can start. */
export function maxDurations(d: PeerData): { perPlace: Uint32Array; global: number } {
  let nPlaces = 0;
  for (let i = 0; i < d.n; i++) if (d.place[i] >= nPlaces) nPlaces = d.place[i] + 1;
  const perPlace = new Uint32Array(nPlaces);
  let global = 0;
  for (let i = 0; i < d.n; i++) {
    const dur = d.end[i] - d.start[i];
    if (dur > perPlace[d.place[i]]) perPlace[d.place[i]] = dur;
    if (dur > global) global = dur;
  }
  return { perPlace, global };
}

function candidate(d: PeerData, ident: number, place: number, start: number, end: number, sub: number, flags: number): Candidate {
  return { ident, place, placeKind: d.placeKind(place), start, end, sub: d.subInfo(sub), flags };
}

type Row = [number, number, number, number, number, number];

/** SQLite through better-sqlite3: a file, btree indexes on (place, start) and (ident, start). */
export class SqlitePeer implements Peer {
  readonly name = 'sqlite';
  private constructor(private readonly db: Database.Database, private readonly d: PeerData, private readonly bound: { perPlace: Uint32Array; global: number },
    private readonly file: string, private readonly at: Database.Statement, private readonly of: Database.Statement, private readonly keep: boolean) {}

  /**
   * Loads the rows into a SQLite file. With `keep`, a file left by an earlier run with the same rows
   * (same fingerprint) is opened as it is, and the file is kept at close.
   */
  static load(file: string, d: PeerData, keep = false, print = fingerprint(d)): SqlitePeer {
    let db: Database.Database | undefined;
    if (keep && fs.existsSync(file)) {
      db = new Database(file);
      let meta: string | undefined;
      try {
        meta = db.prepare("SELECT value FROM bench_meta WHERE key = 'fingerprint'").pluck().get() as string | undefined;
      } catch {
        // No meta table: a file from an older run or one cut short.
      }
      if (meta !== print) {
        db.close();
        db = undefined;
      }
    }
    if (!db) {
      for (const f of [file, `${file}-wal`, `${file}-shm`]) fs.rmSync(f, { force: true });
      db = new Database(file);
      db.pragma('journal_mode = OFF');
      db.pragma('synchronous = OFF');
      db.exec('CREATE TABLE p (ident INTEGER NOT NULL, place INTEGER NOT NULL, start INTEGER NOT NULL, "end" INTEGER NOT NULL, sub INTEGER NOT NULL, flags INTEGER NOT NULL)');
      const ins = db.prepare('INSERT INTO p VALUES (?, ?, ?, ?, ?, ?)');
      const batch = db.transaction((from: number, to: number) => {
        for (let i = from; i < to; i++) ins.run(d.ident[i], d.place[i], d.start[i], d.end[i], d.sub[i], d.flags[i]);
      });
      for (let i = 0; i < d.n; i += 100_000) batch(i, Math.min(d.n, i + 100_000));
      db.exec('CREATE INDEX p_place_start ON p (place, start); CREATE INDEX p_ident_start ON p (ident, start); ANALYZE;');
      // Written last: a file cut short by a crash has no fingerprint and is loaded again.
      db.exec('CREATE TABLE bench_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)');
      db.prepare("INSERT INTO bench_meta VALUES ('fingerprint', ?)").run(print);
    }
    db.pragma('cache_size = -1000000');
    const cols = 'SELECT ident, place, start, "end", sub, flags FROM p';
    const at = db.prepare(`${cols} WHERE place = ? AND start >= ? AND start < ? AND "end" > ?`).raw(true);
    const of = db.prepare(`${cols} WHERE ident = ? AND start >= ? AND start < ? AND "end" > ?`).raw(true);
    return new SqlitePeer(db, d, maxDurations(d), file, at, of, keep);
  }

  presencesOf(idents: readonly number[], from: number, to: number): Promise<Candidate[]> {
    const out: Candidate[] = [];
    for (const id of idents) {
      for (const r of this.of.all(id, Math.max(0, from - this.bound.global), to, from) as Row[]) out.push(candidate(this.d, ...r));
    }
    return Promise.resolve(out);
  }

  presencesAt(queries: readonly PlaceWindow[]): Promise<Candidate[]> {
    const out: Candidate[] = [];
    for (const q of queries) {
      const lo = Math.max(0, q.from - (this.bound.perPlace[q.place] ?? this.bound.global));
      for (const r of this.at.all(q.place, lo, q.to, q.from) as Row[]) out.push(candidate(this.d, ...r));
    }
    return Promise.resolve(out);
  }

  bytesPerPresence(): Promise<number> {
    return Promise.resolve(fs.statSync(this.file).size / this.d.n);
  }

  close(): Promise<void> {
    this.db.close();
    if (!this.keep) for (const f of [this.file, `${this.file}-wal`, `${this.file}-shm`]) fs.rmSync(f, { force: true });
    return Promise.resolve();
  }
}

/** PostgreSQL: the same table and btrees in a schema of its own; window reads batched in one query. */
export class PostgresPeer implements Peer {
  readonly name = 'postgres';
  private constructor(private readonly client: pg.Client, private readonly d: PeerData, private readonly bound: { perPlace: Uint32Array; global: number }, private readonly schema: string,
    private readonly keep: boolean) {}

  /**
   * Loads the rows into a schema of their own. With `keep`, a schema left by an earlier run with the
   * same rows (same fingerprint) is used as it is, and the schema is kept at close.
   */
  static async load(url: string, schema: string, d: PeerData, keep = false, print = fingerprint(d)): Promise<PostgresPeer> {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    if (keep) {
      const found = await client.query<{ value: string }>(`SELECT value FROM ${schema}.bench_meta WHERE key = 'fingerprint'`).catch(() => undefined);
      if (found?.rows[0]?.value === print) {
        await client.query(`ANALYZE ${schema}.p`);
        return new PostgresPeer(client, d, maxDurations(d), schema, keep);
      }
    }
    await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE; CREATE SCHEMA ${schema}`);
    await client.query(`CREATE UNLOGGED TABLE ${schema}.p (ident int NOT NULL, place int NOT NULL, start bigint NOT NULL, "end" bigint NOT NULL, sub int NOT NULL, flags smallint NOT NULL)`);
    const B = 50_000;
    for (let i = 0; i < d.n; i += B) {
      const j = Math.min(d.n, i + B);
      const arr = (a: Uint32Array | Uint8Array): number[] => Array.from(a.subarray(i, j));
      await client.query(`INSERT INTO ${schema}.p SELECT * FROM unnest($1::int[], $2::int[], $3::bigint[], $4::bigint[], $5::int[], $6::smallint[])`,
        [arr(d.ident), arr(d.place), arr(d.start), arr(d.end), arr(d.sub), arr(d.flags)]);
    }
    await client.query(`CREATE INDEX ON ${schema}.p (place, start); CREATE INDEX ON ${schema}.p (ident, start); ANALYZE ${schema}.p`);
    // Written last: a schema cut short by a crash has no fingerprint and is loaded again.
    await client.query(`CREATE TABLE ${schema}.bench_meta (key text PRIMARY KEY, value text NOT NULL); INSERT INTO ${schema}.bench_meta VALUES ('fingerprint', '${print}')`);
    return new PostgresPeer(client, d, maxDurations(d), schema, keep);
  }

  private rows(res: pg.QueryResult<Record<string, string | number>>): Candidate[] {
    return res.rows.map((r) => candidate(this.d, Number(r.ident), Number(r.place), Number(r.start), Number(r.end), Number(r.sub), Number(r.flags)));
  }

  async presencesOf(idents: readonly number[], from: number, to: number): Promise<Candidate[]> {
    if (!idents.length) return [];
    return this.rows(await this.client.query(`SELECT ident, place, start, "end", sub, flags FROM ${this.schema}.p
      WHERE ident = ANY($1::int[]) AND start >= $2 AND start < $3 AND "end" > $4`, [[...idents], Math.max(0, from - this.bound.global), to, from]));
  }

  async presencesAt(queries: readonly PlaceWindow[]): Promise<Candidate[]> {
    if (!queries.length) return [];
    const lo = queries.map((q) => Math.max(0, q.from - (this.bound.perPlace[q.place] ?? this.bound.global)));
    return this.rows(await this.client.query(`SELECT p.ident, p.place, p.start, p."end", p.sub, p.flags
      FROM unnest($1::int[], $2::bigint[], $3::bigint[], $4::bigint[]) AS q(place, lo, wfrom, wto)
      CROSS JOIN LATERAL (SELECT * FROM ${this.schema}.p x WHERE x.place = q.place AND x.start >= q.lo AND x.start < q.wto AND x."end" > q.wfrom) p`,
    [queries.map((q) => q.place), lo, queries.map((q) => q.from), queries.map((q) => q.to)]));
  }

  async bytesPerPresence(): Promise<number> {
    const r = await this.client.query<{ b: string }>(`SELECT pg_total_relation_size('${this.schema}.p')::text AS b`);
    return Number(r.rows[0].b) / this.d.n;
  }

  async close(): Promise<void> {
    if (!this.keep) await this.client.query(`DROP SCHEMA IF EXISTS ${this.schema} CASCADE`);
    await this.client.end();
  }
}

/** DuckDB (in memory): the first degree as one SQL self-join; sorted or not by (place, start). */
export class DuckDbPeer implements Peer {
  readonly name: string;
  private constructor(private readonly instance: DuckDBInstance, private readonly conn: DuckDBConnection, private readonly d: PeerData, private readonly table: string) {
    this.name = table === 'p_sorted' ? 'duckdb-sorted' : 'duckdb-join';
  }

  static async load(d: PeerData, sorted: boolean, csvFile: string): Promise<DuckDbPeer> {
    const instance = await DuckDBInstance.create(':memory:', { threads: '2' });
    const conn = await instance.connect();
    if (!fs.existsSync(csvFile)) {
      // One CSV for both DuckDB peers: DuckDB's native reader loads it far faster than row appends.
      const fd = fs.openSync(csvFile, 'w');
      let buf: string[] = [];
      for (let i = 0; i < d.n; i++) {
        buf.push(`${d.ident[i]},${d.place[i]},${d.start[i]},${d.end[i]},${d.sub[i]},${d.flags[i]}`);
        if (buf.length === 100_000) {
          fs.writeSync(fd, buf.join('\n') + '\n');
          buf = [];
        }
      }
      if (buf.length) fs.writeSync(fd, buf.join('\n') + '\n');
      fs.closeSync(fd);
    }
    const src = `read_csv('${csvFile.replace(/'/g, "''")}', header = false, columns = {'ident': 'UINTEGER', 'place': 'UINTEGER', 'start': 'UINTEGER', 'end': 'UINTEGER', 'sub': 'UINTEGER', 'flags': 'UTINYINT'})`;
    const table = sorted ? 'p_sorted' : 'p';
    await conn.run(`CREATE TABLE ${table} AS SELECT * FROM ${src}${sorted ? ' ORDER BY place, start' : ''}`);
    return new DuckDbPeer(instance, conn, d, table);
  }

  private async query(sql: string): Promise<Candidate[]> {
    const reader = await this.conn.runAndReadAll(sql);
    const cols = reader.getColumnsJS() as number[][];
    const out: Candidate[] = [];
    const [a, b, c, e, f, g] = cols;
    for (let i = 0; i < (a?.length ?? 0); i++) out.push(candidate(this.d, a[i], b[i], c[i], e[i], f[i], g[i]));
    return out;
  }

  presencesOf(idents: readonly number[], from: number, to: number): Promise<Candidate[]> {
    if (!idents.length) return Promise.resolve([]);
    return this.query(`SELECT ident, place, start, "end", sub, flags FROM ${this.table} WHERE ident IN (${idents.map((i) => i >>> 0).join(',')}) AND start < ${to >>> 0} AND "end" > ${from >>> 0}`);
  }

  presencesAt(queries: readonly PlaceWindow[]): Promise<Candidate[]> {
    if (!queries.length) return Promise.resolve([]);
    const values = queries.map((q) => `(${q.place >>> 0}, ${q.from >>> 0}, ${q.to >>> 0})`).join(',');
    return this.query(`SELECT x.ident, x.place, x.start, x."end", x.sub, x.flags FROM (VALUES ${values}) q(place, wfrom, wto)
      JOIN ${this.table} x ON x.place = q.place AND x.start < q.wto AND x."end" > q.wfrom`);
  }

  async firstDegree(idents: readonly number[], from: number, to: number): Promise<FirstDegreeRead> {
    if (!idents.length) return { trajectory: [], candidates: [] };
    const f = from >>> 0;
    const t = to >>> 0;
    const ids = idents.map((i) => i >>> 0).join(',');
    // The self-join: the case's rows in the window, joined to every row at the same place overlapping them.
    const sql = `WITH c AS (SELECT * FROM ${this.table} WHERE ident IN (${ids}) AND start < ${t} AND "end" > ${f})
      SELECT 0 AS side, ident, place, start, "end", sub, flags FROM c
      UNION ALL
      SELECT 1 AS side, q.ident, q.place, q.start, q."end", q.sub, q.flags FROM c JOIN ${this.table} q
        ON q.place = c.place AND q.start < least(c."end", ${t}) AND q."end" > greatest(c.start, ${f})`;
    const reader = await this.conn.runAndReadAll(sql);
    const [side, a, b, c, e, fl, g] = reader.getColumnsJS() as number[][];
    const trajectory: Candidate[] = [];
    const candidates: Candidate[] = [];
    for (let i = 0; i < (side?.length ?? 0); i++) (side[i] === 0 ? trajectory : candidates).push(candidate(this.d, a[i], b[i], c[i], e[i], fl[i], g[i]));
    return { trajectory, candidates };
  }

  bytesPerPresence(): Promise<undefined> {
    return Promise.resolve(undefined);
  }

  close(): Promise<void> {
    this.conn.closeSync();
    this.instance.closeSync();
    return Promise.resolve();
  }
}
