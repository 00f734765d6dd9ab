import { describe, expect, it } from 'vitest';
import { IndexCandidateSource } from './index/index-source.ts';
import { TraceFixture } from './trace-fixture.ts';
import { memberOf, Tracer } from './tracer.ts';
import type { TraceDictionary } from './candidate-source.ts';
import type { TraceResult } from './types.ts';

// 2020-01-25 in Asia/Shanghai; the case's onset is 01-27, so v8 looks back to 01-25 00:00 +08:00.
const NOW = Date.parse('2020-02-10T00:00:00+08:00');
const req = { id: 'phone:case', onset: '2020-01-27', rules: 'v8', now: NOW } as const;

function byKey(r: TraceResult): Record<string, string> {
  return Object.fromEntries(r.contacts.map((c) => [c.key, `${c.degree}:${c.category}${c.via ? ' via ' + c.via : ''}`]));
}

describe('Tracer over the index', () => {
  it('window: v8 from 2 days before onset at local midnight until isolation; v9 four days', async () => {
    const f = new TraceFixture().add('phone:case', 'venue:V1', '2020-01-25T10:00:00+08:00', 30);
    const sut = f.tracer();
    const v8 = await sut.trace({ ...req, isolated: '2020-01-28T09:30:00+08:00' });
    expect(v8.window).toEqual({ from: '2020-01-24T16:00:00.000Z', to: '2020-01-28T01:30:00.000Z', anchor: 'onset', lookbackDays: 2, until: 'isolated' });
    const v9 = await sut.trace({ ...req, rules: 'v9', isolated: '2020-01-28' });
    expect(v9.window).toMatchObject({ from: '2020-01-22T16:00:00.000Z', to: '2020-01-28T16:00:00.000Z', lookbackDays: 4 });
    expect(v9.rules).toEqual({ name: 'v9', version: '9.0' });
    const asym = await sut.trace({ id: 'phone:case', sampled: '2020-01-30', asymptomatic: true, rules: 'v8', now: NOW });
    expect(asym.window).toMatchObject({ from: '2020-01-27T16:00:00.000Z', anchor: 'sampled', until: 'now' });
  });

  it('refuses a request without onset or sampling date, or with a bad date, with a clear message', async () => {
    const sut = new TraceFixture().tracer();
    await expect(sut.trace({ id: 'phone:case' })).rejects.toThrow(/needs an onset date \(--onset YYYY-MM-DD\)/);
    await expect(sut.trace({ id: 'phone:case', onset: '2020-02-30' })).rejects.toThrow(/onset "2020-02-30" is not a valid date/);
    await expect(sut.trace({ id: 'nonsense', onset: '2020-02-01' })).rejects.toThrow(/must be KIND:VALUE/);
    await expect(sut.trace({ ...req, isolated: 'tuesday' })).rejects.toThrow(/isolated "tuesday" is not a date/);
    await expect(sut.trace({ ...req, isolated: '2020-01-20' })).rejects.toThrow(/the window is empty/);
  });

  it('an unknown identifier gives an empty trace, not an error', async () => {
    const r = await new TraceFixture().add('phone:x', 'venue:V1', '2020-01-26T10:00:00+08:00', 30).tracer().trace(req);
    expect(r.person).toEqual({ key: 'phone:case', ids: ['phone:case'] });
    expect(r.trajectory).toEqual([]);
    expect(r.contacts).toEqual([]);
  });

  it('venue 14:59 vs 15:00; touching intervals are no contact; time zones in input are instants', async () => {
    const f = new TraceFixture()
      .add('phone:case', 'venue:V1', '2020-01-26T10:00:00+08:00', '2020-01-26T11:00:00+08:00')
      // 15:00 of overlap written in UTC: 02:45Z is 10:45 +08:00.
      .add('phone:p15', 'venue:V1', '2020-01-26T02:45:00Z', '2020-01-26T03:30:00Z')
      .add('phone:p1459', 'venue:V1', '2020-01-26T10:45:01+08:00', '2020-01-26T12:00:00+08:00')
      .add('phone:touch', 'venue:V1', '2020-01-26T11:00:00+08:00', '2020-01-26T12:00:00+08:00')
      .add('phone:before', 'venue:V1', '2020-01-26T09:00:00+09:00', '2020-01-26T10:00:00+09:00');
    const r = await f.tracer().trace({ ...req, degree: 1 });
    expect(byKey(r)).toEqual({ 'phone:p15': '1:close', 'phone:p1459': '1:general' });
    const p15 = r.contacts.find((c) => c.key === 'phone:p15');
    expect(p15?.evidence[0]).toMatchObject({ rule: 'duration', overlapSeconds: 900, lowConfidence: false, source: { place: 'venue:V1', placeId: 'V1' } });
  });

  it('train rows ±3 close, ±4 general, other carriage nothing; hotel room; household; cell companions', async () => {
    const train = (id: string, seat: string): [string, string, string, number, { sub: string }] => [id, 'train:G1234-20200126', '2020-01-26T08:00:00+08:00', 180, { sub: seat }];
    const f = new TraceFixture()
      .add(...train('phone:case', '07-12-F'))
      .add(...train('phone:row3', '07-15-A'))
      .add(...train('phone:row4', '07-16-A'))
      .add(...train('phone:car8', '08-12-F'))
      .add('phone:case', 'hotel:H1', '2020-01-26T20:00:00+08:00', '2020-01-27T08:00:00+08:00', { sub: '0312' })
      .add('phone:room', 'hotel:H1', '2020-01-26T22:00:00+08:00', '2020-01-27T09:00:00+08:00', { sub: '0312' })
      .add('phone:otherroom', 'hotel:H1', '2020-01-26T22:00:00+08:00', '2020-01-27T09:00:00+08:00', { sub: '0313' })
      .add('phone:case', 'household:F1', '2020-01-25T00:00:00+08:00', '2020-01-25T07:00:00+08:00')
      .add('phone:spouse', 'household:F1', '2020-01-25T06:59:00+08:00', '2020-01-25T09:00:00+08:00')
      .add('phone:case', 'cell:C1', '2020-01-26T12:00:00+08:00', '2020-01-26T13:00:00+08:00')
      .add('phone:cell10', 'cell:C1', '2020-01-26T12:50:00+08:00', '2020-01-26T14:00:00+08:00')
      .add('phone:cell959', 'cell:C1', '2020-01-26T12:50:01+08:00', '2020-01-26T14:00:00+08:00');
    const r = await f.tracer().trace({ ...req, degree: 1 });
    expect(byKey(r)).toEqual({
      'phone:row3': '1:close', 'phone:row4': '1:general', 'phone:room': '1:close', 'phone:otherroom': '1:general',
      'phone:spouse': '1:close', 'phone:cell10': '1:companion',
    });
    expect(r.contacts.find((c) => c.key === 'phone:row3')?.evidence[0]).toMatchObject({ rule: 'vehicle-rows', seatDistance: 3 });
    expect(r.contacts.find((c) => c.key === 'phone:spouse')?.risk.parts.map((p) => p.factor)).toContain('proximity');
  });

  it('merges consecutive records at the same place, in the trajectory and when measuring overlap', async () => {
    const f = new TraceFixture()
      .add('phone:case', 'cell:C1', '2020-01-26T12:00:00+08:00', '2020-01-26T12:06:00+08:00')
      .add('phone:case', 'cell:C1', '2020-01-26T12:06:00+08:00', '2020-01-26T12:12:00+08:00')
      .add('phone:case', 'venue:V1', '2020-01-26T12:20:00+08:00', 10, { point: true })
      .add('phone:other', 'cell:C1', '2020-01-26T12:00:00+08:00', '2020-01-26T12:30:00+08:00');
    const r = await f.tracer().trace(req);
    expect(r.trajectory.map((p) => [p.place, p.start, p.end, p.records, p.pointEvent])).toEqual([
      ['cell:C1', '2020-01-26T04:00:00.000Z', '2020-01-26T04:12:00.000Z', 2, false],
      ['venue:V1', '2020-01-26T04:20:00.000Z', '2020-01-26T04:30:00.000Z', 1, true],
    ]);
    // Each record alone is 6 minutes (< 10); merged they make 12 minutes: a companion.
    expect(byKey(r)).toEqual({ 'phone:other': '1:companion' });
  });

  it('date-only presences are whole local days and low confidence', async () => {
    const f = new TraceFixture()
      .add('phone:case', 'venue:V1', '2020-01-25T16:00:00Z', '2020-01-26T16:00:00Z', { dateOnly: true })
      .add('phone:other', 'venue:V1', '2020-01-26T23:00:00+08:00', 30);
    const r = await f.tracer().trace(req);
    expect(r.contacts[0]).toMatchObject({ key: 'phone:other', category: 'close', evidence: [{ lowConfidence: true, source: { dateOnly: true } }] });
    expect(r.contacts[0].risk.parts.find((p) => p.factor === 'confidence')?.value).toBeLessThan(0);
  });

  it('lists a person once with all identifiers, and finds the case under any of theirs', async () => {
    const f = new TraceFixture()
      .add('id_card:330203199001011234', 'venue:V1', '2020-01-26T10:00:00+08:00', 60)
      .add('phone:other', 'venue:V1', '2020-01-26T10:00:00+08:00', 60)
      .add('card:T1', 'venue:V1', '2020-01-26T10:30:00+08:00', 60)
      .add('phone:case', 'venue:V2', '2020-01-26T08:00:00+08:00', 60)
      .add('card:T9', 'venue:V2', '2020-01-26T08:00:00+08:00', 60)
      .link('phone:case', 'id_card:330203199001011234')
      .link('phone:other', 'card:T1');
    const r = await f.tracer().trace(req);
    expect(r.person).toEqual({ key: 'id_card:330203199001011234', ids: ['id_card:330203199001011234', 'phone:case'] });
    expect(r.contacts.map((c) => [c.key, c.ids])).toEqual([['card:T9', ['card:T9']], ['phone:other', ['phone:other', 'card:T1']]]);
    expect(r.trajectory).toHaveLength(2);
  });

  it('second degree: close-level exposure to a close contact after their first exposure, until now', async () => {
    const f = new TraceFixture()
      .add('phone:case', 'venue:V1', '2020-01-26T10:00:00+08:00', 60)
      .add('phone:cc', 'venue:V1', '2020-01-26T10:00:00+08:00', 60)
      .add('phone:gc', 'venue:V1', '2020-01-26T10:50:00+08:00', 60)
      // Met the close contact after their exposure: secondary.
      .add('phone:cc', 'household:F2', '2020-01-26T20:00:00+08:00', '2020-01-27T07:00:00+08:00')
      .add('phone:wife', 'household:F2', '2020-01-26T20:00:00+08:00', '2020-01-27T07:00:00+08:00')
      // Met before the exposure: not secondary.
      .add('phone:cc', 'venue:V3', '2020-01-26T08:00:00+08:00', 60)
      .add('phone:early', 'venue:V3', '2020-01-26T08:00:00+08:00', 60)
      // Only general-level exposure to the close contact: not secondary.
      .add('phone:cc', 'venue:V4', '2020-01-27T12:00:00+08:00', 60)
      .add('phone:brief', 'venue:V4', '2020-01-27T12:50:00+08:00', 60)
      // A general contact of the case who also met the close contact closely is secondary.
      .add('phone:gc', 'venue:V5', '2020-01-28T12:00:00+08:00', 60)
      .add('phone:cc', 'venue:V5', '2020-01-28T12:00:00+08:00', 60);
    const sut = f.tracer();
    const r = await sut.trace(req);
    expect(byKey(r)).toEqual({ 'phone:cc': '1:close', 'phone:wife': '2:secondary via phone:cc', 'phone:gc': '2:secondary via phone:cc' });
    expect(r.summary).toMatchObject({ close: 1, secondary: 2, companion: 0, general: 0 });
    const wife = r.contacts.find((c) => c.key === 'phone:wife');
    expect(wife?.evidence[0]).toMatchObject({ rule: 'co-presence', source: { place: 'household:F2' }, contact: { place: 'household:F2' } });
    expect(byKey(await sut.trace({ ...req, degree: 1 }))).toEqual({ 'phone:cc': '1:close', 'phone:gc': '1:general' });
  });

  it('second degree: of close contacts met at the same first moment, the via is the one whose key comes first', async () => {
    // card:a1 gets the smaller dictionary id (added first), but phone:b2 comes first in identifier order.
    const f = new TraceFixture()
      .add('phone:case', 'venue:V1', '2020-01-26T10:00:00+08:00', 60)
      .add('card:a1', 'venue:V1', '2020-01-26T10:00:00+08:00', 60)
      .add('phone:b2', 'venue:V1', '2020-01-26T10:00:00+08:00', 60)
      .add('card:a1', 'venue:V2', '2020-01-26T12:00:00+08:00', 60)
      .add('phone:b2', 'venue:V2', '2020-01-26T12:00:00+08:00', 40)
      .add('phone:x', 'venue:V2', '2020-01-26T12:00:00+08:00', 60);
    for (const sut of [await f.tracer().trace(req), await f.reference(req)]) {
      expect(byKey(sut)['phone:x']).toBe('2:secondary via phone:b2');
      const x = sut.contacts.find((c) => c.key === 'phone:x');
      expect(x?.evidence.map((e) => e.overlapSeconds)).toEqual([2400]);
    }
  });

  it('names not at hand are fetched: the same result as with every name at hand, whichever name is missing', async () => {
    const f = new TraceFixture()
      .add('phone:case', 'venue:V1', '2020-01-26T10:00:00+08:00', 60)
      .add('card:a1', 'venue:V1', '2020-01-26T10:00:00+08:00', 60)
      .add('phone:b2', 'venue:V1', '2020-01-26T10:00:00+08:00', 60)
      .add('phone:b2', 'train:G1-20200126', '2020-01-26T12:00:00+08:00', 90, { sub: '03-07-A' })
      .add('phone:c3', 'train:G1-20200126', '2020-01-26T12:00:00+08:00', 90, { sub: '03-09-C' })
      .add('card:a1', 'venue:V2', '2020-01-26T12:00:00+08:00', 60)
      .add('phone:b2', 'venue:V2', '2020-01-26T12:00:00+08:00', 40)
      .add('phone:x', 'venue:V2', '2020-01-26T12:00:00+08:00', 60)
      .add('phone:x2', 'venue:V2', '2020-01-26T12:00:00+08:00', 60)
      .link('phone:x2', 'card:x2');
    const index = f.index();
    const groups = f.groups();
    const all = await new Tracer({ source: new IndexCandidateSource(index), dict: f.dict, groups, timeZone: f.timeZone }).trace(req);
    expect(all.contacts.length).toBeGreaterThanOrEqual(5);
    const identCount = f.dict.knownIdentifierKey(0) === undefined ? 0 : 20;
    // Each identifier and each place in turn not at hand (a cold cache), then none at hand, then a dictionary with no cache at all.
    const hides: ((kind: 'ident' | 'place', id: number) => boolean)[] = [];
    for (let k = 0; k < identCount; k++) hides.push((kind, id) => kind === 'ident' && id === k);
    for (let k = 0; k < 4; k++) hides.push((kind, id) => kind === 'place' && id === k);
    hides.push(() => true);
    const dicts: TraceDictionary[] = hides.map((hide) => ({
      identifierKeys: (ids) => f.dict.identifierKeys(ids),
      identifierIds: (keys) => f.dict.identifierIds(keys),
      placeKeys: (ids) => f.dict.placeKeys(ids),
      knownIdentifierKey: (id) => (hide('ident', id) ? undefined : f.dict.knownIdentifierKey(id)),
      knownPlaceKey: (id) => (hide('place', id) ? undefined : f.dict.knownPlaceKey(id)),
    }));
    dicts.push({ identifierKeys: (ids) => f.dict.identifierKeys(ids), identifierIds: (keys) => f.dict.identifierIds(keys), placeKeys: (ids) => f.dict.placeKeys(ids) });
    for (const dict of dicts) {
      const tracer = new Tracer({ source: new IndexCandidateSource(index), dict, groups, timeZone: f.timeZone });
      for (let round = 0; round < 2; round++) {
        const r = await tracer.trace(req);
        expect(r).toEqual({ ...all, summary: r.summary });
      }
    }
  });

  it('rows appended after the build are visible at once, before and after the tail merges', async () => {
    const f = new TraceFixture();
    for (let i = 0; i < 40; i++) f.add(`phone:p${i}`, `venue:V${i % 4}`, '2020-01-26T10:00:00+08:00', 20 + i);
    f.add('phone:case', 'venue:V1', '2020-01-26T10:00:00+08:00', 60);
    const index = f.index(10, { tailMinRows: 16, tailShare: 0 });
    // The tail passed the threshold: a merge runs in the background while this trace reads.
    expect(index.mergeUnderWay).toBe(true);
    const during = await f.tracer(index).trace(req);
    expect(during).toEqual({ ...(await f.reference(req)), summary: during.summary });
    await index.settled();
    expect(index.merges).toBeGreaterThan(0);
    // Rows appended after the merge began stay in the tail.
    expect(index.tailSize).toBeGreaterThan(0);
    const r = await f.tracer(index).trace(req);
    expect(r).toEqual({ ...(await f.reference(req)), summary: r.summary });
    expect(r.contacts).toHaveLength(10);
  });
});

describe('memberOf', () => {
  it('answers as a Set of the same persons does, for ids in and beyond its bitset and for any other number', () => {
    let rng = 99;
    const rand = (k: number): number => {
      rng = (Math.imul(rng, 1664525) + 1013904223) >>> 0;
      return rng % k;
    };
    for (const extra of [[], [-1, 2 ** 31, 2 ** 32 + 5, 1.5, 2 ** 53]]) {
      const members = [...Array.from({ length: 300 }, () => rand(100_000)), 0, 31, 32, ...extra];
      const want = new Set(members);
      const has = memberOf(members);
      const asked = [...members, ...Array.from({ length: 3000 }, () => rand(120_000)), -1, -2, 0.5, 2 ** 31, 2 ** 31 - 1, 2 ** 32 + 5, 2 ** 53, Number.NaN, 1e300];
      for (const p of asked) expect(has(p), String(p)).toBe(want.has(p));
    }
    expect(memberOf([])(0)).toBe(false);
  });
});
