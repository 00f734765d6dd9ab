import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Presence } from '../../src/domain/formats.ts';
import { PRESENCE_READ_DAYS, presenceWhereabouts, tracerRecentPlaces, type Whereabouts } from '../../src/services/command.service.ts';
import { createLoop } from '../../src/services/loop.service.ts';
import { PresenceTraceService } from '../../src/services/trace.service.ts';
import { openSqliteRecordsStore } from '../../src/stores/records/sqlite/sqlite-records-store.ts';
import type { Actor } from '../../src/domain/jurisdiction.ts';
import { DuckDbPresenceStore } from '../../src/stores/presence/duckdb/duckdb-presence-store.ts';
import { box, feature, geoJson } from '../support/jurisdictions.ts';

const at = (iso: string): number => Date.parse(iso) / 1000;
const COMMANDER: Actor = { userId: 'u-cmd', role: 'commander', jurisdiction: 'CITY' };
const p = (id: string, placeId: string, start: string, end: string, extra: Partial<Presence> = {}): Presence => {
  const [idKind, idValue] = id.split(':') as [Presence['idKind'], string];
  return { idKind, idValue, placeKind: 'venue', placeId, start: at(start), end: at(end), dateOnly: false, pointEvent: false, ...extra };
};

// R has a residence; F was last seen at V9 (a presence with coordinates) after V1 (no place record);
// G has no presences at all, only a place a trace's evidence names.
describe('presenceWhereabouts: residence, else the places the caller knows, else the presences', () => {
  let presence: DuckDbPresenceStore;
  let sut: Whereabouts;
  let scans = 0;
  /** The windows [from, to) of every read of people's presences, in epoch seconds. */
  const windows: [number, number][] = [];
  const NOW = new Date('2020-01-24T00:00:00Z');

  beforeAll(async () => {
    presence = await DuckDbPresenceStore.open(':memory:');
    await presence.insertPresences([
      p('id_card:F', 'V1', '2020-01-22T10:20:00+08:00', '2020-01-22T10:50:00+08:00'),
      p('id_card:F', 'V9', '2020-01-23T09:00:00+08:00', '2020-01-23T10:00:00+08:00', { lat: 29.5, lon: 122.5 }),
      p('id_card:R', 'V2', '2020-01-23T09:00:00+08:00', '2020-01-23T10:00:00+08:00'),
      p('id_card:H', 'V1', '2020-01-23T08:00:00+08:00', '2020-01-23T08:30:00+08:00'),
      p('id_card:H', 'V3', '2020-01-23T12:00:00+08:00', '2020-01-23T13:00:00+08:00'),
      // Seen ten days before "now" (the second window of the store's read), and eight weeks before (past it).
      p('id_card:M', 'V3', '2020-01-14T12:00:00+08:00', '2020-01-14T13:00:00+08:00'),
      p('id_card:O', 'V3', '2019-11-29T12:00:00+08:00', '2019-11-29T13:00:00+08:00'),
    ]);
    await presence.upsertPeople([{ idKind: 'id_card', idValue: 'R', jurisdiction: 'P1' }]);
    await presence.upsertPlaces([
      { placeKind: 'venue', placeId: 'V2', jurisdiction: 'P2' },
      { placeKind: 'venue', placeId: 'V3', lat: 29.9, lon: 121.1 },
    ]);
    // The real store, counting the reads of people's presences (each a scan on a large store).
    const store = presence;
    const counted = new Proxy(store, {
      get(target, key, receiver) {
        if (key === 'presencesOf') {
          return (...args: Parameters<typeof store.presencesOf>) => {
            scans++;
            windows.push([args[1], args[2]]);
            return target.presencesOf(...args);
          };
        }
        const v: unknown = Reflect.get(target, key, receiver);
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    });
    sut = presenceWhereabouts(counted);
  });
  afterAll(async () => {
    await presence?.close();
  });

  it('takes the last known location from the given places, without any presence of the person', async () => {
    scans = 0;
    const located = await sut.locate([['id_card:G'], ['id_card:G']], { seenAt: [['venue:V2', 'venue:V3'], ['venue:V404', 'venue:V3']], now: NOW });
    expect(located).toEqual([
      { basis: 'last_seen', jurisdiction: 'P2', lat: undefined, lon: undefined },
      { basis: 'last_seen', jurisdiction: undefined, lat: 29.9, lon: 121.1 },
    ]);
    expect(scans).toBe(0);
    expect(await sut.locate([['id_card:G']], { now: NOW })).toEqual([null]);
  });

  it('asks the tracer\'s index for the latest places — a trajectory read, not a trace — before the store', async () => {
    const service = await PresenceTraceService.start({ store: presence, timeZone: 'Asia/Shanghai' });
    // A tracer whose traces fail: locating people must read their presences alone, never run a trace.
    const tracer = {
      trace: () => Promise.reject(new Error('locating a person must not run a trace')),
      recentPlaces: service.recentPlaces.bind(service),
    };
    const recent = tracerRecentPlaces(tracer, () => NOW);
    expect(recent).toBeDefined();
    expect(await recent!([['id_card:H'], ['id_card:G'], ['id_card:M']])).toEqual([
      { places: ['venue:V3', 'venue:V1'], from: at('2020-01-23T08:00:00+08:00'), to: at('2020-01-23T13:00:00+08:00') },
      { places: [], from: 0, to: 0 },
      { places: ['venue:V3'], from: at('2020-01-14T12:00:00+08:00'), to: at('2020-01-14T13:00:00+08:00') },
    ]);
    scans = 0;
    // H's latest place V3 has a position; the evidence named only V1, which has none.
    const [h] = await sut.locate([['id_card:H']], { seenAt: [['venue:V1']], recent, now: NOW });
    expect(h).toEqual({ basis: 'last_seen', jurisdiction: undefined, lat: 29.9, lon: 121.1 });
    expect(scans).toBe(0);
    // Without the tracer the store's presences give the same answer, by a read of them.
    expect(await sut.locate([['id_card:H']], { seenAt: [['venue:V1']], now: NOW })).toEqual([h]);
    expect(scans).toBe(1);
    // F's latest places have no place record, but a presence of F carries coordinates: the store is read
    // over the span of F's latest presences alone, not over days of everyone's.
    windows.length = 0;
    const [f] = await sut.locate([['id_card:F']], { recent, now: NOW });
    expect(f).toEqual({ basis: 'last_seen', lat: 29.5, lon: 122.5 });
    expect(windows).toEqual([[at('2020-01-22T10:20:00+08:00'), at('2020-01-23T10:00:00+08:00')]]);
    // A tracer that cannot read trajectories alone gives no recent places (the store's read serves).
    expect(tracerRecentPlaces({ trace: tracer.trace }, () => NOW)).toBeUndefined();
  });

  it('reads the store\'s presences over the last days, widening to a few weeks, never the whole history', async () => {
    windows.length = 0;
    const now = NOW.getTime() / 1000;
    const [m, o] = await sut.locate([['id_card:M'], ['id_card:O']], { now: NOW });
    // M was seen ten days ago: found by the wider window. O only eight weeks ago: left to the case's unit.
    expect(m).toEqual({ basis: 'last_seen', jurisdiction: undefined, lat: 29.9, lon: 121.1 });
    expect(o).toBeNull();
    expect(windows).toEqual(PRESENCE_READ_DAYS.map((d) => [now - d * 86_400, now]));
    expect(Math.min(...windows.map(([from]) => from))).toBeGreaterThan(0);
    // The second read is only for the people the first left unplaced: nobody left, no second read.
    windows.length = 0;
    await sut.locate([['id_card:H']], { now: NOW });
    expect(windows).toHaveLength(1);
  });

  it('places a new case without a residence from the index too, not by a read of the store', async () => {
    const tracer = await PresenceTraceService.start({ store: presence, timeZone: 'Asia/Shanghai' });
    const records = await openSqliteRecordsStore(':memory:');
    try {
      const loop = createLoop({ store: records, tracer, whereabouts: sut, now: () => NOW });
      await loop.jurisdictions.importGeoJson(COMMANDER, geoJson([
        feature('CITY', 'city', null, box(121, 29, 123, 30)), feature('PW', 'precinct', 'CITY', box(121, 29, 122, 30)), feature('PE', 'precinct', 'CITY', box(122, 29, 123, 30)),
      ]), 'test.geojson');
      scans = 0;
      // H lives nowhere on file; their latest place V3 (121.1 E) is in PW.
      const made = await loop.cases.add(COMMANDER, { ids: ['id_card:H'], classification: 'confirmed', onset: '2020-01-23', trace: false });
      expect(made.case.jurisdiction).toBe('PW');
      expect(scans).toBe(0);
    } finally {
      await records.close();
    }
  });

  it('prefers the residence over the given places', async () => {
    const [r] = await sut.locate([['id_card:R']], { seenAt: [['venue:V3']], now: NOW });
    expect(r).toMatchObject({ basis: 'residence', jurisdiction: 'P1' });
  });

  it('falls back to the presences when no given place has a position', async () => {
    const [f] = await sut.locate([['id_card:F']], { seenAt: [['venue:V1']], now: NOW });
    expect(f).toEqual({ basis: 'last_seen', lat: 29.5, lon: 122.5 });
    expect(await sut.locate([['id_card:F']], { now: NOW })).toEqual([{ basis: 'last_seen', lat: 29.5, lon: 122.5 }]);
  });
});
