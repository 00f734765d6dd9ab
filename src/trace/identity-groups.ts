/**
 * @module Identity groups for the tracer: which identifier dictionary ids are one person, from the
 * store's identity links (union-find). Used until identity resolution offers its own groups; it
 * merges every link it is given, so links an analyst has not settled should not be passed in.
 */
import type { IdentityGroups, TraceDictionary } from './candidate-source.ts';
import type { IdentityLink } from '../domain/formats.ts';
import { idKey } from '../domain/formats.ts';

/** Union-find over identifier keys, then mapped to dictionary ids. */
export class LinkedIdentityGroups implements IdentityGroups {
  private readonly groups = new Map<number, number[]>();

  /** `members`: each person's identifier dictionary ids (persons with one identifier may be left out). */
  constructor(members: Iterable<readonly number[]>) {
    for (const m of members) {
      const sorted = [...new Set(m)].sort((a, b) => a - b);
      if (sorted.length < 2) continue;
      for (const id of sorted) this.groups.set(id, sorted);
    }
  }

  /** Identifiers with links: how many are grouped. */
  get linkedIdentifiers(): number {
    return this.groups.size;
  }

  groupOf(ident: number): readonly number[] {
    return this.groups.get(ident) ?? [ident];
  }

  /** Builds groups from identity links; identifiers the dictionary does not know are bridges only. */
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
    const byRoot = new Map<string, number[]>();
    for (const k of keys) {
      const id = ids.get(k);
      if (id === undefined) continue;
      const root = find(k);
      let g = byRoot.get(root);
      if (!g) byRoot.set(root, (g = []));
      g.push(id);
    }
    return new LinkedIdentityGroups(byRoot.values());
  }
}
