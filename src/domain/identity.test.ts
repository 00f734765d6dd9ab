import { describe, expect, it } from 'vitest';
import { IdentityGraph, linkKey, type LinkEdge } from './identity.ts';

const L = (a: string, b: string): LinkEdge => ({ a, b, source: 'test' });

describe('IdentityGraph', () => {
  it('joins a chain of identifiers into one person keyed by the ID card', () => {
    const sut = new IdentityGraph([L('phone:1', 'id_card:A'), L('card:T1', 'phone:1'), L('plate:浙B1', 'card:T1')]);
    const r = sut.resolve('plate:浙B1');
    expect(r.personKey).toBe('id_card:A');
    expect(r.ids).toEqual(['id_card:A', 'phone:1', 'card:T1', 'plate:浙B1']);
    expect(r.conflicts).toEqual([]);
    expect(sut.resolve('phone:unknown')).toEqual({ personKey: 'phone:unknown', ids: ['phone:unknown'], conflicts: [] });
  });

  it('flags one phone linked to two ID cards and never merges the two cards', () => {
    const sut = new IdentityGraph([L('phone:1', 'id_card:A'), L('phone:1', 'id_card:B'), L('phone:2', 'id_card:B')]);
    const conflicts = sut.conflicts();
    expect(conflicts).toHaveLength(1);
    expect(conflicts[0]).toMatchObject({ link: linkKey('id_card:B', 'phone:1'), wouldJoin: ['id_card:A', 'id_card:B'] });
    expect(sut.resolve('id_card:A').ids).toEqual(['id_card:A', 'phone:1']);
    expect(sut.resolve('id_card:B').ids).toEqual(['id_card:B', 'phone:2']);
    expect(sut.resolve('id_card:B').conflicts).toHaveLength(1);
    expect(sut.resolve('phone:1').conflicts).toHaveLength(1);
    expect([...sut.groups()].sort()).toEqual([['id_card:A', 'phone:1'], ['id_card:B', 'phone:2']]);
  });

  it('gives the same people and conflicts whatever the order of the links', () => {
    const links = [L('phone:1', 'id_card:A'), L('phone:1', 'id_card:B'), L('card:9', 'phone:1'), L('phone:3', 'card:9')];
    const one = new IdentityGraph(links);
    const two = new IdentityGraph([...links].reverse());
    expect(two.conflicts()).toEqual(one.conflicts());
    expect(two.resolve('phone:3')).toEqual(one.resolve('phone:3'));
  });

  it('applies an analyst decision: a rejected link is ignored, an accepted one joins across ID cards', () => {
    const links = [L('phone:1', 'id_card:A'), L('phone:1', 'id_card:B')];
    const rejectA = new IdentityGraph(links, new Map([[linkKey('phone:1', 'id_card:A'), 'reject' as const]]));
    expect(rejectA.conflicts()).toEqual([]);
    expect(rejectA.resolve('phone:1').personKey).toBe('id_card:B');
    expect(rejectA.resolve('id_card:A').ids).toEqual(['id_card:A']);
    const acceptB = new IdentityGraph(links, new Map([[linkKey('phone:1', 'id_card:B'), 'accept' as const]]));
    expect(acceptB.conflicts()).toEqual([]);
    const r = acceptB.resolve('phone:1');
    expect(r.ids).toEqual(['id_card:A', 'id_card:B', 'phone:1']);
    // Two ID cards: no single card to name the person by, so the first identifier is the key.
    expect(r.personKey).toBe('id_card:A');
  });
});
