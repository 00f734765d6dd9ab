/**
 * @module Jurisdictions (辖区): the tree city bureau → district bureau → precinct → community, subtree
 * checks for access scope, and point-in-polygon assignment of a location to the deepest unit that
 * contains it. Pure: no stores, no I/O.
 */

export const JURISDICTION_LEVELS = ['city', 'district', 'precinct', 'community'] as const;
export type JurisdictionLevel = (typeof JURISDICTION_LEVELS)[number];

/** A GeoJSON ring: [lon, lat] positions, first equal to last. */
export type Ring = [number, number][];
/** The GeoJSON geometries a jurisdiction can have. */
export type Geometry = { type: 'Polygon'; coordinates: Ring[] } | { type: 'MultiPolygon'; coordinates: Ring[][] };

/** The scope of the built-in system actor: the whole tree. */
export const ALL_JURISDICTIONS = '*';

/** Who is acting: every service call names one, and its jurisdiction bounds what it may see. */
export interface Actor {
  userId: string;
  /** Role name (analyst, commander, precinct_officer, health_liaison, quarantine_staff, admin, auditor, system). */
  role: string;
  /** The actor's unit: they see its subtree only. */
  jurisdiction: string;
}

/** The built-in actor for sweeps and automatic steps (re-analysis): sees the whole tree. */
export function systemActor(): Actor {
  return { userId: 'system', role: 'system', jurisdiction: ALL_JURISDICTIONS };
}

export interface JurisdictionNode {
  code: string;
  name: string;
  nameEn: string | null;
  level: JurisdictionLevel;
  parent: string | null;
  geometry: Geometry | null;
}

/** Thrown when a tree is malformed (unknown parent, cycle, several roots, level out of order). */
export class JurisdictionTreeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'JurisdictionTreeError';
  }
}

interface Box {
  minLon: number;
  minLat: number;
  maxLon: number;
  maxLat: number;
}

function boxOf(g: Geometry): Box {
  const box = { minLon: Infinity, minLat: Infinity, maxLon: -Infinity, maxLat: -Infinity };
  const polys = g.type === 'Polygon' ? [g.coordinates] : g.coordinates;
  for (const poly of polys) {
    for (const [lon, lat] of poly[0] ?? []) {
      if (lon < box.minLon) box.minLon = lon;
      if (lon > box.maxLon) box.maxLon = lon;
      if (lat < box.minLat) box.minLat = lat;
      if (lat > box.maxLat) box.maxLat = lat;
    }
  }
  return box;
}

/** Even-odd ray casting; a point on an edge may fall either side, which is fine for assignment. */
function inRing(ring: Ring, lon: number, lat: number): boolean {
  let inside = false;
  for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
    const [xi, yi] = ring[i];
    const [xj, yj] = ring[j];
    if (yi > lat !== yj > lat && lon < ((xj - xi) * (lat - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}

/** True when (lon, lat) is inside the polygon (outer ring minus holes) or any part of a multipolygon. */
export function geometryContains(g: Geometry, lon: number, lat: number): boolean {
  const polys = g.type === 'Polygon' ? [g.coordinates] : g.coordinates;
  for (const poly of polys) {
    if (!poly.length || !inRing(poly[0], lon, lat)) continue;
    let inHole = false;
    for (let h = 1; h < poly.length; h++) if (inRing(poly[h], lon, lat)) inHole = true;
    if (!inHole) return true;
  }
  return false;
}

/** The jurisdiction tree, validated once, answering scope and location questions. */
export class JurisdictionTree {
  private readonly byCode = new Map<string, JurisdictionNode>();
  private readonly children = new Map<string, string[]>();
  private readonly boxes = new Map<string, Box>();
  readonly root: string;

  constructor(nodes: readonly JurisdictionNode[]) {
    for (const n of nodes) {
      if (this.byCode.has(n.code)) throw new JurisdictionTreeError(`jurisdiction ${n.code} appears twice`);
      this.byCode.set(n.code, n);
    }
    const roots = nodes.filter((n) => n.parent === null);
    if (nodes.length && roots.length !== 1) {
      throw new JurisdictionTreeError(`the tree needs exactly one root (a unit without parent), found ${roots.length}: ${roots.map((r) => r.code).join(', ')}`);
    }
    this.root = roots[0]?.code ?? '';
    for (const n of nodes) {
      if (n.parent === null) continue;
      const p = this.byCode.get(n.parent);
      if (!p) throw new JurisdictionTreeError(`jurisdiction ${n.code}: parent ${n.parent} is not in the tree`);
      if (JURISDICTION_LEVELS.indexOf(p.level) >= JURISDICTION_LEVELS.indexOf(n.level)) {
        throw new JurisdictionTreeError(`jurisdiction ${n.code} (${n.level}) cannot be under ${p.code} (${p.level})`);
      }
      const list = this.children.get(n.parent) ?? [];
      list.push(n.code);
      this.children.set(n.parent, list);
    }
    // Levels strictly increase downwards, so no cycle can exist once every parent is known.
    for (const n of nodes) if (n.geometry) this.boxes.set(n.code, boxOf(n.geometry));
  }

  get size(): number {
    return this.byCode.size;
  }

  get(code: string): JurisdictionNode | undefined {
    return this.byCode.get(code);
  }

  has(code: string): boolean {
    return this.byCode.has(code);
  }

  nodes(): JurisdictionNode[] {
    return [...this.byCode.values()];
  }

  parentOf(code: string): string | null {
    return this.byCode.get(code)?.parent ?? null;
  }

  childrenOf(code: string): string[] {
    return this.children.get(code) ?? [];
  }

  /** The unit and its ancestors up to the root, nearest first. */
  ancestors(code: string): string[] {
    const out: string[] = [];
    for (let c: string | null = code; c !== null && this.byCode.has(c); c = this.parentOf(c)) out.push(c);
    return out;
  }

  /** True when the scope is the whole tree: the root, or `*` (the built-in system actor). */
  isWhole(scope: string): boolean {
    return scope === ALL_JURISDICTIONS || (scope !== '' && scope === this.root);
  }

  /**
   * True when `code` is `scope` or below it. Unknown or missing codes (a person nobody could place)
   * are only in the whole tree's scope, so nothing unplaced is invisible to everyone.
   */
  inScope(scope: string, code: string | null | undefined): boolean {
    if (this.isWhole(scope)) return true;
    if (!code || !this.byCode.has(code) || !this.byCode.has(scope)) return false;
    for (let c: string | null = code; c !== null; c = this.parentOf(c)) if (c === scope) return true;
    return false;
  }

  /** Every code in the subtree of `scope`, itself included (`*`: the whole tree). */
  subtree(scope: string): string[] {
    if (scope === ALL_JURISDICTIONS) scope = this.root;
    if (!this.byCode.has(scope)) return [];
    const out: string[] = [];
    const stack = [scope];
    while (stack.length) {
      const c = stack.pop() as string;
      out.push(c);
      stack.push(...this.childrenOf(c));
    }
    return out;
  }

  /**
   * The deepest unit whose polygon contains the point, descending from the root so that a community
   * is only looked for inside its precinct. Null when outside every polygon. A unit without a polygon
   * is skipped on the way down (its children are still searched).
   */
  locate(lat: number, lon: number): string | null {
    if (!Number.isFinite(lat) || !Number.isFinite(lon)) return null;
    const contains = (code: string): boolean => {
      const n = this.byCode.get(code);
      const b = this.boxes.get(code);
      if (!n?.geometry || !b) return false;
      if (lon < b.minLon || lon > b.maxLon || lat < b.minLat || lat > b.maxLat) return false;
      return geometryContains(n.geometry, lon, lat);
    };
    const descend = (code: string): string | null => {
      for (const child of this.childrenOf(code)) {
        const n = this.byCode.get(child);
        if (!n) continue;
        if (n.geometry ? contains(child) : false) return descend(child) ?? child;
        if (!n.geometry) {
          const deeper = descend(child);
          if (deeper) return deeper;
        }
      }
      return null;
    };
    if (!this.root) return null;
    const rootNode = this.byCode.get(this.root);
    if (rootNode?.geometry && !contains(this.root)) return descend(this.root);
    return descend(this.root) ?? (rootNode?.geometry ? this.root : null);
  }

  /**
   * The responsible unit for a person or place: an explicit known jurisdiction wins; otherwise the
   * deepest polygon containing the coordinates; otherwise null.
   */
  assign(explicit: string | null | undefined, lat?: number | null, lon?: number | null): string | null {
    if (explicit && this.byCode.has(explicit)) return explicit;
    if (lat === null || lat === undefined || lon === null || lon === undefined) return null;
    return this.locate(lat, lon);
  }
}
