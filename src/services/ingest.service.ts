/**
 * @module The ingest use case: a file (CSV, JSON Lines or Parquet in a canonical format) → validated
 * rows in the presence store, rejects in a CSV file with line, field and reason. Backs `cordon ingest`
 * and the HTTP upload alike.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { FileKind, IdKind, IdentityLink, PersonRecord, PlaceKind, PlaceRecord, Presence } from '../domain/formats.ts';
import { kindOfHeader, sniffFormat, IngestFormatError, type FileFormat } from '../ingest/sniff.ts';
import { lit, stageFile, parquetColumns, type StagingTables } from '../ingest/staging.ts';
import { validateIdentityLinks, validatePeople, validatePlaces, validatePresences } from '../ingest/validate.ts';
import { ingestPresencesCsvFast } from '../ingest/fast-presences.ts';
import type { EncodedPresenceLoader, PresenceChunk, PresenceStore, SqlRunner, SqlValue } from '../stores/presence/presence-store.ts';

export { IngestFormatError } from '../ingest/sniff.ts';

/** What one file's ingest did. `rowsRead = accepted + duplicates + rejected`. */
export interface IngestSummary {
  file: string;
  format: FileFormat;
  kind: FileKind;
  /** Records read (blank lines are not records). */
  rowsRead: number;
  /** Records stored by this run. */
  accepted: number;
  /** Records refused, each in the rejects file with line, field and reason. */
  rejected: number;
  /** Valid records already stored (by an earlier run or earlier in this file), skipped. */
  duplicates: number;
  seconds: number;
  /** Records read per second. */
  rate: number;
  /** The rejects CSV (`line,field,reason,value`), null when nothing was rejected. */
  rejectsPath: string | null;
  /** Wall seconds per phase, to tell where an ingest spends its time. */
  phases: IngestPhases;
}

/**
 * Wall seconds of each phase of one file's ingest. Splitting lines into fields happens lazily inside
 * `validate`; `store` is the atomic batches (dictionary encoding, deduplication, insert, commit).
 */
export interface IngestPhases {
  /** Reading the file's lines (I/O, UTF-8 and line checks) into staging. */
  read: number;
  /** Splitting fields and checking, typing and normalising every record; rejects gathered. */
  validate: number;
  /** Dictionary encoding, deduplication and insert of the valid rows, batch by batch, committed. */
  store: number;
  /** Handing committed batches to listeners (the in-memory index). */
  listeners: number;
  /** The checkpoint that writes the load into the store file. */
  checkpoint: number;
  /** Writing the rejects file. */
  rejects: number;
}

/** Where an ingest is, for progress bars. */
export interface IngestProgress {
  file: string;
  phase: 'reading' | 'validating' | 'storing' | 'done';
  /** Records stored or skipped so far, and the number to go through (known from `storing` on). */
  done: number;
  total: number;
  /** How far the current phase is, 0–100, when the engine can tell (reading and validating). */
  percent?: number;
}

/** Options of one file's ingest. */
export interface IngestOptions {
  onProgress?: (p: IngestProgress) => void;
  /** Folder for the rejects file (default: `rejects/` in the data folder). */
  rejectsDir?: string;
}

/** A file found in a folder and what was decided about it. */
export interface FolderEntry {
  file: string;
  kind?: FileKind;
  /** Why the file is not ingested (truth and GeoJSON files, unknown files). */
  skipped?: string;
}

/** Settings of the ingest service. */
export interface IngestServiceConfig {
  /** Deployment time zone: date-only and offset-less times are read in it. */
  timeZone: string;
  /** Default folder of rejects files. */
  rejectsDir: string;
  /** Presences per atomic batch (and per index update). */
  batchRows?: number;
  /**
   * `auto` (default): presence files in CSV go through the fast engine when the store offers it
   * (`bulk.encoded`); everything else, and every file with `sql`, through the SQL engine.
   */
  engine?: 'auto' | 'sql';
}

/**
 * Recognises a text file's format and kind from its first line without touching any store (Parquet
 * files are recognised by their magic bytes; their kind is read when staging). Throws IngestFormatError.
 */
export function recogniseFile(file: string): { format: FileFormat; kind?: FileKind } {
  const sniff = sniffFormat(file);
  if (sniff.format === 'parquet') return { format: 'parquet' };
  return { format: sniff.format, kind: kindOfHeader(file, sniff.header) };
}

/** Opens a DuckDB-dialect engine for validating files when the store has no bulk path of its own. */
export type ScratchEngineFactory = () => Promise<{ sql: SqlRunner; close(): void }>;

/** Rows a file must add for its ingest to end with a checkpoint. */
const CHECKPOINT_AFTER_ROWS = 100_000;
const KIND_ORDER: FileKind[] = ['places', 'people', 'identity_links', 'presences'];
const DATA_EXTENSIONS = /\.(csv|jsonl|ndjson|parquet)$/i;

let runSeq = 0;
/** The ingest in progress per store; the next one waits for it. */
const queues = new WeakMap<PresenceStore, Promise<unknown>>();

/** Ingests canonical files into a presence store. */
export class IngestService {
  private readonly listeners = new Set<(chunk: PresenceChunk) => void>();
  private readonly batchRows: number;

  constructor(
    private readonly store: PresenceStore,
    private readonly config: IngestServiceConfig,
    private readonly scratch?: ScratchEngineFactory,
  ) {
    this.batchRows = config.batchRows ?? 1_000_000;
  }

  /**
   * Calls `listener` after every committed batch of presences with the rows the batch added (store
   * dictionary ids), so an in-memory index stays current. Returns a function that unsubscribes.
   */
  onPresencesCommitted(listener: (chunk: PresenceChunk) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * The canonical files of a folder in load order (places, people, identity links, presences), with
   * a note for each file left out.
   */
  planFolder(dir: string): FolderEntry[] {
    const entries: FolderEntry[] = [];
    for (const name of fs.readdirSync(dir).sort()) {
      const file = path.join(dir, name);
      if (!fs.statSync(file).isFile()) continue;
      if (/^truth\.json$/i.test(name)) entries.push({ file, skipped: 'ground truth of the synthetic outbreak, not input data' });
      else if (/\.geojson$/i.test(name)) entries.push({ file, skipped: 'GeoJSON map data, not presence input (jurisdiction polygons are imported with `cordon jurisdictions`)' });
      else if (!DATA_EXTENSIONS.test(name)) entries.push({ file, skipped: 'not a CSV, JSON Lines or Parquet file' });
      else {
        try {
          // A Parquet file's kind is read when it is staged; it is loaded with the presences, last.
          entries.push({ file, kind: recogniseFile(file).kind ?? 'presences' });
        } catch (err) {
          // The full message lists every canonical header; a folder note only needs the gist.
          const message = err instanceof IngestFormatError ? err.message.replace(`${file}: `, '').split('. Expected one of')[0] : String(err);
          entries.push({ file, skipped: `not a canonical file: ${message}` });
        }
      }
    }
    const rank = (e: FolderEntry): number => (e.kind ? KIND_ORDER.indexOf(e.kind) : -1);
    return entries.sort((a, b) => rank(a) - rank(b) || a.file.localeCompare(b.file));
  }

  /**
   * Ingests one file. A file in no known format throws IngestFormatError before anything is written;
   * bad records never stop the run: they go to the rejects file.
   */
  async ingestFile(file: string, options: IngestOptions = {}): Promise<IngestSummary> {
    // One file at a time per store (also across services on the same store): the staging engine is
    // shared, and batches must commit in order.
    const previous = queues.get(this.store) ?? Promise.resolve();
    const run = previous.then(() => this.ingestOne(file, options));
    queues.set(this.store, run.catch(() => undefined));
    return run;
  }

  private async ingestOne(file: string, options: IngestOptions): Promise<IngestSummary> {
    const t0 = performance.now();
    const sniff = sniffFormat(file);
    let phase: IngestProgress['phase'] = 'reading';
    const progress = (p: IngestProgress['phase'], done: number, total: number): void => {
      phase = p;
      options.onProgress?.({ file, phase: p, done, total });
    };

    const own = this.store.bulk ? undefined : await this.openScratch();
    const sql = this.store.bulk?.sql ?? own!.sql;
    const prefix = `ing_${process.pid}_${++runSeq}`;
    const t: StagingTables = { raw: `${prefix}_raw`, rej: `${prefix}_rej` };
    const valid = `${prefix}_valid`;
    let cleanup: string[] = [];
    const phases: IngestPhases = { read: 0, validate: 0, store: 0, listeners: 0, checkpoint: 0, rejects: 0 };
    // While one long statement reads or validates, the engine's own progress drives the bar.
    const poll =
      options.onProgress && sql.progress
        ? setInterval(() => {
            const percent = sql.progress?.();
            if (percent !== undefined && (phase === 'reading' || phase === 'validating')) {
              options.onProgress?.({ file, phase, done: 0, total: 0, percent });
            }
          }, 250)
        : undefined;
    try {
      let header = sniff.header;
      if (sniff.format === 'parquet') {
        try {
          header = await parquetColumns(sql, file);
        } catch (err) {
          throw new IngestFormatError(file, `not a readable Parquet file: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`);
        }
      }
      const kind = kindOfHeader(file, header);
      const encoded = this.store.bulk?.encoded;
      if (encoded && sniff.format === 'csv' && kind === 'presences' && this.config.engine !== 'sql') {
        return await this.ingestFast(file, header, sql, encoded, t.rej, prefix, t0, options, (p, d, n, percent) => {
          phase = p;
          options.onProgress?.({ file, phase: p, done: d, total: n, ...(percent === undefined ? {} : { percent }) });
        });
      }
      await sql.run(`SET TimeZone = ${lit(this.config.timeZone)}`);
      progress('reading', 0, 0);
      let mark = performance.now();
      const lap = (): number => {
        const now = performance.now();
        const s = (now - mark) / 1000;
        mark = now;
        return s;
      };
      cleanup = await stageFile(sql, file, sniff.format, kind, header, prefix, t);
      phases.read = lap();
      progress('validating', 0, 0);
      switch (kind) {
        case 'presences':
          await validatePresences(sql, t, valid);
          break;
        case 'identity_links':
          await validateIdentityLinks(sql, t, valid);
          break;
        case 'people':
          await validatePeople(sql, t, valid);
          break;
        case 'places':
          await validatePlaces(sql, t, valid);
          break;
      }
      for (const stmt of cleanup.splice(0)) await sql.run(stmt);
      // One scan of the valid rows for their count and line range.
      const counts = await sql.rows(`SELECT count(*) AS valid, (SELECT count(*) FROM ${t.rej}) AS rejected,
        coalesce(min(line), 0) AS lo, coalesce(max(line), 0) AS hi FROM ${valid}`);
      phases.validate = lap();
      const validRows = Number(counts[0].valid);
      const rejected = Number(counts[0].rejected);
      const stored =
        kind === 'presences'
          ? await this.storePresences(sql, valid, validRows, Number(counts[0].lo), Number(counts[0].hi), (d) => progress('storing', d, validRows), phases)
          : await this.storeOther(sql, kind, valid, (d) => progress('storing', d, validRows));
      phases.store = lap() - phases.listeners - phases.checkpoint;
      const rejectsPath = rejected > 0 ? await this.writeRejects(sql, file, t.rej, options.rejectsDir) : null;
      phases.rejects = lap();
      const seconds = (performance.now() - t0) / 1000;
      const rowsRead = validRows + rejected;
      progress('done', validRows, validRows);
      return {
        file,
        format: sniff.format,
        kind,
        rowsRead,
        accepted: stored.inserted,
        rejected,
        duplicates: stored.duplicates,
        seconds,
        rate: seconds > 0 ? rowsRead / seconds : 0,
        rejectsPath,
        phases,
      };
    } finally {
      if (poll) clearInterval(poll);
      const drops = [...cleanup, `DROP VIEW IF EXISTS ${valid}`, `DROP TABLE IF EXISTS ${valid}_checked`, `DROP TABLE IF EXISTS ${t.rej}`];
      for (const stmt of drops) await sql.run(stmt).catch(() => undefined);
      own?.close();
    }
  }

  /** A presence CSV through the fast engine (src/ingest/fast-presences.ts): parsed, checked and encoded in JavaScript. */
  private async ingestFast(
    file: string,
    header: readonly string[],
    sql: SqlRunner,
    encoded: EncodedPresenceLoader,
    rej: string,
    prefix: string,
    t0: number,
    options: IngestOptions,
    progress: (p: IngestProgress['phase'], done: number, total: number, percent?: number) => void,
  ): Promise<IngestSummary> {
    const phases: IngestPhases = { read: 0, validate: 0, store: 0, listeners: 0, checkpoint: 0, rejects: 0 };
    const wantChunk = this.listeners.size > 0;
    let stored = 0;
    let readFraction = 0;
    let lastPercent = -1;
    progress('reading', 0, 0, 0);
    const r = await ingestPresencesCsvFast({
      file,
      header,
      timeZone: this.config.timeZone,
      batchRows: this.batchRows,
      sql,
      loader: encoded,
      rejectsTable: rej,
      prefix,
      returnChunk: wantChunk,
      onRead: (bytes, total) => {
        readFraction = total > 0 ? bytes / total : 1;
        const percent = Math.floor(readFraction * 100);
        if (percent !== lastPercent) {
          lastPercent = percent;
          progress('reading', stored, 0, percent);
        }
      },
      onCommitted: (res) => {
        stored += res.inserted + res.duplicates;
        if (res.chunk && res.chunk.length > 0) {
          const l0 = performance.now();
          this.announce(res.chunk);
          phases.listeners += (performance.now() - l0) / 1000;
        }
        // The total is known once the file is read; until then it is estimated from the bytes read.
        progress('storing', stored, Math.max(stored, Math.round(stored / Math.max(readFraction, 1e-9))));
      },
    });
    phases.read = r.phases.read;
    phases.validate = r.phases.parse + r.phases.sql;
    phases.store = r.phases.store;
    if (r.accepted >= CHECKPOINT_AFTER_ROWS) {
      const c0 = performance.now();
      await this.store.bulk!.checkpoint();
      phases.checkpoint = (performance.now() - c0) / 1000;
    }
    const w0 = performance.now();
    const rejectsPath = r.rejected > 0 ? await this.writeRejects(sql, file, rej, options.rejectsDir) : null;
    phases.rejects = (performance.now() - w0) / 1000;
    const seconds = (performance.now() - t0) / 1000;
    const valid = r.accepted + r.duplicates;
    progress('done', valid, valid);
    return {
      file,
      format: 'csv',
      kind: 'presences',
      rowsRead: r.rowsRead,
      accepted: r.accepted,
      rejected: r.rejected,
      duplicates: r.duplicates,
      seconds,
      rate: seconds > 0 ? r.rowsRead / seconds : 0,
      rejectsPath,
      phases,
    };
  }

  private async openScratch(): Promise<{ sql: SqlRunner; close(): void }> {
    if (!this.scratch) throw new Error(`the ${this.store.capabilities.name} presence store has no bulk path and no validation engine was given`);
    return this.scratch();
  }

  /** Presences go in batches of line ranges, each one atomic; listeners hear of each committed batch. */
  private async storePresences(
    sql: SqlRunner,
    valid: string,
    total: number,
    lo: number,
    hi: number,
    onBatch: (done: number) => void,
    phases: IngestPhases,
  ): Promise<{ inserted: number; duplicates: number }> {
    let inserted = 0;
    let duplicates = 0;
    if (total === 0) return { inserted, duplicates };
    const wantChunk = this.listeners.size > 0;
    // Through the port, rows travel as objects: smaller batches keep that memory flat.
    const batchRows = this.store.bulk ? this.batchRows : Math.min(this.batchRows, 100_000);
    // Line ranges of about batchRows valid rows each (rejects leave small gaps).
    const span = Math.max(1, Math.ceil(((hi - lo + 1) * batchRows) / total));
    for (let from = lo; from <= hi; from += span) {
      const to = from + span;
      const where = `line >= ${from} AND line < ${to}`;
      let res: { inserted: number; duplicates: number; chunk?: PresenceChunk };
      if (this.store.bulk) {
        const batch = `${valid}_batch`;
        await sql.run(`CREATE OR REPLACE TEMP VIEW ${batch} AS SELECT * EXCLUDE (line) FROM ${valid} WHERE ${where}`);
        try {
          res = await this.store.bulk.commitPresences(batch, { returnChunk: wantChunk });
        } finally {
          await sql.run(`DROP VIEW IF EXISTS ${batch}`);
        }
      } else {
        const rows = await sql.rows(`SELECT * EXCLUDE (line) FROM ${valid} WHERE ${where}`);
        res = await this.store.insertPresences(rows.map(toPresence), { returnChunk: wantChunk });
      }
      inserted += res.inserted;
      duplicates += res.duplicates;
      if (res.chunk && res.chunk.length > 0) {
        const l0 = performance.now();
        this.announce(res.chunk);
        phases.listeners += (performance.now() - l0) / 1000;
      }
      onBatch(inserted + duplicates);
    }
    // Committed batches are durable in the store's log already; a checkpoint folds them into the file.
    // It has a fixed cost of its own, so a small file leaves that to the store's automatic checkpoint.
    if (this.store.bulk && inserted >= CHECKPOINT_AFTER_ROWS) {
      const c0 = performance.now();
      await this.store.bulk.checkpoint();
      phases.checkpoint += (performance.now() - c0) / 1000;
    }
    return { inserted, duplicates };
  }

  /** Hands a committed batch to every listener; one failing listener neither stops the others nor the ingest. */
  private announce(chunk: PresenceChunk): void {
    for (const listener of this.listeners) {
      try {
        listener(chunk);
      } catch (err) {
        // The batch is committed either way; the listener's owner rebuilds from the store.
        console.error(`cordon: a presence listener failed after a committed batch: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
  }

  /** Links, people and places are small next to presences: they go through the port in pages. */
  private async storeOther(sql: SqlRunner, kind: FileKind, valid: string, onPage: (done: number) => void): Promise<{ inserted: number; duplicates: number }> {
    let inserted = 0;
    let duplicates = 0;
    let after = -1;
    for (;;) {
      const rows = await sql.rows(`SELECT * FROM ${valid} WHERE line > ${after} ORDER BY line LIMIT 50000`);
      if (rows.length === 0) break;
      after = Number(rows[rows.length - 1].line);
      const res =
        kind === 'identity_links'
          ? await this.store.insertIdentityLinks(rows.map(toLink))
          : kind === 'people'
            ? await this.store.upsertPeople(rows.map(toPerson))
            : await this.store.upsertPlaces(rows.map(toPlace));
      inserted += res.inserted;
      duplicates += res.duplicates;
      onPage(inserted + duplicates);
    }
    return { inserted, duplicates };
  }

  private async writeRejects(sql: SqlRunner, file: string, rej: string, dir?: string): Promise<string> {
    const folder = path.resolve(dir ?? this.config.rejectsDir);
    fs.mkdirSync(folder, { recursive: true });
    const stamp = new Date().toISOString().replace(/[:.]/g, '-');
    const out = path.join(folder, `${path.basename(file)}.${stamp}.rejects.csv`);
    await sql.run(`COPY (SELECT line, field, reason, value FROM ${rej} ORDER BY line) TO ${lit(out)} (HEADER, DELIMITER ',')`);
    return out;
  }
}

function text(v: SqlValue | undefined): string | undefined {
  return v === null || v === undefined ? undefined : String(v);
}

function optNumber(v: SqlValue | undefined): number | undefined {
  return v === null || v === undefined ? undefined : Number(v);
}

/**
 * The optional fields of a row: each named text column that is not null as a string, each named
 * number column as a number, under the field names given (null columns are left out, not undefined).
 */
function optionalFields(r: Record<string, SqlValue>, texts: Record<string, string>, numbers: Record<string, string> = {}): Record<string, string | number> {
  const out: Record<string, string | number> = {};
  for (const [field, column] of Object.entries(texts)) {
    const v = text(r[column]);
    if (v !== undefined) out[field] = v;
  }
  for (const [field, column] of Object.entries(numbers)) {
    const v = optNumber(r[column]);
    if (v !== undefined) out[field] = v;
  }
  return out;
}

const LAT_LON = { lat: 'lat', lon: 'lon' };

function toPresence(r: Record<string, SqlValue>): Presence {
  const flags = Number(r.flags);
  return {
    idKind: String(r.id_kind) as IdKind,
    idValue: String(r.id_value),
    placeKind: String(r.place_kind) as PlaceKind,
    placeId: String(r.place_id),
    start: Number(r.start),
    end: Number(r.end),
    dateOnly: (flags & 1) !== 0,
    pointEvent: (flags & 2) !== 0,
    ...optionalFields(r, { sub: 'sub', source: 'source' }, LAT_LON),
  };
}

function toLink(r: Record<string, SqlValue>): IdentityLink {
  return {
    aKind: String(r.a_kind) as IdKind, aValue: String(r.a_value), bKind: String(r.b_kind) as IdKind, bValue: String(r.b_value),
    ...optionalFields(r, { source: 'source' }),
  };
}

function toPerson(r: Record<string, SqlValue>): PersonRecord {
  return {
    idKind: String(r.id_kind) as IdKind, idValue: String(r.id_value),
    ...optionalFields(r, { name: 'name', address: 'address', jurisdiction: 'jurisdiction' }, LAT_LON),
  };
}

function toPlace(r: Record<string, SqlValue>): PlaceRecord {
  return {
    placeKind: String(r.place_kind) as PlaceKind, placeId: String(r.place_id),
    ...optionalFields(r, { name: 'name', jurisdiction: 'jurisdiction', category: 'category' }, LAT_LON),
  };
}
