import { describe, expect, it } from 'vitest';
import { LinkedIdentityGroups } from './identity-groups.ts';

describe('LinkedIdentityGroups', () => {
  it('gives the smallest id of the group as the person, for small, unlinked and very large ids alike', () => {
    const big = 2 ** 27;
    const sut = new LinkedIdentityGroups([[5, 1], [big + 1, 3], { ids: [7], extra: ['phone:x'] }, [big + 9, big + 4]]);
    expect([sut.personOf(1), sut.personOf(5), sut.personOf(3), sut.personOf(big + 1)]).toEqual([1, 1, 3, 3]);
    expect([sut.personOf(big + 9), sut.personOf(big + 4)]).toEqual([big + 4, big + 4]);
    // Unlinked ids (inside, past the end of, and far past the linked ones) are their own person.
    expect([sut.personOf(2), sut.personOf(7), sut.personOf(100), sut.personOf(big + 2), sut.personOf(2 ** 31)]).toEqual([2, 7, 100, big + 2, 2 ** 31]);
    expect(sut.groupOf(5)).toEqual([1, 5]);
    expect(sut.groupOf(big + 1)).toEqual([3, big + 1]);
    expect(sut.groupOf(100)).toEqual([100]);
    expect(sut.extraIds(7)).toEqual(['phone:x']);
    expect(sut.linkedIdentifiers).toBe(6);
  });
});
