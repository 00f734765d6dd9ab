import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Presence } from '../../src/domain/formats.ts';
import { presenceWhereabouts, type Whereabouts } from '../../src/services/command.service.ts';
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

  beforeAll(async () => {
    presence = await DuckDbPresenceStore.open(':memory:');
    await presence.insertPresences([
      p('id_card:F', 'V1', '2020-01-22T10:20:00+08:00', '2020-01-22T10:50:00+08:00'),
      p('id_card:F', 'V9', '2020-01-23T09:00:00+08:00', '2020-01-23T10:00:00+08:00', { lat: 29.5, lon: 122.5 }),
      p('id_card:R', 'V2', '2020-01-23T09:00:00+08:00', '2020-01-23T10:00:00+08:00'),
    ]);
    await presence.upsertPeople([{ idKind: 'id_card', idValue: 'R', jurisdiction: 'P1' }]);
    await presence.upsertPlaces([
      { placeKind: 'venue', placeId: 'V2', jurisdiction: 'P2' },
      { placeKind: 'venue', placeId: 'V3', lat: 29.9, lon: 121.1 },
    ]);
    sut = presenceWhereabouts(presence);
  });
  afterAll(async () => {
    await presence?.close();
  });

  it('takes the last known location from the given places, without any presence of the person', async () => {
    const located = await sut.locate([['id_card:G'], ['id_card:G']], [['venue:V2', 'venue:V3'], ['venue:V404', 'venue:V3']]);
    expect(located).toEqual([
      { basis: 'last_seen', jurisdiction: 'P2', lat: undefined, lon: undefined },
      { basis: 'last_seen', jurisdiction: undefined, lat: 29.9, lon: 121.1 },
    ]);
    expect(await sut.locate([['id_card:G']])).toEqual([null]);
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
