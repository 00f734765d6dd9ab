/**
 * @module The tracer's reads answered by the presence store port itself (`presencesOf`,
 * `presencesAt`): no index in memory, each read one query in the store (the second degree's close
 * contacts batched into two). Used for a one-off trace from the command line, and by any store that
 * can filter by place and time on its side.
 */
import { parseSub } from '../domain/contact-rules.ts';
import { placeKey, type PlaceKind } from '../domain/formats.ts';
import type { PresenceStore, StoredPresence } from '../stores/presence/presence-store.ts';
import {
  FLAG_DATE_ONLY, FLAG_POINT_EVENT, SubTable, type Candidate, type CandidateSource, type FirstDegreeRead, type PlaceWindow, type TraceDictionary,
} from './candidate-source.ts';

/** The port reads this source needs. */
export type StoreReads = Pick<PresenceStore, 'presencesOf' | 'presencesAt' | 'placeKeys' | 'identifierKeys'>;

export class StoreCandidateSource implements CandidateSource {
  readonly name: string;
  private readonly subs = new SubTable(parseSub);
  /** Place dictionary id → kind and id, learned from rows read (windows always name places already seen). */
  private readonly places = new Map<number, { kind: PlaceKind; id: string }>();

  constructor(private readonly store: StoreReads, private readonly dict: TraceDictionary, name = 'store') {
    this.name = name;
  }

  private toCandidate = (p: StoredPresence): Candidate => {
    if (!this.places.has(p.placeDictId)) this.places.set(p.placeDictId, { kind: p.placeKind, id: p.placeId });
    return {
      ident: p.identId, place: p.placeDictId, placeKind: p.placeKind, start: p.start, end: p.end, sub: this.subs.get(p.sub),
      flags: (p.dateOnly ? FLAG_DATE_ONLY : 0) | (p.pointEvent ? FLAG_POINT_EVENT : 0),
    };
  };

  async presencesOf(idents: readonly number[], from: number, to: number): Promise<Candidate[]> {
    if (!idents.length) return [];
    const keys = await this.dict.identifierKeys(idents);
    return (await this.store.presencesOf(keys, from, to)).map(this.toCandidate);
  }

  async presencesAt(queries: readonly PlaceWindow[]): Promise<Candidate[]> {
    if (!queries.length) return [];
    const unknown = [...new Set(queries.map((q) => q.place).filter((p) => !this.places.has(p)))];
    if (unknown.length) {
      const keys = await this.store.placeKeys(unknown);
      unknown.forEach((id, i) => {
        const k = keys[i];
        this.places.set(id, { kind: k.slice(0, k.indexOf(':')) as PlaceKind, id: k.slice(k.indexOf(':') + 1) });
      });
    }
    const rows = await this.store.presencesAt(queries.map((q) => {
      const p = this.places.get(q.place);
      return { placeKind: p?.kind ?? q.placeKind, placeId: p?.id ?? '', from: q.from, to: q.to };
    }));
    return rows.map(this.toCandidate);
  }

  /**
   * The first degree of several people at once (the close contacts of a case, for the second degree)
   * in two reads instead of two per person: every person's presences in one `presencesOf`, then every
   * presence overlapping any of them in one `presencesAt`, each row handed to the people whose
   * presences it overlaps at that place. Each read's identifiers belong to a different person.
   */
  async firstDegreeMany(reads: readonly { idents: readonly number[]; from: number; to: number }[]): Promise<FirstDegreeRead[]> {
    const out: FirstDegreeRead[] = reads.map(() => ({ trajectory: [], candidates: [] }));
    const owner = new Map<number, number>();
    let from = Infinity;
    let to = -Infinity;
    reads.forEach((r, k) => {
      if (!(r.from < r.to)) return;
      for (const id of r.idents) {
        const o = owner.get(id);
        if (o !== undefined && o !== k) throw new Error(`firstDegreeMany: identifier ${id} is in reads ${o} and ${k}`);
        owner.set(id, k);
      }
      from = Math.min(from, r.from);
      to = Math.max(to, r.to);
    });
    if (!owner.size) return out;
    // Each read's presences within its own window; each clipped to that window is a window to read at.
    const windows: (PlaceWindow & { read: number })[] = [];
    for (const c of await this.presencesOf([...owner.keys()], from, to)) {
      const k = owner.get(c.ident);
      if (k === undefined) continue;
      const r = reads[k];
      if (!(c.start < r.to && c.end > r.from)) continue;
      out[k].trajectory.push(c);
      windows.push({ place: c.place, placeKind: c.placeKind, from: Math.max(c.start, r.from), to: Math.min(c.end, r.to), read: k });
    }
    if (!windows.length) return out;
    const byPlace = new Map<number, (PlaceWindow & { read: number })[]>();
    for (const w of windows) {
      const list = byPlace.get(w.place);
      if (list) list.push(w);
      else byPlace.set(w.place, [w]);
    }
    for (const c of await this.presencesAt(windows)) {
      // A row overlapping several windows of one read goes to that read once.
      const given = new Set<number>();
      for (const w of byPlace.get(c.place) ?? []) {
        if (!given.has(w.read) && c.start < w.to && c.end > w.from) {
          out[w.read].candidates.push(c);
          given.add(w.read);
        }
      }
    }
    return out;
  }

  /** `kind:id` of a place seen in a read (for tests). */
  placeKeyOf(place: number): string | undefined {
    const p = this.places.get(place);
    return p ? placeKey(p.kind, p.id) : undefined;
  }
}

/** Ids past this go to a hash map: an array that long would be mostly holes. */
const DENSE_MAX = 1 << 26;

/**
 * Names by dictionary id: a packed array grown in order (so the engine keeps it a flat array, not a
 * hash table, however the ids arrive), with a map for ids too large for it.
 */
class DenseNames {
  private readonly dense: (string | undefined)[] = [];
  private readonly sparse = new Map<number, string>();

  get(id: number): string | undefined {
    return id >= 0 && id < this.dense.length ? this.dense[id] : this.sparse.get(id);
  }

  set(id: number, name: string): void {
    if (Number.isInteger(id) && id >= 0 && id < DENSE_MAX) {
      while (this.dense.length <= id) this.dense.push(undefined);
      this.dense[id] = name;
    } else {
      this.sparse.set(id, name);
    }
  }
}

/**
 * Names from a store, cached: dictionary ids never change meaning, so a cache is never stale. The
 * ids are small dense integers, so the names sit in arrays indexed by id (one memory read per name,
 * where a hash map with a million entries costs several).
 */
export class CachedDictionary implements TraceDictionary {
  private readonly idents = new DenseNames();
  private readonly places = new DenseNames();
  private readonly ids = new Map<string, number>();
  constructor(private readonly store: TraceDictionary) {}

  private async lookup(ids: readonly number[], cache: DenseNames, load: (ids: number[]) => Promise<string[]>): Promise<string[]> {
    const missing = [...new Set(ids.filter((i) => cache.get(i) === undefined))];
    if (missing.length) {
      const names = await load(missing);
      missing.forEach((id, i) => cache.set(id, names[i]));
    }
    return ids.map((i) => cache.get(i) ?? '');
  }

  /**
   * Loads the names of these identifier and place ids ahead of time (e.g. every id in the index), so
   * traces never wait on the store for names.
   */
  async preload(identIds: Iterable<number>, placeIds: Iterable<number>, batch = 20_000): Promise<void> {
    const fill = async (ids: number[], cache: DenseNames, load: (ids: number[]) => Promise<string[]>, byKey?: Map<string, number>): Promise<void> => {
      for (let i = 0; i < ids.length; i += batch) {
        const part = ids.slice(i, i + batch).filter((id) => cache.get(id) === undefined);
        if (!part.length) continue;
        const names = await load(part);
        part.forEach((id, k) => {
          cache.set(id, names[k]);
          byKey?.set(names[k], id);
        });
      }
    };
    await fill([...new Set(identIds)], this.idents, (m) => this.store.identifierKeys(m), this.ids);
    await fill([...new Set(placeIds)], this.places, (m) => this.store.placeKeys(m));
  }

  knownIdentifierKey(id: number): string | undefined {
    return this.idents.get(id);
  }

  knownPlaceKey(id: number): string | undefined {
    return this.places.get(id);
  }

  identifierKeys(ids: readonly number[]): Promise<string[]> {
    return this.lookup(ids, this.idents, (m) => this.store.identifierKeys(m));
  }

  placeKeys(ids: readonly number[]): Promise<string[]> {
    return this.lookup(ids, this.places, (m) => this.store.placeKeys(m));
  }

  async identifierIds(idKeys: readonly string[]): Promise<Map<string, number>> {
    const missing = idKeys.filter((k) => !this.ids.has(k));
    // Unknown identifiers are asked again next time: they may arrive with the next ingest.
    if (missing.length) for (const [k, v] of await this.store.identifierIds(missing)) this.ids.set(k, v);
    const out = new Map<string, number>();
    for (const k of idKeys) {
      const v = this.ids.get(k);
      if (v !== undefined) out.set(k, v);
    }
    return out;
  }
}
