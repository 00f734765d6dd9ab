/**
 * @module Map geometry without any tile server: GeoJSON shapes, a local equirectangular projection
 * (good enough at city scale, where a degree of longitude is cos(lat) of a degree of latitude), the
 * pan/zoom view, label anchors and point-in-polygon for hit testing.
 */

export type Position = [number, number];
export interface PolygonGeometry { type: 'Polygon'; coordinates: Position[][] }
export interface MultiPolygonGeometry { type: 'MultiPolygon'; coordinates: Position[][][] }
export interface LineStringGeometry { type: 'LineString'; coordinates: Position[] }
export interface MultiLineStringGeometry { type: 'MultiLineString'; coordinates: Position[][] }
export interface PointGeometry { type: 'Point'; coordinates: Position }
export type Geometry = PolygonGeometry | MultiPolygonGeometry | LineStringGeometry | MultiLineStringGeometry | PointGeometry;

export interface Feature<P = Record<string, unknown>> { type: 'Feature'; geometry: Geometry | null; properties: P }
export interface FeatureCollection<P = Record<string, unknown>> { type: 'FeatureCollection'; features: Feature<P>[] }

/** Properties of a jurisdiction polygon as the synthetic city and the jurisdiction import write them. */
export interface JurisdictionProps { code: string; name: string; name_en?: string; level: string; parent?: string | null }

export interface Bounds { minLon: number; minLat: number; maxLon: number; maxLat: number }

/**
 * The view: the map centre in degrees, the scale in pixels per degree of latitude, and the width of a
 * degree of longitude relative to one of latitude, fixed when the view is fitted so that panning north
 * does not stretch the map.
 */
export interface View { lon: number; lat: number; scale: number; k: number }

export function emptyBounds(): Bounds {
  return { minLon: Infinity, minLat: Infinity, maxLon: -Infinity, maxLat: -Infinity };
}

export function extend(b: Bounds, p: Position): void {
  if (p[0] < b.minLon) b.minLon = p[0];
  if (p[0] > b.maxLon) b.maxLon = p[0];
  if (p[1] < b.minLat) b.minLat = p[1];
  if (p[1] > b.maxLat) b.maxLat = p[1];
}

/** Every ring or line of a geometry, so drawing and bounds need not switch on the type again. */
export function rings(g: Geometry): Position[][] {
  switch (g.type) {
    case 'Polygon': return g.coordinates;
    case 'MultiPolygon': return g.coordinates.flat();
    case 'LineString': return [g.coordinates];
    case 'MultiLineString': return g.coordinates;
    case 'Point': return [[g.coordinates]];
  }
}

export function boundsOf(features: readonly Feature<unknown>[]): Bounds {
  const b = emptyBounds();
  for (const f of features) {
    if (!f.geometry) continue;
    for (const ring of rings(f.geometry)) for (const p of ring) extend(b, p);
  }
  return b;
}

export function isEmpty(b: Bounds): boolean {
  return !(b.minLon <= b.maxLon && b.minLat <= b.maxLat);
}

/** Horizontal shrink of a degree of longitude at this latitude. */
export function lonFactor(lat: number): number {
  return Math.cos((lat * Math.PI) / 180);
}

/** The view that shows the bounds inside width × height with a margin. */
export function fitView(b: Bounds, width: number, height: number, margin = 16): View {
  if (isEmpty(b)) return { lon: 121.55, lat: 29.87, scale: 200, k: lonFactor(29.87) };
  const lat = (b.minLat + b.maxLat) / 2;
  const lon = (b.minLon + b.maxLon) / 2;
  const k = lonFactor(lat);
  const spanX = Math.max((b.maxLon - b.minLon) * k, 1e-6);
  const spanY = Math.max(b.maxLat - b.minLat, 1e-6);
  const scale = Math.min((width - 2 * margin) / spanX, (height - 2 * margin) / spanY);
  return { lon, lat, scale: Math.max(scale, 1), k };
}

/** Projects degrees to screen pixels for a view on a width × height canvas. */
export function project(v: View, width: number, height: number, lon: number, lat: number): [number, number] {
  const k = v.k;
  return [width / 2 + (lon - v.lon) * k * v.scale, height / 2 - (lat - v.lat) * v.scale];
}

export function unproject(v: View, width: number, height: number, x: number, y: number): [number, number] {
  const k = v.k;
  return [v.lon + (x - width / 2) / (k * v.scale), v.lat - (y - height / 2) / v.scale];
}

/** Zooms by a factor keeping the point under (x, y) fixed, as people expect from a wheel zoom. */
export function zoomAt(v: View, width: number, height: number, x: number, y: number, factor: number, minScale = 10, maxScale = 2_000_000): View {
  const scale = Math.min(maxScale, Math.max(minScale, v.scale * factor));
  const [lon, lat] = unproject(v, width, height, x, y);
  const k = v.k;
  return { k, scale, lon: lon - (x - width / 2) / (k * scale), lat: lat + (y - height / 2) / scale };
}

export function panBy(v: View, dx: number, dy: number): View {
  const k = v.k;
  return { ...v, lon: v.lon - dx / (k * v.scale), lat: v.lat + dy / v.scale };
}

/** Ray casting on one ring. */
function inRing(ring: Position[], lon: number, lat: number): boolean {
  let inside = false;
  for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
    const [xi, yi] = ring[i];
    const [xj, yj] = ring[j];
    if ((yi > lat) !== (yj > lat) && lon < ((xj - xi) * (lat - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}

/** Whether a point is inside a polygon (outer ring minus holes) or any part of a multipolygon. */
export function contains(g: Geometry, lon: number, lat: number): boolean {
  const polygons = g.type === 'Polygon' ? [g.coordinates] : g.type === 'MultiPolygon' ? g.coordinates : [];
  return polygons.some((poly) => poly.length > 0 && inRing(poly[0], lon, lat) && !poly.slice(1).some((hole) => inRing(hole, lon, lat)));
}

/**
 * Where to put a polygon's label: the area-weighted centroid of its largest outer ring, or the ring's
 * bounding-box centre when the centroid falls outside (a crescent-shaped district).
 */
export function labelAnchor(g: Geometry): Position | undefined {
  const polygons = g.type === 'Polygon' ? [g.coordinates] : g.type === 'MultiPolygon' ? g.coordinates : [];
  let best: { area: number; c: Position; ring: Position[] } | undefined;
  for (const poly of polygons) {
    const ring = poly[0];
    if (!ring || ring.length < 3) continue;
    let a = 0, cx = 0, cy = 0;
    for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
      const f = ring[j][0] * ring[i][1] - ring[i][0] * ring[j][1];
      a += f;
      cx += (ring[j][0] + ring[i][0]) * f;
      cy += (ring[j][1] + ring[i][1]) * f;
    }
    if (a === 0) continue;
    const c: Position = [cx / (3 * a), cy / (3 * a)];
    if (!best || Math.abs(a) > best.area) best = { area: Math.abs(a), c, ring };
  }
  if (!best) return undefined;
  if (inRing(best.ring, best.c[0], best.c[1])) return best.c;
  const b = emptyBounds();
  for (const p of best.ring) extend(b, p);
  return [(b.minLon + b.maxLon) / 2, (b.minLat + b.maxLat) / 2];
}
