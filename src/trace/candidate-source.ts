/**
 * @module Where the tracer gets presences from. The same rule evaluation runs over the in-memory
 * index, over a store that answers the place/window reads itself (ClickHouse, DuckDB), or over SQL
 * peers in the benchmark; each is a `CandidateSource`. Identifiers and places are the presence
 * store's dictionary ids, shared by every source built from the same store.
 */
import type { PlaceKind } from '../domain/formats.ts';
import type { SubInfo } from '../domain/contact-rules.ts';

/** Bit 0 of `flags`: the source gave only a date. */
export const FLAG_DATE_ONLY = 1;
/** Bit 1 of `flags`: a point event given its kind's default dwell. */
export const FLAG_POINT_EVENT = 2;

/** A presence as the tracer sees it. Times are epoch seconds, [start, end). */
export interface Candidate {
  /** Identifier dictionary id. */
  ident: number;
  /** Place dictionary id. */
  place: number;
  placeKind: PlaceKind;
  start: number;
  end: number;
  /** Seat or room, parsed; null when none. Sources share one object per distinct text. */
  sub: SubInfo | null;
  /** FLAG_DATE_ONLY | FLAG_POINT_EVENT. */
  flags: number;
}

/**
 * Presences in columns: the one shape the rule work reads, whatever source they came from. A source
 * that can write here directly (the in-memory index) makes no object per presence; the others' arrays
 * are copied in (`pushAll`). Either way the shared code after it sees a single shape, so it stays
 * compiled for one shape when several sources run in one process.
 */
export class CandidateColumns {
  length = 0;
  ident = new Float64Array(256);
  place = new Float64Array(256);
  start = new Float64Array(256);
  end = new Float64Array(256);
  flags = new Int32Array(256);
  /** Seat or room per presence (shared objects, see `SubTable`). */
  sub: (SubInfo | null)[] = [];
  placeKind: PlaceKind[] = [];

  /** Empties the columns, keeping their room. */
  clear(): this {
    this.length = 0;
    return this;
  }

  push(ident: number, place: number, placeKind: PlaceKind, start: number, end: number, sub: SubInfo | null, flags: number): void {
    const i = this.length;
    if (i === this.ident.length) this.grow();
    this.ident[i] = ident;
    this.place[i] = place;
    this.start[i] = start;
    this.end[i] = end;
    this.flags[i] = flags;
    this.sub[i] = sub;
    this.placeKind[i] = placeKind;
    this.length = i + 1;
  }

  pushAll(cs: readonly Candidate[]): this {
    for (let i = 0; i < cs.length; i++) {
      const c = cs[i];
      this.push(c.ident, c.place, c.placeKind, c.start, c.end, c.sub, c.flags);
    }
    return this;
  }

  /** The presences as objects (for tests and the array form of a source). */
  toArray(): Candidate[] {
    const out: Candidate[] = [];
    for (let i = 0; i < this.length; i++) {
      out.push({ ident: this.ident[i], place: this.place[i], placeKind: this.placeKind[i], start: this.start[i], end: this.end[i], sub: this.sub[i], flags: this.flags[i] });
    }
    return out;
  }

  private grow(): void {
    const m = this.ident.length * 2;
    const more = <T extends Float64Array | Int32Array>(a: T, make: (n: number) => T): T => {
      const b = make(m);
      b.set(a);
      return b;
    };
    this.ident = more(this.ident, (n) => new Float64Array(n));
    this.place = more(this.place, (n) => new Float64Array(n));
    this.start = more(this.start, (n) => new Float64Array(n));
    this.end = more(this.end, (n) => new Float64Array(n));
    this.flags = more(this.flags, (n) => new Int32Array(n));
  }
}

/** Presences at one place overlapping [from, to). */
export interface PlaceWindow {
  place: number;
  placeKind: PlaceKind;
  from: number;
  to: number;
}

/** The contact read done in one round trip: the trajectory and the presences that overlap it. */
export interface FirstDegreeRead {
  trajectory: Candidate[];
  candidates: Candidate[];
}

/** Presences for the tracer, by person and by place. */
export interface CandidateSource {
  /** Name for messages and benchmarks (`index`, `sqlite`, `duckdb-join`, …). */
  readonly name: string;
  /** Presences of any of these identifiers overlapping [from, to), in any order. */
  presencesOf(idents: readonly number[], from: number, to: number): Promise<Candidate[]>;
  /** Presences at each query's place overlapping its window, in any order (a presence may repeat). */
  presencesAt(queries: readonly PlaceWindow[]): Promise<Candidate[]>;
  /**
   * Optional single-query form of the first degree (a SQL self-join, or a server that does it):
   * the trajectory of these identifiers in [from, to) and every presence overlapping it at the same
   * place within [from, to). When absent the tracer calls `presencesOf` then `presencesAt`.
   */
  firstDegree?(idents: readonly number[], from: number, to: number): Promise<FirstDegreeRead>;
  /**
   * Optional: `firstDegree` for several people at once (the close contacts of a case, for the second
   * degree), in one round trip. Each read's identifiers belong to a different person (disjoint sets);
   * a read whose window is empty gets an empty answer. A store that pays per query implements it.
   */
  firstDegreeMany?(reads: readonly { idents: readonly number[]; from: number; to: number }[]): Promise<FirstDegreeRead[]>;
  /**
   * Optional, for a source that answers at once in this process (the in-memory index): `presencesOf`
   * written into `out` (after what it holds) without an object per presence. When present the tracer uses it.
   */
  presencesOfInto?(idents: readonly number[], from: number, to: number, out: CandidateColumns): void;
  /** Optional: `presencesAt` written into `out`, as `presencesOfInto`. */
  presencesAtInto?(queries: readonly PlaceWindow[], out: CandidateColumns): void;
}

/** Names of dictionary ids, for the output. The presence store satisfies it. */
export interface TraceDictionary {
  /** `kind:value` of identifier dictionary ids, in the same order. */
  identifierKeys(ids: readonly number[]): Promise<string[]>;
  /** Dictionary ids of `kind:value` identifiers; unknown ones are absent. */
  identifierIds(idKeys: readonly string[]): Promise<Map<string, number>>;
  /** `kind:id` of place dictionary ids, in the same order. */
  placeKeys(ids: readonly number[]): Promise<string[]>;
  /** The `kind:value` of an identifier id when it is at hand without a round trip (a cache); else undefined. */
  knownIdentifierKey?(id: number): string | undefined;
  /** The `kind:id` of a place id when it is at hand without a round trip (a cache); else undefined. */
  knownPlaceKey?(id: number): string | undefined;
}

/** Which identifiers belong to the same person (from identity resolution). */
export interface IdentityGroups {
  /** Every identifier dictionary id of the person holding `ident`, sorted ascending, including `ident`. */
  groupOf(ident: number): readonly number[];
  /** The person of `ident` (the smallest id of its group), without building the group: called per candidate. */
  personOf?(ident: number): number;
  /** Identifiers of the person (by their smallest id) that have no presences, so no dictionary id; listed in outputs. */
  extraIds?(person: number): readonly string[];
}

/** Each identifier is its own person: the answer when no identity links are known. */
export const SINGLETON_GROUPS: IdentityGroups = {
  groupOf: (ident) => [ident],
};

/** One shared parsed object per sub text, so candidates compare and cost nothing extra. */
export class SubTable {
  private readonly byText = new Map<string, SubInfo>();
  constructor(private readonly parse: (text: string) => SubInfo) {}
  /** The parsed sub for a text; null for an empty or missing one. */
  get(text: string | null | undefined): SubInfo | null {
    if (!text) return null;
    let s = this.byText.get(text);
    if (!s) {
      s = this.parse(text);
      this.byText.set(text, s);
    }
    return s;
  }
}
