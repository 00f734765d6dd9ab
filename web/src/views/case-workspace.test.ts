import { describe, expect, it } from 'vitest';
import { chainOf, placeOfEvidence } from './case-workspace.tsx';
import type { LeadOut, LoopChainNode, TraceOut } from '../api/endpoints.ts';

const node = (caseId: string, sourceCaseId: string | null): LoopChainNode => ({ caseId, classification: 'confirmed', jurisdiction: 'J', sourceCaseId, loopClosed: false, openLeads: 0, createdAt: '2020-01-01T00:00:00Z' });
const lead = (caseId: string, personRef: string, place: string): LeadOut => ({
  id: `L-${personRef}`, caseId, personRef, ids: ['phone:138****0000'], degree: 1, category: 'close', viaPersonRef: null, risk: 50,
  evidence: { pairs: [{ contact: { place } }] }, status: 'open', outcome: null, commandId: null, jurisdiction: 'J', reissueOf: null, createdAt: '2020-01-01T00:00:00Z', closedAt: null,
});

describe('chainOf', () => {
  it('links cases by source and hangs leads and traced contacts under their case, once per person', () => {
    const trace = { contacts: [
      { personRef: 'p_a', ids: ['phone:1'], degree: 1, category: 'close', viaPersonRef: null, firstExposure: '', evidence: [{ contact: { place: 'venue:V1' }, source: { place: 'venue:V1' } }], risk: { score: 1, parts: [] } },
      { personRef: 'p_new', ids: ['phone:2'], degree: 1, category: 'general', viaPersonRef: null, firstExposure: '', evidence: [{ contact: { place: 'bus:B1' }, source: { place: 'bus:B1' } }], risk: { score: 1, parts: [] } },
    ] } as unknown as TraceOut;
    const sut = chainOf('C1', trace, [node('C1', null), node('C2', 'C1')], [lead('C1', 'p_a', 'household:H1'), lead('C2', 'p_b', 'venue:V9'), lead('C9', 'p_out', 'x')]);
    expect(sut.nodes.map((n) => n.id).sort()).toEqual(['C1', 'C2', 'contact:p_a', 'contact:p_b', 'contact:p_new']);
    expect(sut.edges).toContainEqual({ from: 'C1', to: 'C2' });
    expect(sut.edges).toContainEqual({ from: 'C1', to: 'contact:p_a', place: 'household:H1' });
    expect(sut.edges).toContainEqual({ from: 'C2', to: 'contact:p_b', place: 'venue:V9' });
    expect(sut.edges).toContainEqual({ from: 'C1', to: 'contact:p_new', place: 'bus:B1' });
  });

  it('reads the place of stored evidence and tolerates other shapes', () => {
    expect(placeOfEvidence({ pairs: [{ contact: { place: 'hotel:H1' } }] })).toBe('hotel:H1');
    expect(placeOfEvidence(null)).toBeUndefined();
    expect(placeOfEvidence({ pairs: [] })).toBeUndefined();
  });
});
