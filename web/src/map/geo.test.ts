import { describe, expect, it } from 'vitest';
import { boundsOf, contains, fitView, labelAnchor, panBy, project, unproject, zoomAt, type Feature, type Geometry } from './geo.ts';

const square: Geometry = { type: 'Polygon', coordinates: [[[121, 29], [122, 29], [122, 30], [121, 30], [121, 29]]] };
const withHole: Geometry = {
  type: 'Polygon',
  coordinates: [[[0, 0], [10, 0], [10, 10], [0, 10], [0, 0]], [[4, 4], [6, 4], [6, 6], [4, 6], [4, 4]]],
};

describe('map geometry', () => {
  it('projects and unprojects back to the same degrees', () => {
    const sut = { lon: 121.5, lat: 29.5, scale: 500, k: 0.87 };
    const [x, y] = project(sut, 800, 600, 121.7, 29.3);
    const [lon, lat] = unproject(sut, 800, 600, x, y);
    expect(lon).toBeCloseTo(121.7, 9);
    expect(lat).toBeCloseTo(29.3, 9);
    expect(y).toBeGreaterThan(300); // south is down
  });

  it('fits bounds inside the canvas with the margin', () => {
    const features: Feature[] = [{ type: 'Feature', geometry: square, properties: {} }];
    const sut = fitView(boundsOf(features), 800, 600, 20);
    const [x0, y0] = project(sut, 800, 600, 121, 30);
    const [x1, y1] = project(sut, 800, 600, 122, 29);
    expect(Math.min(x0, y0)).toBeGreaterThanOrEqual(19.99);
    expect(x1).toBeLessThanOrEqual(780.01);
    expect(y1).toBeLessThanOrEqual(580.01);
    expect(Math.abs(y1 - y0 - 560) < 0.01 || Math.abs(x1 - x0 - 760) < 0.01).toBe(true);
  });

  it('zooms around the cursor and pans by pixels', () => {
    const v = { lon: 121.5, lat: 29.5, scale: 500, k: 0.87 };
    const before = unproject(v, 800, 600, 100, 100);
    const sut = zoomAt(v, 800, 600, 100, 100, 2);
    const after = unproject(sut, 800, 600, 100, 100);
    expect(sut.scale).toBe(1000);
    expect(after[0]).toBeCloseTo(before[0], 9);
    expect(after[1]).toBeCloseTo(before[1], 9);
    const moved = panBy(v, 50, 0);
    expect(project(moved, 800, 600, v.lon, v.lat)[0]).toBeCloseTo(450, 6);
  });

  it('tests points against polygons with holes', () => {
    expect(contains(withHole, 2, 2)).toBe(true);
    expect(contains(withHole, 5, 5)).toBe(false);
    expect(contains(withHole, 11, 5)).toBe(false);
    expect(contains({ type: 'MultiPolygon', coordinates: [withHole.coordinates as [number, number][][]] }, 8, 8)).toBe(true);
  });

  it('anchors a label inside the polygon, even a U-shaped one', () => {
    const [lon, lat] = labelAnchor(square)!;
    expect(lon).toBeCloseTo(121.5, 9);
    expect(lat).toBeCloseTo(29.5, 9);
    const u: Geometry = { type: 'Polygon', coordinates: [[[0, 0], [3, 0], [3, 3], [2, 3], [2, 1], [1, 1], [1, 3], [0, 3], [0, 0]]] };
    const a = labelAnchor(u)!;
    expect(a).toBeDefined();
    expect(Number.isFinite(a[0]) && Number.isFinite(a[1])).toBe(true);
  });
});
