import { describe, expect, it } from 'vitest';
import { pointInRing, RASTER_COLS, telecomCell, telecomCellId, traceRegion, type Ring } from './geo.ts';
import { BBOX } from './names.ts';

const cell = (c: number, r: number): number => r * RASTER_COLS + c;
const area = (ring: Ring): number => {
  let s = 0;
  for (let i = 0; i + 1 < ring.length; i++) s += ring[i][0] * ring[i + 1][1] - ring[i + 1][0] * ring[i][1];
  return s / 2;
};

describe('traceRegion', () => {
  it('traces a square ring of cells as one polygon with a clockwise hole', () => {
    const cells: number[] = [];
    for (let c = 10; c < 15; c++) for (let r = 20; r < 25; r++) if (!(c === 12 && r === 22)) cells.push(cell(c, r));
    const sut = traceRegion(cells);
    expect(sut.type).toBe('Polygon');
    if (sut.type !== 'Polygon') return;
    const [outer, hole] = sut.coordinates;
    expect(sut.coordinates).toHaveLength(2);
    // Four corners each (collinear points removed), closed.
    expect(outer).toHaveLength(5);
    expect(hole).toHaveLength(5);
    expect(area(outer)).toBeCloseTo(25 * 0.0001, 8);
    expect(area(hole)).toBeCloseTo(-1 * 0.0001, 8);
    const centre = (c: number, r: number): [number, number] => [BBOX.west + (c + 0.5) * 0.01, BBOX.south + (r + 0.5) * 0.01];
    const inside = (p: [number, number]): boolean => pointInRing(p[0], p[1], outer) && !pointInRing(p[0], p[1], hole);
    expect(inside(centre(10, 20))).toBe(true);
    expect(inside(centre(12, 22))).toBe(false);
    expect(inside(centre(15, 22))).toBe(false);
  });

  it('keeps cells that touch only at a corner as separate polygons', () => {
    const sut = traceRegion([cell(30, 30), cell(31, 31)]);
    expect(sut.type).toBe('MultiPolygon');
    if (sut.type !== 'MultiPolygon') return;
    expect(sut.coordinates).toHaveLength(2);
    for (const poly of sut.coordinates) {
      expect(poly).toHaveLength(1);
      expect(area(poly[0])).toBeCloseTo(0.0001, 8);
    }
  });
});

describe('telecom grid', () => {
  it('names 800 m cells by row and column from the south-west corner', () => {
    expect(telecomCellId(telecomCell(BBOX.west + 0.001, BBOX.south + 0.001))).toBe('NB800-000-000');
    // 0.8 km north is the next row; about 0.0083° east is the next column at this latitude.
    expect(telecomCellId(telecomCell(BBOX.west + 0.001, BBOX.south + 0.0075))).toBe('NB800-001-000');
    expect(telecomCellId(telecomCell(BBOX.west + 0.0086, BBOX.south + 0.001))).toBe('NB800-000-001');
  });
});
