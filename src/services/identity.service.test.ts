import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DuckDbPresenceStore } from '../stores/presence/duckdb/duckdb-presence-store.ts';
import { FileLinkDecisionLog, IdentityService } from './identity.service.ts';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cordon-identity-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('IdentityService', () => {
  it('resolves from stored links, lists a conflict, and records its settling', async () => {
    const store = await DuckDbPresenceStore.open(':memory:', { threads: 1 });
    await store.insertIdentityLinks([
      { aKind: 'phone', aValue: '13800000001', bKind: 'id_card', bValue: '330203199001011234', source: 'telecom' },
      { aKind: 'phone', aValue: '13800000001', bKind: 'id_card', bValue: '330203198512125678', source: 'hotel' },
      { aKind: 'card', aValue: 'T77', bKind: 'phone', bValue: '13800000001' },
    ]);
    const log = new FileLinkDecisionLog(path.join(dir, 'decisions.jsonl'));
    const sut = new IdentityService(store, log);
    const r = await sut.resolve('card:T77');
    expect(r.personKey).toBe('id_card:330203198512125678');
    expect(r.ids).toEqual(['id_card:330203198512125678', 'phone:13800000001', 'card:T77']);
    const conflicts = await sut.conflicts();
    expect(conflicts).toHaveLength(1);
    expect(conflicts[0].wouldJoin).toEqual(['id_card:330203198512125678', 'id_card:330203199001011234']);

    // The analyst finds the phone belongs to the other card: the link first applied was wrong.
    const wrong = 'id_card:330203198512125678|phone:13800000001';
    const rec = await sut.settle(wrong, 'reject', 'analyst-7', 'hotel register typo');
    expect(rec).toMatchObject({ link: wrong, decision: 'reject', by: 'analyst-7' });
    expect(await sut.conflicts()).toEqual([]);
    expect((await sut.resolve('card:T77')).personKey).toBe('id_card:330203199001011234');

    // Decisions survive a restart of the service.
    const again = new IdentityService(store, new FileLinkDecisionLog(path.join(dir, 'decisions.jsonl')));
    expect((await again.resolve('phone:13800000001')).personKey).toBe('id_card:330203199001011234');
    expect(await again.decisionHistory()).toHaveLength(1);
    await expect(sut.settle('phone:1|phone:2', 'accept', 'a', 'b')).rejects.toThrow(/no identity link/);
    await expect(sut.settle(wrong, 'accept', 'a', '')).rejects.toThrow(/reason/);
    await store.close();
  });
});
