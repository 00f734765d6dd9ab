/**
 * @module Identity groups for the tracer: which identifier dictionary ids are one person — from
 * identity resolution's people (conflicts held back), or, without it, from every raw link (union-find).
 */
import type { IdentityGroups, TraceDictionary } from './candidate-source.ts';
import type { IdentityLink } from '../domain/formats.ts';
import { idKey } from '../domain/formats.ts';

/** Identifier ids past this are kept in the array's hash form (an array that long would be mostly holes). */
const DENSE_MAX = 1 << 26;

/** Union-find over identifier keys, then mapped to dictionary ids. */
export class LinkedIdentityGroups implements IdentityGroups {
  /** Group per identifier dictionary id (dense small integers: an array, not a hash map); absent for one-identifier persons. */
  private readonly groups: (number[] | undefined)[] = [];
  private linked = 0;
  private readonly extras = new Map<number, string[]>();
  /**
   * Person (smallest id of the group) per identifier id below its length, else -1: read once per
   * candidate, so a flat typed array, and ids past its end are never read out of an array's bounds
   * (which sends the engine down its slow path).
   */
  private readonly persons: Int32Array;

  /**
   * `members`: each person's identifier dictionary ids (persons with one identifier may be left out),
   * with the `kind:value` of their identifiers that have no dictionary id.
   */
  constructor(members: Iterable<readonly number[] | { ids: readonly number[]; extra: readonly string[] }>) {
    let denseLength = 0;
    for (const m of members) {
      const ids = 'extra' in m ? m.ids : m;
      const sorted = [...new Set(ids)].sort((a, b) => a - b);
      if (!sorted.length) continue;
      if ('extra' in m && m.extra.length) this.extras.set(sorted[0], [...m.extra]);
      if (sorted.length < 2) continue;
      for (const id of sorted) {
        // Grown in order, so the array stays a flat array (not a hash table) whatever order ids come in.
        if (Number.isInteger(id) && id >= 0 && id < DENSE_MAX) {
          while (this.groups.length <= id) this.groups.push(undefined);
          if (id >= denseLength) denseLength = id + 1;
        }
        if (this.groups[id] === undefined) this.linked++;
        this.groups[id] = sorted;
      }
    }
    this.persons = new Int32Array(denseLength).fill(-1);
    for (let id = 0; id < this.persons.length; id++) {
      const g = this.groups[id];
      if (g) this.persons[id] = g[0];
    }
  }

  extraIds(person: number): readonly string[] {
    return this.extras.get(person) ?? [];
  }

  /** Identifiers with links: how many are grouped. */
  get linkedIdentifiers(): number {
    return this.linked;
  }

  groupOf(ident: number): readonly number[] {
    return (ident >= 0 && ident < this.groups.length ? this.groups[ident] : undefined) ?? [ident];
  }

  personOf(ident: number): number {
    if (ident >= 0 && ident < this.persons.length) {
      const p = this.persons[ident];
      return p >= 0 ? p : ident;
    }
    // Past the dense ids: at most a few, kept in the array's hash form.
    return ident < this.groups.length ? (this.groups[ident]?.[0] ?? ident) : ident;
  }

  /**
   * Builds groups from identity resolution's people (`IdentityService.personGroups()`: conflicting
   * links held back, analysts' decisions applied), as `kind:value` lists.
   */
  static async fromPersonGroups(people: readonly (readonly string[])[], dict: TraceDictionary): Promise<LinkedIdentityGroups> {
    const keys = [...new Set(people.flat())];
    const ids = keys.length ? await dict.identifierIds(keys) : new Map<string, number>();
    return new LinkedIdentityGroups(people.map((g) => ({
      ids: g.map((k) => ids.get(k)).filter((id): id is number => id !== undefined),
      extra: g.filter((k) => !ids.has(k)),
    })));
  }

  /** Builds groups from raw identity links (every link merged). */
  static async fromLinks(links: AsyncIterable<IdentityLink[]> | Iterable<IdentityLink[]>, dict: TraceDictionary): Promise<LinkedIdentityGroups> {
    const parent = new Map<string, string>();
    const find = (x: string): string => {
      let root = x;
      for (;;) {
        const p = parent.get(root);
        if (p === undefined || p === root) break;
        root = p;
      }
      // Path compression keeps long chains of links cheap.
      let cur = x;
      while (cur !== root) {
        const next = parent.get(cur) ?? root;
        parent.set(cur, root);
        cur = next;
      }
      return root;
    };
    for await (const batch of links) {
      for (const l of batch) {
        const a = find(idKey(l.aKind, l.aValue));
        const b = find(idKey(l.bKind, l.bValue));
        if (!parent.has(a)) parent.set(a, a);
        if (!parent.has(b)) parent.set(b, b);
        if (a !== b) parent.set(a < b ? b : a, a < b ? a : b);
      }
    }
    const keys = [...parent.keys()];
    const ids = keys.length ? await dict.identifierIds(keys) : new Map<string, number>();
    const byRoot = new Map<string, { ids: number[]; extra: string[] }>();
    for (const k of keys) {
      const root = find(k);
      let g = byRoot.get(root);
      if (!g) byRoot.set(root, (g = { ids: [], extra: [] }));
      const id = ids.get(k);
      if (id === undefined) g.extra.push(k);
      else g.ids.push(id);
    }
    return new LinkedIdentityGroups(byRoot.values());
  }
}
