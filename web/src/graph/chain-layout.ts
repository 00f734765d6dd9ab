/**
 * @module Layout of the transmission chain: cases in layers by generation (who infected whom), siblings
 * infected at the same place kept side by side as a place cluster, and each case's contacts folded into
 * one node per place until the case is expanded. Linear-time apart from one sort per layer, so 5,000
 * cases and 20,000 contacts lay out in milliseconds without a force simulation.
 */

export interface ChainNode {
  id: string;
  kind: 'case' | 'contact';
  label: string;
  /** Case status (confirmed, asymptomatic, suspected) or contact category (close, secondary, …). */
  status?: string;
}

/** `from` exposed or infected `to` at `place`. Case → case edges make the chain; case → contact edges its contacts. */
export interface ChainEdge { from: string; to: string; place?: string }

export interface ChainGraphData { nodes: ChainNode[]; edges: ChainEdge[] }

export interface LaidNode {
  id: string;
  kind: 'case' | 'contact' | 'cluster';
  label: string;
  status?: string;
  x: number;
  y: number;
  r: number;
  /** For a case: how many contacts it has; for a cluster: how many contacts it holds. */
  count: number;
  /** The case a contact or cluster hangs from. */
  parent?: string;
  place?: string;
}

export interface PlaceBand { place: string; x0: number; x1: number; y: number; size: number }

export interface ChainLayout {
  nodes: LaidNode[];
  /** Index pairs into `nodes`. */
  edges: [number, number][];
  bands: PlaceBand[];
  bounds: { x0: number; y0: number; x1: number; y1: number };
  cases: number;
  contacts: number;
  clusters: number;
  /** Generations drawn as rings around the first cases rather than as rows. */
  radial: boolean;
}

export const LAYER_GAP = 220;
const GOLDEN_ANGLE = Math.PI * (3 - Math.sqrt(5));
/** Rows turn into rings when the widest row is this many times the depth of the chain. */
const RADIAL_RATIO = 6;
const SEVERITY: Record<string, number> = { close: 0, secondary: 1, companion: 2, general: 3 };
export const CASE_GAP = 34;

/** The id of the folded node for the contacts of `caseId` at `place`. */
export function clusterId(caseId: string, place: string): string {
  return `cluster:${caseId}:${place}`;
}

/**
 * Lays out the chain. `expanded` holds case ids whose contacts are shown (as place clusters) and cluster
 * ids whose contacts are shown one by one.
 */
export function layoutChain(data: ChainGraphData, expanded: ReadonlySet<string>): ChainLayout {
  const byId = new Map(data.nodes.map((n) => [n.id, n]));
  const isCase = (id: string): boolean => byId.get(id)?.kind === 'case';
  const infector = new Map<string, { from: string; place: string }>();
  const childCases = new Map<string, string[]>();
  const contactsOf = new Map<string, Map<string, string[]>>();
  for (const e of data.edges) {
    if (!byId.has(e.from) || !byId.has(e.to) || !isCase(e.from)) continue;
    const place = e.place ?? '';
    if (isCase(e.to)) {
      if (infector.has(e.to) || e.to === e.from) continue; // the first named infector wins; a cycle is cut here
      infector.set(e.to, { from: e.from, place });
      const list = childCases.get(e.from) ?? [];
      list.push(e.to);
      childCases.set(e.from, list);
    } else {
      const m = contactsOf.get(e.from) ?? new Map<string, string[]>();
      const list = m.get(place) ?? [];
      list.push(e.to);
      m.set(place, list);
      contactsOf.set(e.from, m);
    }
  }

  // Generations by breadth-first search from the cases nobody infected; cases caught in a cycle start a tree.
  const caseIds = data.nodes.filter((n) => n.kind === 'case').map((n) => n.id);
  const layerOf = new Map<string, number>();
  const layers: string[][] = [];
  const visit = (roots: string[]): void => {
    let frontier = roots;
    let depth = 0;
    while (frontier.length) {
      const next: string[] = [];
      for (const id of frontier) {
        if (layerOf.has(id)) continue;
        const d = Math.max(depth, 0);
        layerOf.set(id, d);
        (layers[d] ??= []).push(id);
        for (const c of childCases.get(id) ?? []) if (!layerOf.has(c)) next.push(c);
      }
      frontier = next;
      depth++;
    }
  };
  visit(caseIds.filter((id) => !infector.has(id)).sort());
  visit(caseIds.filter((id) => !layerOf.has(id)).sort());

  // Order each layer by the parent's position, then by place, so siblings from one place sit together.
  const xOf = new Map<string, number>();
  const bands: PlaceBand[] = [];
  layers.forEach((layer, depth) => {
    const keyed = layer.map((id) => {
      const inf = infector.get(id);
      return { id, px: inf ? xOf.get(inf.from) ?? 0 : 0, place: inf?.place ?? '' };
    });
    keyed.sort((a, b) => a.px - b.px || (a.place < b.place ? -1 : a.place > b.place ? 1 : 0) || (a.id < b.id ? -1 : 1));
    // Each case wants to sit under its infector; a left-to-right sweep keeps the minimum gap, then the
    // layer shifts so that, on average, children stay centred under their parents.
    const xs = new Float64Array(keyed.length);
    let shift = 0;
    keyed.forEach((k, i) => {
      const want = depth === 0 ? i * CASE_GAP : k.px;
      xs[i] = i === 0 ? want : Math.max(want, xs[i - 1] + CASE_GAP);
      shift += want - xs[i];
    });
    shift /= Math.max(1, keyed.length);
    keyed.forEach((k, i) => xOf.set(k.id, xs[i] + shift));
    // Runs of siblings sharing a parent and a place become a band labelled with the place.
    let start = 0;
    for (let i = 1; i <= keyed.length; i++) {
      const same = i < keyed.length && keyed[i].place === keyed[start].place && infector.get(keyed[i].id)?.from === infector.get(keyed[start].id)?.from;
      if (!same) {
        if (i - start >= 2 && keyed[start].place) {
          bands.push({ place: keyed[start].place, x0: xOf.get(keyed[start].id)! - CASE_GAP / 2, x1: xOf.get(keyed[i - 1].id)! + CASE_GAP / 2, y: depth * LAYER_GAP, size: i - start });
        }
        start = i;
      }
    }
  });

  // A chain far wider than deep (thousands of cases in a few generations) becomes a thin sliver when
  // fitted; bent into rings (one ring per generation, the order kept as the angle) it fills the screen.
  let minX = Infinity, maxX = -Infinity;
  for (const x of xOf.values()) { minX = Math.min(minX, x); maxX = Math.max(maxX, x); }
  const span = maxX - minX + CASE_GAP;
  const radial = layers.length > 1 && span > RADIAL_RATIO * layers.length * LAYER_GAP;
  const ringRadius: number[] = [];
  if (radial) {
    // The outer ring holds the whole order at the usual gap; generations sit at even steps inside it.
    const outer = span / (2 * Math.PI);
    const last = layers.length - 1;
    layers.forEach((layer, depth) => {
      const even = (outer * (depth + (layers[0].length > 1 ? 1 : 0))) / (last + (layers[0].length > 1 ? 1 : 0));
      ringRadius.push(Math.max(even, depth * LAYER_GAP));
    });
  }
  const place = (id: string): { x: number; y: number } => {
    const depth = layerOf.get(id) ?? 0;
    const x = xOf.get(id) ?? 0;
    if (!radial) return { x, y: depth * LAYER_GAP };
    const angle = ((x - minX) / span) * 2 * Math.PI - Math.PI / 2;
    return { x: Math.cos(angle) * ringRadius[depth], y: Math.sin(angle) * ringRadius[depth] };
  };

  const nodes: LaidNode[] = [];
  const index = new Map<string, number>();
  const edges: [number, number][] = [];
  const add = (n: LaidNode): number => {
    index.set(n.id, nodes.length);
    nodes.push(n);
    return nodes.length - 1;
  };
  let contacts = 0;
  let clusters = 0;
  for (const id of caseIds) {
    const n = byId.get(id)!;
    const count = [...(contactsOf.get(id)?.values() ?? [])].reduce((a, l) => a + l.length, 0);
    contacts += count;
    add({ id, kind: 'case', label: n.label, status: n.status, ...place(id), r: 7 + Math.min(6, Math.sqrt(count)), count });
  }
  for (const [child, inf] of infector) {
    const a = index.get(inf.from), b = index.get(child);
    if (a !== undefined && b !== undefined) edges.push([a, b]);
  }
  // Expanded cases: one cluster per place on a fan below the case; expanded clusters: their contacts on a ring.
  for (const id of caseIds) {
    if (!expanded.has(id)) continue;
    const places = [...(contactsOf.get(id) ?? new Map<string, string[]>()).entries()].sort((a, b) => b[1].length - a[1].length);
    const ci = index.get(id)!;
    const cx = nodes[ci].x, cy = nodes[ci].y;
    places.forEach(([place, members], i) => {
      // A sunflower spiral around the case (largest clusters nearest): dense, even, and no two clusters
      // land on the same spot however many places there are.
      const angle = Math.PI / 2 + i * GOLDEN_ANGLE;
      const dist = 46 + 24 * Math.sqrt(i);
      const cid = clusterId(id, place);
      const x = cx + Math.cos(angle) * dist, y = cy + Math.sin(angle) * dist;
      // A cluster takes the most severe category among its contacts, so close-contact places stand out.
      const status = members.map((m) => byId.get(m)?.status ?? '').sort((a, b) => (SEVERITY[a] ?? 9) - (SEVERITY[b] ?? 9))[0];
      const k = add({ id: cid, kind: 'cluster', label: place || '—', status, x, y, r: 5 + Math.min(9, Math.sqrt(members.length) * 1.5), count: members.length, parent: id, place });
      clusters++;
      edges.push([ci, k]);
      if (!expanded.has(cid)) return;
      members.forEach((m, j) => {
        const a = (j / members.length) * Math.PI * 2;
        const rr = 22 + Math.sqrt(members.length) * 5;
        const node = byId.get(m)!;
        const mi = add({ id: m, kind: 'contact', label: node.label, status: node.status, x: x + Math.cos(a) * rr, y: y + Math.sin(a) * rr, r: 4, count: 0, parent: id, place });
        edges.push([k, mi]);
      });
    });
  }
  const b = { x0: Infinity, y0: Infinity, x1: -Infinity, y1: -Infinity };
  for (const n of nodes) {
    b.x0 = Math.min(b.x0, n.x - n.r); b.x1 = Math.max(b.x1, n.x + n.r);
    b.y0 = Math.min(b.y0, n.y - n.r); b.y1 = Math.max(b.y1, n.y + n.r);
  }
  if (nodes.length === 0) Object.assign(b, { x0: -1, y0: -1, x1: 1, y1: 1 });
  // Place bands belong to the straight layers; in rings the place clusters of contacts remain.
  return { nodes, edges, bands: radial ? [] : bands, bounds: b, cases: caseIds.length, contacts, clusters, radial };
}

/** The laid-out node under a point, preferring the smallest (a contact on top of its cluster). */
export function hitTest(layout: ChainLayout, x: number, y: number, slack = 0): LaidNode | undefined {
  let best: LaidNode | undefined;
  for (const n of layout.nodes) {
    const dx = n.x - x, dy = n.y - y;
    const r = n.r + slack;
    if (dx * dx + dy * dy <= r * r && (!best || n.r < best.r)) best = n;
  }
  return best;
}
