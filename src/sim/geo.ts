/**
 * @module Geography of the synthetic city: a 0.01° raster over the bounding box, partitioned into
 * district → precinct → community regions (nested Voronoi around seeds), traced into GeoJSON
 * polygons that tile the box exactly; roads; checkpoints; the 800 m telecom grid.
 */
import { BBOX, CITY, COMMUNITY_WORDS, DISTRICTS } from './names.ts';
import type { Rng } from './prng.ts';

const STEP = 0.01;
export const RASTER_COLS = Math.round((BBOX.east - BBOX.west) / STEP);
export const RASTER_ROWS = Math.round((BBOX.north - BBOX.south) / STEP);
/** Longitude degrees are shorter than latitude degrees here; Voronoi distances use this factor. */
const LON_SCALE = Math.cos((29.7 * Math.PI) / 180);

export type JurisdictionLevel = 'city' | 'district' | 'precinct' | 'community';

export interface JurisdictionProps {
  code: string;
  name: string;
  name_en: string;
  level: JurisdictionLevel;
  parent: string | null;
}

export type Ring = Array<[number, number]>;
export type Geometry = { type: 'Polygon'; coordinates: Ring[] } | { type: 'MultiPolygon'; coordinates: Ring[][] };

export interface Community {
  index: number;
  code: string;
  name: string;
  nameEn: string;
  district: number;
  precinct: number;
  /** Raster cells of the community (row * RASTER_COLS + col). */
  cells: Int32Array;
}

export interface Precinct {
  code: string;
  name: string;
  nameEn: string;
  district: number;
  cells: number[];
}

export interface CityGeography {
  precincts: Precinct[];
  communities: Community[];
  /** Raster cell → community index. */
  communityOfCell: Int32Array;
  /** Raster cell → district index. */
  districtOfCell: Uint8Array;
  /** GeoJSON features of every jurisdiction, city first. */
  features: Array<{ type: 'Feature'; properties: JurisdictionProps; geometry: Geometry }>;
}

function cellCentre(cell: number): [number, number] {
  const r = Math.floor(cell / RASTER_COLS);
  const c = cell - r * RASTER_COLS;
  return [BBOX.west + (c + 0.5) * STEP, BBOX.south + (r + 0.5) * STEP];
}

/** Raster cell of a point (clamped to the box). */
export function rasterCell(lon: number, lat: number): number {
  const c = Math.min(RASTER_COLS - 1, Math.max(0, Math.floor((lon - BBOX.west) / STEP)));
  const r = Math.min(RASTER_ROWS - 1, Math.max(0, Math.floor((lat - BBOX.south) / STEP)));
  return r * RASTER_COLS + c;
}

/**
 * Assigns every cell in `cells` to its nearest seed; returns the groups. With weights, distances are
 * divided by them (a multiplicatively weighted Voronoi), so big districts stay big.
 */
function voronoi(cells: readonly number[], seeds: ReadonlyArray<[number, number]>, weights?: readonly number[]): number[][] {
  const groups: number[][] = seeds.map(() => []);
  for (const cell of cells) {
    const [lon, lat] = cellCentre(cell);
    let best = 0;
    let bestD = Infinity;
    for (let s = 0; s < seeds.length; s++) {
      const dx = (lon - seeds[s][0]) * LON_SCALE;
      const dy = lat - seeds[s][1];
      const w = weights ? weights[s] : 1;
      const d = (dx * dx + dy * dy) / (w * w);
      if (d < bestD) {
        bestD = d;
        best = s;
      }
    }
    groups[best].push(cell);
  }
  return groups;
}

/** Picks k distinct seed points among the cells (spread out: each next seed is the farthest of a few candidates). */
function pickSeeds(cells: readonly number[], k: number, rng: Rng): Array<[number, number]> {
  const seeds: Array<[number, number]> = [];
  for (let i = 0; i < k; i++) {
    let best: [number, number] = cellCentre(cells[rng.int(cells.length)]);
    let bestD = -1;
    for (let t = 0; t < 8 && seeds.length > 0; t++) {
      const cand = cellCentre(cells[rng.int(cells.length)]);
      let d = Infinity;
      for (const s of seeds) d = Math.min(d, ((cand[0] - s[0]) * LON_SCALE) ** 2 + (cand[1] - s[1]) ** 2);
      if (d > bestD) {
        bestD = d;
        best = cand;
      }
    }
    seeds.push(best);
  }
  return seeds;
}

const round4 = (x: number): number => Math.round(x * 1e4) / 1e4;

/**
 * Traces the outline of a set of raster cells into GeoJSON rings: counter-clockwise outer rings,
 * clockwise holes, collinear vertices removed. Pinch points are resolved by always turning left,
 * so rings never cross.
 */
export function traceRegion(cells: readonly number[]): Geometry {
  const inRegion = new Set(cells);
  const W = RASTER_COLS + 1;
  const has = (c: number, r: number): boolean => c >= 0 && r >= 0 && c < RASTER_COLS && r < RASTER_ROWS && inRegion.has(r * RASTER_COLS + c);
  const out = new Map<number, number[]>();
  const add = (a: number, b: number): void => {
    const l = out.get(a);
    if (l) l.push(b);
    else out.set(a, [b]);
  };
  for (const cell of cells) {
    const r = Math.floor(cell / RASTER_COLS);
    const c = cell - r * RASTER_COLS;
    const v00 = r * W + c;
    const v10 = v00 + 1;
    const v11 = v00 + W + 1;
    const v01 = v00 + W;
    if (!has(c, r - 1)) add(v00, v10);
    if (!has(c + 1, r)) add(v10, v11);
    if (!has(c, r + 1)) add(v11, v01);
    if (!has(c - 1, r)) add(v01, v00);
  }
  const xy = (v: number): [number, number] => [v % W, Math.floor(v / W)];
  const rings: Array<Array<[number, number]>> = [];
  for (const start of [...out.keys()].sort((a, b) => a - b)) {
    while ((out.get(start)?.length ?? 0) > 0) {
      const ring: Array<[number, number]> = [xy(start)];
      let prev = start;
      let cur = out.get(start)!.pop()!;
      while (cur !== start) {
        ring.push(xy(cur));
        const options = out.get(cur)!;
        let pick = 0;
        if (options.length > 1) {
          // Leftmost turn relative to the incoming direction.
          const [px, py] = xy(prev);
          const [cx, cy] = xy(cur);
          const din = [cx - px, cy - py];
          let bestScore = -Infinity;
          for (let i = 0; i < options.length; i++) {
            const [nx, ny] = xy(options[i]);
            const dout = [nx - cx, ny - cy];
            const cross = din[0] * dout[1] - din[1] * dout[0];
            const dot = din[0] * dout[0] + din[1] * dout[1];
            const score = cross * 2 + dot;
            if (score > bestScore) {
              bestScore = score;
              pick = i;
            }
          }
        }
        const next = options.splice(pick, 1)[0];
        prev = cur;
        cur = next;
      }
      rings.push(simplify(ring));
    }
  }
  const toLonLat = (ring: Array<[number, number]>): Ring => {
    const pts: Ring = ring.map(([x, y]) => [round4(BBOX.west + x * STEP), round4(BBOX.south + y * STEP)]);
    pts.push(pts[0]);
    return pts;
  };
  const outers: Array<Array<[number, number]>> = [];
  const holes: Array<Array<[number, number]>> = [];
  for (const ring of rings) (signedArea(ring) > 0 ? outers : holes).push(ring);
  const polys: Array<Array<Array<[number, number]>>> = outers.map((o) => [o]);
  for (const h of holes) {
    const owner = polys.find((p) => pointInRing(h[0][0] + 0.5, h[0][1] - 0.5, p[0]) || pointInRing(h[0][0] - 0.5, h[0][1] + 0.5, p[0]));
    (owner ?? polys[0]).push(h);
  }
  if (polys.length === 1) return { type: 'Polygon', coordinates: polys[0].map(toLonLat) };
  return { type: 'MultiPolygon', coordinates: polys.map((p) => p.map(toLonLat)) };
}

function simplify(ring: Array<[number, number]>): Array<[number, number]> {
  const n = ring.length;
  const keep: Array<[number, number]> = [];
  for (let i = 0; i < n; i++) {
    const a = ring[(i + n - 1) % n];
    const b = ring[i];
    const c = ring[(i + 1) % n];
    if ((b[0] - a[0]) * (c[1] - b[1]) - (b[1] - a[1]) * (c[0] - b[0]) !== 0) keep.push(b);
  }
  return keep;
}

function signedArea(ring: ReadonlyArray<[number, number]>): number {
  let s = 0;
  for (let i = 0; i < ring.length; i++) {
    const [x1, y1] = ring[i];
    const [x2, y2] = ring[(i + 1) % ring.length];
    s += x1 * y2 - x2 * y1;
  }
  return s / 2;
}

/** Even-odd point-in-ring test (ring without closing point or with, both work). */
export function pointInRing(x: number, y: number, ring: ReadonlyArray<readonly [number, number]>): boolean {
  let inside = false;
  for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
    const [xi, yi] = ring[i];
    const [xj, yj] = ring[j];
    if (yi > y !== yj > y && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}

/** Builds the jurisdiction tree and its polygons. `communitiesPerPrecinct` grows with the population. */
export function buildGeography(rng: Rng, communitiesPerPrecinct: number): CityGeography {
  const all: number[] = [];
  for (let i = 0; i < RASTER_COLS * RASTER_ROWS; i++) all.push(i);
  const districtCells = voronoi(all, DISTRICTS.map((d) => [d.lon, d.lat] as [number, number]), DISTRICTS.map((d) => Math.sqrt(d.area)));
  const districtOfCell = new Uint8Array(all.length);
  const communityOfCell = new Int32Array(all.length);
  const precincts: Precinct[] = [];
  const communities: Community[] = [];
  const features: CityGeography['features'] = [];
  features.push({
    type: 'Feature',
    properties: { code: CITY.code, name: CITY.name, name_en: CITY.nameEn, level: 'city', parent: null },
    geometry: { type: 'Polygon', coordinates: [[[BBOX.west, BBOX.south], [BBOX.east, BBOX.south], [BBOX.east, BBOX.north], [BBOX.west, BBOX.north], [BBOX.west, BBOX.south]]] },
  });
  DISTRICTS.forEach((d, di) => {
    const cells = districtCells[di];
    for (const c of cells) districtOfCell[c] = di;
    features.push({
      type: 'Feature',
      properties: { code: d.code, name: `${d.name}分局`, name_en: `${d.nameEn} District Bureau`, level: 'district', parent: CITY.code },
      geometry: traceRegion(cells),
    });
    const pSeeds = pickSeeds(cells, d.precincts.length, rng);
    const pCells = voronoi(cells, pSeeds);
    d.precincts.forEach(([pname, pEn], pi) => {
      const cellsP = pCells[pi].length > 0 ? pCells[pi] : [cells[pi % cells.length]];
      const pcode = `${d.code}${String(pi + 1).padStart(2, '0')}`;
      const precinctIndex = precincts.length;
      precincts.push({ code: pcode, name: `${pname}派出所`, nameEn: `${pEn} Police Station`, district: di, cells: cellsP });
      features.push({
        type: 'Feature',
        properties: { code: pcode, name: `${pname}派出所`, name_en: `${pEn} Police Station`, level: 'precinct', parent: d.code },
        geometry: traceRegion(cellsP),
      });
      const k = Math.max(1, Math.min(communitiesPerPrecinct, cellsP.length));
      const cSeeds = pickSeeds(cellsP, k, rng);
      const cCells = voronoi(cellsP, cSeeds);
      let wordIndex = rng.int(COMMUNITY_WORDS.length);
      for (let ci = 0; ci < k; ci++) {
        if (cCells[ci].length === 0) continue;
        const [w, wEn] = COMMUNITY_WORDS[wordIndex++ % COMMUNITY_WORDS.length];
        const code = `${pcode}${String(ci + 1).padStart(3, '0')}`;
        const index = communities.length;
        for (const c of cCells[ci]) communityOfCell[c] = index;
        communities.push({ index, code, name: `${pname}${w}社区`, nameEn: `${pEn} ${wEn} Community`, district: di, precinct: precinctIndex, cells: Int32Array.from(cCells[ci]) });
        features.push({
          type: 'Feature',
          properties: { code, name: `${pname}${w}社区`, name_en: `${pEn} ${wEn} Community`, level: 'community', parent: pcode },
          geometry: traceRegion(cCells[ci]),
        });
      }
    });
  });
  return { precincts, communities, communityOfCell, districtOfCell, features };
}

/** A uniformly random point inside a community, rounded to 6 decimals (≈ 0.1 m). */
export function randomPointIn(community: Community, rng: Rng): [number, number] {
  const cell = community.cells[rng.int(community.cells.length)];
  const r = Math.floor(cell / RASTER_COLS);
  const c = cell - r * RASTER_COLS;
  const lon = BBOX.west + (c + 0.02 + rng.float() * 0.96) * STEP;
  const lat = BBOX.south + (r + 0.02 + rng.float() * 0.96) * STEP;
  return [Math.round(lon * 1e6) / 1e6, Math.round(lat * 1e6) / 1e6];
}

/** The 800 m × 800 m telecom grid over the bounding box. */
export const TELECOM = {
  cellLat: 0.8 / 111.32,
  cellLon: 0.8 / (111.32 * LON_SCALE),
};
export const TELECOM_COLS = Math.ceil((BBOX.east - BBOX.west) / TELECOM.cellLon);
export const TELECOM_ROWS = Math.ceil((BBOX.north - BBOX.south) / TELECOM.cellLat);

/** Telecom grid cell index of a point. */
export function telecomCell(lon: number, lat: number): number {
  const c = Math.min(TELECOM_COLS - 1, Math.max(0, Math.floor((lon - BBOX.west) / TELECOM.cellLon)));
  const r = Math.min(TELECOM_ROWS - 1, Math.max(0, Math.floor((lat - BBOX.south) / TELECOM.cellLat)));
  return r * TELECOM_COLS + c;
}

/** Stable id of a telecom grid cell, `NB800-RRR-CCC` (row from the south edge, column from the west). */
export function telecomCellId(cell: number): string {
  const r = Math.floor(cell / TELECOM_COLS);
  const c = cell - r * TELECOM_COLS;
  return `NB800-${String(r).padStart(3, '0')}-${String(c).padStart(3, '0')}`;
}

/** Centre of a telecom grid cell. */
export function telecomCellCentre(cell: number): [number, number] {
  const r = Math.floor(cell / TELECOM_COLS);
  const c = cell - r * TELECOM_COLS;
  return [round6(BBOX.west + (c + 0.5) * TELECOM.cellLon), round6(BBOX.south + (r + 0.5) * TELECOM.cellLat)];
}

const round6 = (x: number): number => Math.round(x * 1e6) / 1e6;

export interface Road {
  name: string;
  kind: 'ring' | 'highway';
  coordinates: Array<[number, number]>;
}

/** Highways between district centres (by district index) and a ring road around the urban core. */
const HIGHWAYS: ReadonlyArray<readonly [string, readonly number[]]> = [
  ['G15 沈海高速', [7, 6, 0, 4, 5, 8]],
  ['G1501 绕城高速东段', [1, 2, 3]],
  ['S20 穿山疏港高速', [4, 3]],
  ['G1523 甬莞高速', [5, 9]],
  ['杭州湾跨海大桥连接线', [7, 1]],
];

export function buildRoads(): Road[] {
  const roads: Road[] = [];
  const ring: Array<[number, number]> = [];
  for (let i = 0; i <= 32; i++) {
    const a = (i / 32) * 2 * Math.PI;
    ring.push([round4(121.55 + 0.085 * Math.cos(a)), round4(29.88 + 0.07 * Math.sin(a))]);
  }
  roads.push({ name: 'G1501 宁波绕城高速', kind: 'ring', coordinates: ring });
  for (const [name, stops] of HIGHWAYS) {
    roads.push({ name, kind: 'highway', coordinates: stops.map((i) => [DISTRICTS[i].lon, DISTRICTS[i].lat]) });
  }
  return roads;
}

/** Highway checkpoints: one at the middle of every highway segment. */
export function buildCheckpoints(): Array<{ name: string; lon: number; lat: number }> {
  const out: Array<{ name: string; lon: number; lat: number }> = [];
  for (const [name, stops] of HIGHWAYS) {
    for (let i = 0; i + 1 < stops.length; i++) {
      const a = DISTRICTS[stops[i]];
      const b = DISTRICTS[stops[i + 1]];
      out.push({ name: `${name.split(' ')[0]} ${a.name}—${b.name}检查站`, lon: round6((a.lon + b.lon) / 2), lat: round6((a.lat + b.lat) / 2) });
    }
  }
  return out;
}
