import { describe, expect, it } from 'vitest';
import { geometryContains, JurisdictionTree, JurisdictionTreeError, type Geometry, type JurisdictionNode, type Ring } from './jurisdiction.ts';

const ring = (w: number, s: number, e: number, n: number): Ring => [[w, s], [e, s], [e, n], [w, n], [w, s]];
const box = (w: number, s: number, e: number, n: number): Geometry => ({ type: 'Polygon', coordinates: [ring(w, s, e, n)] });

// A city split in two districts (west/east), the west one in two precincts, one precinct with a community.
const nodes: JurisdictionNode[] = [
  { code: 'CITY', name: '市局', nameEn: null, level: 'city', parent: null, geometry: box(0, 0, 2, 1) },
  { code: 'D1', name: '西分局', nameEn: null, level: 'district', parent: 'CITY', geometry: box(0, 0, 1, 1) },
  { code: 'D2', name: '东分局', nameEn: null, level: 'district', parent: 'CITY', geometry: box(1, 0, 2, 1) },
  { code: 'P1', name: '南所', nameEn: null, level: 'precinct', parent: 'D1', geometry: box(0, 0, 1, 0.5) },
  { code: 'P2', name: '北所', nameEn: null, level: 'precinct', parent: 'D1', geometry: box(0, 0.5, 1, 1) },
  { code: 'C1', name: '社区', nameEn: null, level: 'community', parent: 'P1', geometry: box(0, 0, 0.5, 0.5) },
];

describe('jurisdiction tree', () => {
  const sut = new JurisdictionTree(nodes);

  it('answers subtree questions', () => {
    expect(sut.inScope('D1', 'C1')).toBe(true);
    expect(sut.inScope('D2', 'C1')).toBe(false);
    expect(sut.inScope('P1', 'D1')).toBe(false);
    expect(sut.inScope('P1', null)).toBe(false);
    expect(sut.inScope('CITY', null)).toBe(true);
    expect(sut.inScope('*', 'C1')).toBe(true);
    expect(sut.subtree('D1').sort()).toEqual(['C1', 'D1', 'P1', 'P2']);
    expect(sut.ancestors('C1')).toEqual(['C1', 'P1', 'D1', 'CITY']);
  });

  it('assigns a point to the deepest unit containing it', () => {
    expect(sut.locate(0.25, 0.25)).toBe('C1');
    expect(sut.locate(0.25, 0.75)).toBe('P1');
    expect(sut.locate(0.75, 0.25)).toBe('P2');
    expect(sut.locate(0.5, 1.5)).toBe('D2');
    expect(sut.locate(5, 5)).toBeNull();
  });

  it('lets an explicit jurisdiction win over coordinates', () => {
    expect(sut.assign('D2', 0.25, 0.25)).toBe('D2');
    expect(sut.assign('NOPE', 0.25, 0.25)).toBe('C1');
    expect(sut.assign(null, null, null)).toBeNull();
  });

  it('respects holes and multipolygons', () => {
    const donut: Geometry = { type: 'Polygon', coordinates: [ring(0, 0, 4, 4), ring(1, 1, 3, 3)] };
    expect(geometryContains(donut, 0.5, 0.5)).toBe(true);
    expect(geometryContains(donut, 2, 2)).toBe(false);
    const multi: Geometry = { type: 'MultiPolygon', coordinates: [[ring(0, 0, 1, 1)], [ring(5, 5, 6, 6)]] };
    expect(geometryContains(multi, 5.5, 5.5)).toBe(true);
    expect(geometryContains(multi, 3, 3)).toBe(false);
  });

  it('refuses malformed trees with a clear reason', () => {
    expect(() => new JurisdictionTree([...nodes, { ...nodes[3], code: 'X', parent: 'NOPE' }])).toThrow('jurisdiction X: parent NOPE is not in the tree');
    expect(() => new JurisdictionTree([...nodes, { ...nodes[0], code: 'CITY2' }])).toThrow(/exactly one root/);
    expect(() => new JurisdictionTree([...nodes, { ...nodes[1], code: 'D3', parent: 'P1' }])).toThrow(JurisdictionTreeError);
    expect(() => new JurisdictionTree([...nodes, nodes[2]])).toThrow('jurisdiction D2 appears twice');
  });
});
