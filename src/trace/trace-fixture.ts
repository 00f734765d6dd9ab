/**
 * @module A small in-memory world for tests of the tracer: presences written with ISO times and
 * `kind:id` places, dictionary-encoded the way a store does it, loadable into the index and the
 * brute-force reference alike.
 */
import { parseSub, type SubInfo } from '../domain/contact-rules.ts';
import { isPlaceKind } from '../domain/formats.ts';
import type { PresenceChunk } from '../stores/presence/presence-store.ts';
import { FLAG_DATE_ONLY, FLAG_POINT_EVENT, type Candidate, type IdentityGroups } from './candidate-source.ts';
import { LinkedIdentityGroups } from './identity-groups.ts';
import { IndexCandidateSource } from './index/index-source.ts';
import { PresenceIndex, type PresenceIndexOptions } from './index/presence-index.ts';
import { MemoryDictionary } from './memory-dictionary.ts';
import { referenceTrace } from './reference-tracer.ts';
import { Tracer } from './tracer.ts';
import type { TraceRequest, TraceResult } from './types.ts';

/** Epoch seconds of an ISO time (with offset) or a number already in seconds. */
export function sec(t: string | number): number {
  if (typeof t === 'number') return t;
  const ms = Date.parse(t);
  if (!Number.isFinite(ms)) throw new Error(`fixture: bad time "${t}"`);
  return Math.floor(ms / 1000);
}

export interface FixtureRow {
  ident: number;
  place: number;
  start: number;
  end: number;
  sub: number;
  flags: number;
}

export class TraceFixture {
  readonly dict = new MemoryDictionary();
  readonly rows: FixtureRow[] = [];
  private readonly placeIds = new Map<string, number>();
  private readonly placeKeyList: string[] = [];
  private readonly subIds = new Map<string, number>([['', 0]]);
  private readonly subInfos: (SubInfo | null)[] = [null];
  private readonly links: number[][] = [];

  constructor(readonly timeZone = 'Asia/Shanghai') {}

  place(key: string): number {
    let id = this.placeIds.get(key);
    if (id === undefined) {
      const kind = key.slice(0, key.indexOf(':'));
      if (!isPlaceKind(kind)) throw new Error(`fixture: bad place "${key}"`);
      id = this.placeKeyList.length;
      this.placeKeyList.push(key);
      this.placeIds.set(key, id);
      this.dict.setPlace(id, key);
    }
    return id;
  }

  private sub(text: string | undefined): number {
    if (!text) return 0;
    let id = this.subIds.get(text);
    if (id === undefined) {
      id = this.subInfos.length;
      this.subInfos.push(parseSub(text));
      this.subIds.set(text, id);
    }
    return id;
  }

  /** Adds a presence; `end` as ISO time, or minutes after start. */
  add(id: string, place: string, start: string | number, end: string | number, opts: { sub?: string; dateOnly?: boolean; point?: boolean } = {}): this {
    const s = sec(start);
    const e = typeof end === 'number' && typeof start === 'string' ? s + end * 60 : sec(end);
    this.rows.push({
      ident: this.dict.ident(id), place: this.place(place), start: s, end: e, sub: this.sub(opts.sub),
      flags: (opts.dateOnly ? FLAG_DATE_ONLY : 0) | (opts.point ? FLAG_POINT_EVENT : 0),
    });
    return this;
  }

  /** Declares identifiers to be one person. */
  link(...ids: string[]): this {
    this.links.push(ids.map((i) => this.dict.ident(i)));
    return this;
  }

  groups(): IdentityGroups {
    // Union of overlapping link sets, so chains of links make one person.
    const parent = new Map<number, number>();
    const find = (x: number): number => {
      while ((parent.get(x) ?? x) !== x) x = parent.get(x) ?? x;
      return x;
    };
    for (const l of this.links) for (const id of l.slice(1)) {
      const a = find(l[0]);
      const b = find(id);
      if (a !== b) parent.set(Math.max(a, b), Math.min(a, b));
    }
    const byRoot = new Map<number, number[]>();
    for (const id of parent.keys()) {
      const r = find(id);
      byRoot.set(r, [...(byRoot.get(r) ?? [r]), id]);
    }
    return new LinkedIdentityGroups(byRoot.values());
  }

  candidates(): Candidate[] {
    return this.rows.map((r) => ({
      ident: r.ident, place: r.place, placeKind: this.kindOf(r.place), start: r.start, end: r.end, sub: this.subInfos[r.sub], flags: r.flags,
    }));
  }

  private kindOf(place: number): Candidate['placeKind'] {
    const k = this.placeKeyList[place].split(':')[0];
    if (!isPlaceKind(k)) throw new Error('unreachable');
    return k;
  }

  /** Rows [from, to) as a store chunk. */
  chunk(from = 0, to = this.rows.length): PresenceChunk {
    const rows = this.rows.slice(from, to);
    return {
      length: rows.length,
      ident: Uint32Array.from(rows, (r) => r.ident), place: Uint32Array.from(rows, (r) => r.place),
      start: Uint32Array.from(rows, (r) => r.start), end: Uint32Array.from(rows, (r) => r.end),
      sub: Uint32Array.from(rows, (r) => r.sub), flags: Uint8Array.from(rows, (r) => r.flags),
    };
  }

  /** An index holding the first `loaded` rows sorted and the rest appended (through the tail). */
  index(loaded = this.rows.length, opts: PresenceIndexOptions = {}): PresenceIndex {
    const idx = new PresenceIndex(opts);
    this.placeKeyList.forEach((_, id) => idx.setPlaceKind(id, this.kindOf(id)));
    this.subInfos.forEach((s, id) => idx.setSub(id, s));
    const c = this.chunk(0, loaded);
    idx.load(c);
    for (let i = loaded; i < this.rows.length; i += 3) idx.append(this.chunk(i, Math.min(i + 3, this.rows.length)));
    return idx;
  }

  tracer(index = this.index()): Tracer {
    return new Tracer({ source: new IndexCandidateSource(index), dict: this.dict, groups: this.groups(), timeZone: this.timeZone });
  }

  reference(req: TraceRequest): Promise<TraceResult> {
    return referenceTrace(req, { rows: this.candidates(), groups: this.groups(), dict: this.dict, timeZone: this.timeZone });
  }
}
