import { afterEach, describe, expect, it } from 'vitest';
import type { Presence } from '../domain/formats.ts';
import { DuckDbPresenceStore } from '../stores/presence/duckdb/duckdb-presence-store.ts';
import { RetentionService, type RetentionReport } from './retention.service.ts';

const DAY = 86_400;
const NOW = new Date('2020-03-01T00:00:00Z');
const nowS = NOW.getTime() / 1000;

function stay(id: string, daysAgo: number): Presence {
  const start = nowS - daysAgo * DAY;
  return { idKind: 'phone', idValue: id, placeKind: 'venue', placeId: 'V1', start, end: start + 3600, dateOnly: false, pointEvent: false };
}

describe('RetentionService', () => {
  let sut: RetentionService | undefined;
  afterEach(() => sut?.stop());

  it('purges what ended before the retention limit and reports it', async () => {
    const store = await DuckDbPresenceStore.open(':memory:', { threads: 1 });
    await store.insertPresences([stay('a', 40), stay('b', 29), stay('c', 27), stay('d', 1)]);
    sut = new RetentionService(store, { retentionDays: 28, now: () => NOW });
    const report = await sut.purge();
    expect(report).toMatchObject({ removed: 2, days: 28, trigger: 'manual', cutoff: '2020-02-02T00:00:00.000Z', oldestStart: nowS - 40 * DAY, newestStart: nowS - 29 * DAY });
    expect((await store.stats()).presences).toBe(2);
    expect(await sut.purge(2)).toMatchObject({ removed: 1, days: 2 });
    await expect(sut.purge(0)).rejects.toThrow(/whole number of days/);
    await store.close();
  });

  it('purges on a schedule and hands each report over', async () => {
    const store = await DuckDbPresenceStore.open(':memory:', { threads: 1 });
    await store.insertPresences([stay('a', 40), stay('b', 1)]);
    sut = new RetentionService(store, { retentionDays: 28, now: () => NOW });
    const report = await new Promise<RetentionReport>((resolve, reject) => sut!.start(resolve, reject, 10));
    sut.stop();
    expect(report).toMatchObject({ removed: 1, trigger: 'scheduled' });
    await store.close();
  });
});
