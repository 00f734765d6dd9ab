/**
 * @module The tracer's reads pushed down to ClickHouse. The first degree is one query: the case's
 * trajectory from the by-person table, and from the place-sharded table only the presences that
 * overlap it — each shard prunes by its primary key (place, start) and checks the overlap itself
 * (an IN-subquery on place and an equi-join on place with the trajectory's intervals as arrays, since
 * 18.16 has no non-equi JOIN), both against the shard's own tables. Node receives the trajectory and the overlapping presences, never the
 * other rows of those places, and runs the same rule evaluation as over the in-memory index.
 */
import { parseSub } from '../../../domain/contact-rules.ts';
import { PLACE_KINDS } from '../../../domain/formats.ts';
import { SubTable, type Candidate, type CandidateSource, type FirstDegreeRead, type PlaceWindow } from '../../../trace/candidate-source.ts';
import type { ClickHousePresenceStore, PresenceIdRow } from './clickhouse-presence-store.ts';
import { ROW_IDENTITY } from './clickhouse-schema.ts';
import { sqlList, sqlUInt32 } from './clickhouse-sql.ts';

/**
 * The IN-subquery and the JOIN on place run on each shard against that shard's own person-ordered
 * table (`distributed_product_mode = 'local'`). That is complete, not an approximation: the
 * person-ordered table of a shard is filled from the place-sharded table of the same shard, so it
 * holds exactly the case's presences at the places this shard owns. And it is what lets the primary
 * key prune: a shard-local subquery set is used for index analysis, while a GLOBAL IN's shipped
 * temporary table was seen (on 18.16) to read every row of the window's days.
 */
const SHARD_LOCAL = { distributed_product_mode: 'local' };

/** A `CandidateSource` answered by a ClickHouse presence store. */
export class ClickHouseCandidateSource implements CandidateSource {
  readonly name = 'clickhouse';
  private readonly subTable = new SubTable(parseSub);
  /** Place kind (index into PLACE_KINDS) by place id; ids are dense, so an array holds every place. */
  private kindOf = new Uint8Array(0);
  /** Place ids below this are in `kindOf`. */
  private kindsUpTo = 0;
  private readonly subTexts = new Map<number, string>();
  /** The last person read by `presencesOf` and what overlaps them (see there). */
  private readAhead: { from: number; to: number; covered: Map<number, [number, number][]>; candidates: Candidate[] } | undefined;

  constructor(private readonly store: ClickHousePresenceStore) {}

  /**
   * A person's presences, read together with everything that overlaps them (the first-degree query),
   * because the tracer's next call asks for exactly that (`presencesAt` over this person's pieces,
   * second degree): one round trip per close contact instead of two. The overlap is kept until the
   * next person is read.
   */
  async presencesOf(idents: readonly number[], from: number, to: number): Promise<Candidate[]> {
    const read = await this.firstDegree(idents, from, to);
    this.readAhead = { from, to, covered: coverage(read.trajectory, from, to), candidates: read.candidates };
    return read.trajectory;
  }

  /**
   * Answered from the read-ahead when every window lies inside the last person's presences at that
   * place (so the read-ahead holds every presence overlapping it, and filtering it is exact);
   * otherwise a pruned query of its own.
   */
  async presencesAt(queries: readonly PlaceWindow[]): Promise<Candidate[]> {
    const ahead = this.readAhead;
    if (ahead && queries.every((q) => covers(ahead.covered.get(q.place), Math.max(q.from, ahead.from), Math.min(q.to, ahead.to)) && q.from >= ahead.from && q.to <= ahead.to)) {
      const byPlace = new Map<number, PlaceWindow[]>();
      for (const q of queries) {
        if (q.to <= q.from) continue;
        let l = byPlace.get(q.place);
        if (!l) byPlace.set(q.place, (l = []));
        l.push(q);
      }
      return ahead.candidates.filter((c) => byPlace.get(c.place)?.some((q) => c.start < q.to && c.end > q.from) ?? false);
    }
    return this.toCandidates(await this.store.rowsAt(queries));
  }

  async firstDegree(idents: readonly number[], from: number, to: number): Promise<FirstDegreeRead> {
    if (idents.length === 0 || to <= from) return { trajectory: [], candidates: [] };
    const t = this.store.tables;
    const md = await this.store.maxDuration();
    const window = this.store.windowCondition(from, to, md);
    const ids = sqlList([...new Set(idents)], sqlUInt32);
    const lo = sqlUInt32(from);
    const hi = sqlUInt32(to);
    const mine = `FROM ${t.byPerson} WHERE ident IN ${ids} AND ${window}`;
    const rows = await this.store.conn.rows<{ side: number } & Record<'ident' | 'place' | 'start_s' | 'end_s' | 'sub' | 'flags', number>>(`
SELECT 0 AS side, ident, place, start_s, end_s, sub, flags FROM (
  SELECT ident, place, start_s, end_s, sub, flags, source ${mine} LIMIT 1 BY ${ROW_IDENTITY})
UNION ALL
SELECT 1 AS side, ident, place, start_s, end_s, sub, flags FROM (
  SELECT ident, place, start_s, end_s, sub, flags, row_key FROM ${t.presences}
  WHERE place IN (SELECT place ${mine}) AND ${window}
) ANY INNER JOIN (
  SELECT place, groupArray(greatest(start_s, ${lo})) AS ts, groupArray(least(end_s, ${hi})) AS te ${mine} GROUP BY place
) USING place
WHERE arrayExists((s, e) -> s < end_s AND e > start_s, ts, te)
LIMIT 1 BY row_key`, SHARD_LOCAL);
    const traj: PresenceIdRow[] = [];
    const cand: PresenceIdRow[] = [];
    for (const r of rows) {
      const row = { ident: Number(r.ident), place: Number(r.place), start: Number(r.start_s), end: Number(r.end_s), sub: Number(r.sub), flags: Number(r.flags) };
      (Number(r.side) === 0 ? traj : cand).push(row);
    }
    return { trajectory: await this.toCandidates(traj), candidates: await this.toCandidates(cand) };
  }

  /**
   * The first-degree read for many people at once, in one query: for each read (one person's
   * identifiers and window) their presences in the window and the presences overlapping them. The
   * second degree needs this for every close contact; one query instead of two per contact.
   * The identifier sets of the reads must be disjoint (they are different people).
   */
  async firstDegreeMany(reads: readonly { idents: readonly number[]; from: number; to: number }[]): Promise<FirstDegreeRead[]> {
    const out: FirstDegreeRead[] = reads.map(() => ({ trajectory: [], candidates: [] }));
    const identList: number[] = [];
    const readOf: number[] = [];
    const fromOf: number[] = [];
    const toOf: number[] = [];
    const owner = new Map<number, number>();
    reads.forEach((r, k) => {
      if (r.to <= r.from) return;
      for (const id of new Set(r.idents)) {
        if (owner.has(id)) throw new Error(`firstDegreeMany: identifier ${id} is in reads ${owner.get(id)} and ${k}`);
        owner.set(id, k);
        identList.push(id);
        readOf.push(k);
        fromOf.push(r.from);
        toOf.push(r.to);
      }
    });
    if (identList.length === 0) return out;
    const t = this.store.tables;
    const md = await this.store.maxDuration();
    const window = this.store.windowCondition(Math.min(...fromOf), Math.max(...toOf), md);
    const arr = (xs: readonly number[]): string => `[${xs.map(sqlUInt32).join(', ')}]`;
    const I = arr(identList);
    const ids = sqlList(identList, sqlUInt32);
    // Each presence of the people read, tagged with its read and clipped to that read's window.
    const mine = `SELECT place, ident, source, sub, flags, start_s, end_s, transform(ident, ${I}, ${arr(readOf)}, 0) AS k,
    greatest(start_s, transform(ident, ${I}, ${arr(fromOf)}, 0)) AS s, least(end_s, transform(ident, ${I}, ${arr(toOf)}, 0)) AS e
  FROM ${t.byPerson} WHERE ident IN ${ids} AND ${window}`;
    const rows = await this.store.conn.rows<Record<'side' | 'k' | 'ident' | 'place' | 'start_s' | 'end_s' | 'sub' | 'flags', number>>(`
SELECT 0 AS side, k, ident, place, start_s, end_s, sub, flags FROM (${mine}) WHERE s < e LIMIT 1 BY ${ROW_IDENTITY}
UNION ALL
SELECT 1 AS side, k, ident, place, start_s, end_s, sub, flags FROM (
  SELECT ident, place, start_s, end_s, sub, flags, row_key, ks, ts, te FROM (
    SELECT ident, place, start_s, end_s, sub, flags, row_key FROM ${t.presences}
    WHERE place IN (SELECT place FROM (${mine}) WHERE s < e) AND ${window}
  ) ANY INNER JOIN (
    SELECT place, groupArray(k) AS ks, groupArray(s) AS ts, groupArray(e) AS te FROM (${mine}) WHERE s < e GROUP BY place
  ) USING place
)
ARRAY JOIN arrayDistinct(arrayFilter((kk, s, e) -> s < end_s AND e > start_s, ks, ts, te)) AS k
LIMIT 1 BY k, row_key`, SHARD_LOCAL);
    const traj: PresenceIdRow[][] = reads.map(() => []);
    const cand: PresenceIdRow[][] = reads.map(() => []);
    for (const r of rows) {
      const row = { ident: Number(r.ident), place: Number(r.place), start: Number(r.start_s), end: Number(r.end_s), sub: Number(r.sub), flags: Number(r.flags) };
      (Number(r.side) === 0 ? traj : cand)[Number(r.k)].push(row);
    }
    for (let k = 0; k < reads.length; k++) {
      out[k] = { trajectory: await this.toCandidates(traj[k]), candidates: await this.toCandidates(cand[k]) };
    }
    return out;
  }

  /**
   * Reads the kinds of the places added since the last read, in one query: a trace then never waits
   * on a per-place look-up (one byte per place; a city's places fit easily).
   */
  private async loadKinds(): Promise<void> {
    const code = new Map<string, number>(PLACE_KINDS.map((k, i) => [k, i]));
    const got: [number, number][] = [];
    let max = this.kindsUpTo - 1;
    for await (const line of this.store.conn.lines(`SELECT id, kind FROM ${this.store.tables.placeById} WHERE id >= ${sqlUInt32(this.kindsUpTo)}`)) {
      const tab = line.indexOf('\t');
      const id = Number(line.slice(0, tab));
      const kind = code.get(line.slice(tab + 1));
      if (kind === undefined) throw new Error(`place ${id} has an unknown kind in the dictionary`);
      got.push([id, kind]);
      if (id > max) max = id;
    }
    if (max + 1 > this.kindOf.length) {
      const grown = new Uint8Array(Math.max(max + 1, this.kindOf.length * 2));
      grown.set(this.kindOf);
      this.kindOf = grown;
    }
    for (const [id, kind] of got) this.kindOf[id] = kind;
    this.kindsUpTo = max + 1;
  }

  /** Adds place kinds and parsed subs (kinds from the loaded table, subs looked up once per id and kept). */
  private async toCandidates(rows: readonly PresenceIdRow[]): Promise<Candidate[]> {
    let maxPlace = -1;
    for (const r of rows) if (r.place > maxPlace) maxPlace = r.place;
    if (maxPlace >= this.kindsUpTo) await this.loadKinds();
    if (maxPlace >= this.kindsUpTo) throw new Error(`unknown place dictionary id ${maxPlace}`);
    const newSubs = [...new Set(rows.map((r) => r.sub).filter((s) => s !== 0 && !this.subTexts.has(s)))];
    if (newSubs.length) {
      const texts = await this.store.subValues(newSubs);
      newSubs.forEach((s, i) => this.subTexts.set(s, texts[i]));
    }
    return rows.map((r) => ({
      ident: r.ident,
      place: r.place,
      placeKind: PLACE_KINDS[this.kindOf[r.place]],
      start: r.start,
      end: r.end,
      sub: r.sub === 0 ? null : this.subTable.get(this.subTexts.get(r.sub)),
      flags: r.flags,
    }));
  }
}

/** Per place, the union of the presences' intervals clipped to [from, to), as sorted disjoint intervals. */
function coverage(presences: readonly Candidate[], from: number, to: number): Map<number, [number, number][]> {
  const byPlace = new Map<number, [number, number][]>();
  for (const p of presences) {
    const s = Math.max(p.start, from);
    const e = Math.min(p.end, to);
    if (e <= s) continue;
    let l = byPlace.get(p.place);
    if (!l) byPlace.set(p.place, (l = []));
    l.push([s, e]);
  }
  for (const [place, l] of byPlace) {
    l.sort((a, b) => a[0] - b[0]);
    const merged: [number, number][] = [];
    for (const iv of l) {
      const last = merged[merged.length - 1];
      if (last && iv[0] <= last[1]) last[1] = Math.max(last[1], iv[1]);
      else merged.push([iv[0], iv[1]]);
    }
    byPlace.set(place, merged);
  }
  return byPlace;
}

/** Whether [from, to) lies inside one of the intervals (an empty window is covered). */
function covers(intervals: readonly [number, number][] | undefined, from: number, to: number): boolean {
  if (to <= from) return true;
  return intervals?.some(([s, e]) => s <= from && to <= e) ?? false;
}
