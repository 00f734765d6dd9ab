/**
 * @module Jurisdiction polygons for tests: axis-aligned boxes as GeoJSON features of the import format.
 */

/** A closed ring around the box west–east × south–north, as polygon coordinates. */
export function box(w: number, s: number, e: number, n: number): number[][][] {
  return [[[w, s], [e, s], [e, n], [w, n], [w, s]]];
}

/** One jurisdiction as a GeoJSON feature (`name` is the code followed by 单位 unless given). */
export function feature(code: string, level: string, parent: string | null, coords: number[][][], name = `${code}单位`): object {
  return { type: 'Feature', properties: { code, name, name_en: code, level, parent }, geometry: { type: 'Polygon', coordinates: coords } };
}

/** A FeatureCollection of jurisdictions, as the text an import reads. */
export function geoJson(features: readonly object[]): string {
  return JSON.stringify({ type: 'FeatureCollection', features });
}
