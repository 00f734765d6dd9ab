import { describe, expect, it } from 'vitest';
import { PersonRefCodec } from './person-ref.ts';

describe('person references', () => {
  const sut = new PersonRefCodec('a deployment secret of some length');

  it('are deterministic, opaque and reversible', () => {
    const ref = sut.encode('id_card:330203199001011234');
    expect(ref).toMatch(/^p_[A-Za-z0-9_-]+$/);
    expect(ref).not.toContain('330203');
    expect(sut.encode('id_card:330203199001011234')).toBe(ref);
    expect(sut.encode('id_card:330203199001011235')).not.toBe(ref);
    expect(sut.decode(ref)).toBe('id_card:330203199001011234');
  });

  it('refuse forged, altered or foreign references as not found', () => {
    const ref = sut.encode('phone:13800000000');
    const altered = ref.slice(0, -2) + (ref.endsWith('A') ? 'BB' : 'AA');
    expect(() => sut.decode(altered)).toThrow('person not found');
    expect(() => sut.decode('p_short')).toThrow('person not found');
    expect(() => sut.decode('phone:13800000000')).toThrow('person not found');
    expect(() => new PersonRefCodec('another deployment').decode(ref)).toThrow('person not found');
  });

  it('mask identifiers beside the reference', () => {
    expect(sut.person('phone:13800000000', ['phone:13800000000', 'id_card:330203199001011234'])).toEqual({
      personRef: sut.encode('phone:13800000000'),
      ids: ['phone:138****0000', 'id_card:330203********1234'],
    });
  });
});
