import { describe, expect, it } from 'vitest';
import { clusterId, hitTest, layoutChain, LAYER_GAP, type ChainGraphData } from './chain-layout.ts';

function chain(): ChainGraphData {
  return {
    nodes: [
      { id: 'A', kind: 'case', label: 'A', status: 'confirmed' },
      { id: 'B', kind: 'case', label: 'B', status: 'confirmed' },
      { id: 'C', kind: 'case', label: 'C', status: 'asymptomatic' },
      { id: 'D', kind: 'case', label: 'D', status: 'confirmed' },
      { id: 'c1', kind: 'contact', label: 'c1', status: 'close' },
      { id: 'c2', kind: 'contact', label: 'c2', status: 'close' },
      { id: 'c3', kind: 'contact', label: 'c3', status: 'general' },
    ],
    edges: [
      { from: 'A', to: 'B', place: 'venue:V1' },
      { from: 'A', to: 'C', place: 'venue:V1' },
      { from: 'B', to: 'D', place: 'household:H9' },
      { from: 'A', to: 'c1', place: 'venue:V1' },
      { from: 'A', to: 'c2', place: 'venue:V1' },
      { from: 'A', to: 'c3', place: 'train:G1' },
    ],
  };
}

describe('layoutChain', () => {
  it('puts cases in layers by generation and bands siblings from one place', () => {
    const sut = layoutChain(chain(), new Set());
    const y = (id: string): number => sut.nodes.find((n) => n.id === id)!.y;
    expect([y('A'), y('B'), y('C'), y('D')]).toEqual([0, LAYER_GAP, LAYER_GAP, 2 * LAYER_GAP]);
    expect(sut.radial).toBe(false);
    expect(sut.bands).toEqual([expect.objectContaining({ place: 'venue:V1', size: 2, y: LAYER_GAP })]);
    expect(sut.nodes.filter((n) => n.kind !== 'case')).toHaveLength(0);
    expect(sut.nodes.find((n) => n.id === 'A')!.count).toBe(3);
    expect(sut.edges).toHaveLength(3);
  });

  it('folds contacts into one cluster per place, and opens a cluster on request', () => {
    const folded = layoutChain(chain(), new Set(['A']));
    const clusters = folded.nodes.filter((n) => n.kind === 'cluster');
    expect(clusters.map((c) => [c.place, c.count, c.status]).sort()).toEqual([['train:G1', 1, 'general'], ['venue:V1', 2, 'close']]);
    expect(folded.nodes.some((n) => n.kind === 'contact')).toBe(false);

    const sut = layoutChain(chain(), new Set(['A', clusterId('A', 'venue:V1')]));
    expect(sut.nodes.filter((n) => n.kind === 'contact').map((n) => n.id).sort()).toEqual(['c1', 'c2']);
    const hit = sut.nodes.find((n) => n.id === 'c1')!;
    expect(hitTest(sut, hit.x, hit.y)?.id).toBe('c1');
  });

  it('survives a cycle and edges to unknown nodes without losing a case', () => {
    const data: ChainGraphData = {
      nodes: [{ id: 'X', kind: 'case', label: 'X' }, { id: 'Y', kind: 'case', label: 'Y' }],
      edges: [{ from: 'X', to: 'Y' }, { from: 'Y', to: 'X' }, { from: 'X', to: 'ghost' }],
    };
    const sut = layoutChain(data, new Set());
    expect(sut.nodes.map((n) => n.id).sort()).toEqual(['X', 'Y']);
  });

  it('lays out 5,000 cases and 20,000 contacts fully expanded', () => {
    const nodes: ChainGraphData['nodes'] = [];
    const edges: ChainGraphData['edges'] = [];
    for (let i = 0; i < 5000; i++) {
      nodes.push({ id: `k${i}`, kind: 'case', label: `k${i}` });
      if (i > 0) edges.push({ from: `k${Math.floor((i - 1) / 3)}`, to: `k${i}`, place: `venue:${i % 50}` });
    }
    for (let j = 0; j < 20000; j++) {
      nodes.push({ id: `p${j}`, kind: 'contact', label: `p${j}` });
      edges.push({ from: `k${j % 5000}`, to: `p${j}`, place: `cell:${j % 7}` });
    }
    const expanded = new Set<string>(nodes.filter((n) => n.kind === 'case').map((n) => n.id));
    const first = layoutChain({ nodes, edges }, expanded);
    for (const n of first.nodes) if (n.kind === 'cluster') expanded.add(n.id);
    const sut = layoutChain({ nodes, edges }, expanded);
    // Far wider than deep: the generations become rings that use the screen's height too.
    expect(sut.radial).toBe(true);
    expect((sut.bounds.y1 - sut.bounds.y0) / (sut.bounds.x1 - sut.bounds.x0)).toBeGreaterThan(0.5);
    expect(sut.cases).toBe(5000);
    expect(sut.contacts).toBe(20000);
    expect(sut.nodes.filter((n) => n.kind === 'contact')).toHaveLength(20000);
    expect(sut.nodes.every((n) => Number.isFinite(n.x) && Number.isFinite(n.y))).toBe(true);
  });
});
