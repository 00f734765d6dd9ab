/**
 * @module Identity resolution, pure: identity links (phone ↔ ID card ↔ transit card ↔ plate) join
 * identifiers into one person with a union-find. A link that would put two different identifiers of
 * a one-per-person kind (two ID cards) into one person is a conflict: it is not applied, and it is
 * listed for an analyst, whose decision (accept or reject the link) is applied on the next build.
 */
import { ID_KINDS, type IdKind } from './formats.ts';

/** Kinds a person has at most one of: two of them joined by links is a conflict, never a merge. */
export const ONE_PER_PERSON_KINDS: readonly IdKind[] = ['id_card', 'passport', 'person'];

/** A link between two `kind:value` identifiers. */
export interface LinkEdge {
  a: string;
  b: string;
  source?: string;
}

/** An analyst's decision on a link: `accept` applies it even though it joins two ID cards; `reject` ignores it. */
export type LinkDecision = 'accept' | 'reject';

/** A link held back because it would join two identifiers of a one-per-person kind. */
export interface IdentityConflict {
  /** Stable key of the link (`linkKey`), used to settle it. */
  link: string;
  a: string;
  b: string;
  source?: string;
  /** The identifiers the link would have made one person, e.g. two `id_card:` keys. */
  wouldJoin: [string, string];
}

/** Who an identifier belongs to. */
export interface Resolution {
  /** The person's key: their ID card if they have exactly one, else their first identifier in kind order. */
  personKey: string;
  /** All identifiers of the person, ID cards first, as `kind:value`. */
  ids: string[];
  /** Unsettled conflicts touching this person. */
  conflicts: IdentityConflict[];
}

/** The order-independent key of a link: its two ends sorted, joined by `|`. */
export function linkKey(a: string, b: string): string {
  return a <= b ? `${a}|${b}` : `${b}|${a}`;
}

function kindOf(key: string): string {
  const i = key.indexOf(':');
  return i < 0 ? key : key.slice(0, i);
}

const KIND_RANK = new Map<string, number>(ID_KINDS.map((k, i) => [k, i]));

/** Orders identifiers: by kind (ID card first, as in ID_KINDS), then by value. */
export function compareIdKeys(x: string, y: string): number {
  const kx = KIND_RANK.get(kindOf(x)) ?? 99;
  const ky = KIND_RANK.get(kindOf(y)) ?? 99;
  return kx - ky || (x < y ? -1 : x > y ? 1 : 0);
}

/**
 * The people that a set of links makes. Links are applied in a fixed order (sorted by key, then the
 * accepted ones, forced) so the same links always give the same people and the same conflicts.
 */
export class IdentityGraph {
  private readonly parent = new Map<string, string>();
  private readonly size = new Map<string, number>();
  /** Per root: its identifiers of one-per-person kinds. */
  private readonly unique = new Map<string, string[]>();
  private readonly members = new Map<string, string[]>();
  private readonly held: IdentityConflict[] = [];
  private membersBuilt = false;

  constructor(links: Iterable<LinkEdge>, decisions: ReadonlyMap<string, LinkDecision> = new Map()) {
    const accepted: LinkEdge[] = [];
    const rest: { key: string; edge: LinkEdge }[] = [];
    const seen = new Set<string>();
    for (const edge of links) {
      const key = linkKey(edge.a, edge.b);
      if (seen.has(key) || edge.a === edge.b) continue;
      seen.add(key);
      this.add(edge.a);
      this.add(edge.b);
      const d = decisions.get(key);
      if (d === 'reject') continue;
      if (d === 'accept') accepted.push(edge);
      else rest.push({ key, edge });
    }
    rest.sort((x, y) => (x.key < y.key ? -1 : x.key > y.key ? 1 : 0));
    for (const { key, edge } of rest) {
      const clash = this.union(edge.a, edge.b, false);
      if (clash) {
        const c: IdentityConflict = { link: key, a: edge.a, b: edge.b, wouldJoin: clash };
        if (edge.source !== undefined) c.source = edge.source;
        this.held.push(c);
      }
    }
    // Accepted links last, forced: accepting a held link means "these really are one person".
    for (const e of accepted) this.union(e.a, e.b, true);
  }

  private add(k: string): void {
    if (this.parent.has(k)) return;
    this.parent.set(k, k);
    this.size.set(k, 1);
    if (ONE_PER_PERSON_KINDS.includes(kindOf(k) as IdKind)) this.unique.set(k, [k]);
  }

  private find(k: string): string {
    let r = k;
    for (let p = this.parent.get(r); p !== undefined && p !== r; p = this.parent.get(r)) r = p;
    // Path compression: later finds are near constant time.
    let x = k;
    while (x !== r) {
      const next = this.parent.get(x)!;
      this.parent.set(x, r);
      x = next;
    }
    return r;
  }

  /** Joins the people of a and b; returns the two clashing identifiers instead when not forced and they clash. */
  private union(a: string, b: string, force: boolean): [string, string] | undefined {
    let ra = this.find(a);
    let rb = this.find(b);
    if (ra === rb) return undefined;
    const ua = this.unique.get(ra) ?? [];
    const ub = this.unique.get(rb) ?? [];
    if (!force) {
      for (const x of ua) {
        const clash = ub.find((y) => kindOf(y) === kindOf(x) && y !== x);
        if (clash) return x < clash ? [x, clash] : [clash, x];
      }
    }
    if ((this.size.get(ra) ?? 1) < (this.size.get(rb) ?? 1)) [ra, rb] = [rb, ra];
    this.parent.set(rb, ra);
    this.size.set(ra, (this.size.get(ra) ?? 1) + (this.size.get(rb) ?? 1));
    const merged = [...(this.unique.get(ra) ?? []), ...(this.unique.get(rb) ?? [])];
    if (merged.length) this.unique.set(ra, merged);
    this.unique.delete(rb);
    return undefined;
  }

  private buildMembers(): void {
    if (this.membersBuilt) return;
    for (const k of this.parent.keys()) {
      const r = this.find(k);
      const list = this.members.get(r);
      if (list) list.push(k);
      else this.members.set(r, [k]);
    }
    for (const list of this.members.values()) list.sort(compareIdKeys);
    this.membersBuilt = true;
  }

  /** Every identifier of the person `idKey` belongs to (just itself when no link names it). */
  idsOf(idKey: string): string[] {
    if (!this.parent.has(idKey)) return [idKey];
    this.buildMembers();
    return this.members.get(this.find(idKey)) ?? [idKey];
  }

  /** The person key of an identifier: the ID card if exactly one, else the first identifier in kind order. */
  personKeyOf(idKey: string): string {
    const ids = this.idsOf(idKey);
    const cards = ids.filter((k) => kindOf(k) === 'id_card');
    return cards.length === 1 ? cards[0] : ids[0];
  }

  /** Who `idKey` is, with every identifier and the unsettled conflicts touching them. */
  resolve(idKey: string): Resolution {
    const ids = this.idsOf(idKey);
    const set = new Set(ids);
    const conflicts = this.held.filter((c) => set.has(c.a) || set.has(c.b) || set.has(c.wouldJoin[0]) || set.has(c.wouldJoin[1]));
    return { personKey: this.personKeyOf(idKey), ids, conflicts };
  }

  /** Every person with two or more identifiers, each as their sorted identifiers (conflicting links not applied). */
  *groups(): IterableIterator<string[]> {
    this.buildMembers();
    for (const list of this.members.values()) if (list.length > 1) yield list;
  }

  /** Every link held back as a conflict, in link-key order. */
  conflicts(): IdentityConflict[] {
    return [...this.held];
  }

  /** Identifiers known from links. */
  get identifierCount(): number {
    return this.parent.size;
  }
}
