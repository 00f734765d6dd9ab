import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Presence } from '../../src/domain/formats.ts';
import { presenceWhereabouts, tracerRecentPlaces, type Whereabouts } from '../../src/services/command.service.ts';
import { PresenceTraceService } from '../../src/services/trace.service.ts';
import { DuckDbPresenceStore } from '../../src/stores/presence/duckdb/duckdb-presence-store.ts';

const at = (iso: string): number => Date.parse(iso) / 1000;
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

  beforeAll(async () => {
    presence = await DuckDbPresenceStore.open(':memory:');
    await presence.insertPresences([
      p('id_card:F', 'V1', '2020-01-22T10:20:00+08:00', '2020-01-22T10:50:00+08:00'),
      p('id_card:F', 'V9', '2020-01-23T09:00:00+08:00', '2020-01-23T10:00:00+08:00', { lat: 29.5, lon: 122.5 }),
      p('id_card:R', 'V2', '2020-01-23T09:00:00+08:00', '2020-01-23T10:00:00+08:00'),
      p('id_card:H', 'V1', '2020-01-23T08:00:00+08:00', '2020-01-23T08:30:00+08:00'),
      p('id_card:H', 'V3', '2020-01-23T12:00:00+08:00', '2020-01-23T13:00:00+08:00'),
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
    const located = await sut.locate([['id_card:G'], ['id_card:G']], [['venue:V2', 'venue:V3'], ['venue:V404', 'venue:V3']]);
    expect(located).toEqual([
      { basis: 'last_seen', jurisdiction: 'P2', lat: undefined, lon: undefined },
      { basis: 'last_seen', jurisdiction: undefined, lat: 29.9, lon: 121.1 },
    ]);
    expect(scans).toBe(0);
    expect(await sut.locate([['id_card:G']])).toEqual([null]);
  });

  it('asks the tracer for recent places before reading the presences from the store', async () => {
    const tracer = await PresenceTraceService.start({ store: presence, timeZone: 'Asia/Shanghai' });
    const recent = tracerRecentPlaces(tracer, () => new Date('2020-01-24T00:00:00Z'));
    scans = 0;
    // H's latest place V3 has a position; the evidence named only V1, which has none.
    const [h] = await sut.locate([['id_card:H']], [['venue:V1']], recent);
    expect(h).toEqual({ basis: 'last_seen', jurisdiction: undefined, lat: 29.9, lon: 121.1 });
    expect(scans).toBe(0);
    // Without the tracer the store's presences give the same answer, by a read of them.
    expect(await sut.locate([['id_card:H']], [['venue:V1']])).toEqual([h]);
    expect(scans).toBe(1);
  });

  it('prefers the residence over the given places', async () => {
    const [r] = await sut.locate([['id_card:R']], [['venue:V3']]);
    expect(r).toMatchObject({ basis: 'residence', jurisdiction: 'P1' });
  });

  it('falls back to the presences when no given place has a position', async () => {
    const [f] = await sut.locate([['id_card:F']], [['venue:V1']]);
    expect(f).toEqual({ basis: 'last_seen', lat: 29.5, lon: 122.5 });
    expect(await sut.locate([['id_card:F']])).toEqual([{ basis: 'last_seen', lat: 29.5, lon: 122.5 }]);
  });
});
