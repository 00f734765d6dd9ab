import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { JurisdictionLevel } from '../../src/domain/jurisdiction.ts';
import { NotFoundError } from '../../src/services/jurisdiction.service.ts';
import { createLoop } from '../../src/services/loop.service.ts';
import type { CommandRecord, JurisdictionRecord } from '../../src/stores/records/records-store.ts';
import { openSqliteRecordsStore } from '../../src/stores/records/sqlite/sqlite-records-store.ts';

const T0 = '2020-01-25T06:00:00.000Z';
const LEVELS: JurisdictionLevel[] = ['city', 'district', 'precinct', 'community'];

/** A random tree: each unit below the city has a parent one level up. */
const arbTree = fc
  .array(fc.nat(), { minLength: 1, maxLength: 14 })
  .map((picks): JurisdictionRecord[] => {
    const nodes: JurisdictionRecord[] = [{ code: 'U0', name: 'city', nameEn: null, level: 'city', parent: null, geometry: null }];
    picks.forEach((pick, i) => {
      const candidates = nodes.filter((n) => n.level !== 'community');
      const parent = candidates[pick % candidates.length];
      nodes.push({ code: `U${i + 1}`, name: `unit ${i + 1}`, nameEn: null, level: LEVELS[LEVELS.indexOf(parent.level) + 1], parent: parent.code, geometry: null });
    });
    return nodes;
  });

const arbWorld = arbTree.chain((tree) =>
  fc.record({
    tree: fc.constant(tree),
    // Each record: its unit, and (for commands) where it is escalated, if anywhere.
    commands: fc.array(fc.record({ unit: fc.nat(tree.length - 1), escalated: fc.option(fc.nat(tree.length - 1), { nil: undefined }) }), { maxLength: 12 }),
    users: fc.array(fc.nat(tree.length - 1), { minLength: 1, maxLength: 5 }),
  }),
);

describe('jurisdiction isolation', () => {
  it('a user sees exactly their subtree: everything else is not found, by id and by list', async () => {
    await fc.assert(
      fc.asyncProperty(arbWorld, async ({ tree, commands, users }) => {
        const store = await openSqliteRecordsStore(':memory:');
        try {
          await store.upsertJurisdictions(tree);
          const parent = new Map(tree.map((n) => [n.code, n.parent]));
          // The reference: walk up from a unit to see whether the scope is on the way.
          const under = (code: string | null, scope: string): boolean => {
            for (let c = code; c; c = parent.get(c) ?? null) if (c === scope) return true;
            return false;
          };
          const made: CommandRecord[] = [];
          for (const [i, c] of commands.entries()) {
            const unit = tree[c.unit].code;
            const escalatedTo = c.escalated !== undefined && tree[c.escalated].code !== unit ? tree[c.escalated].code : null;
            const caseId = `C${i}`;
            await store.insertCase({
              id: caseId, personKey: `id_card:P${i}`, ids: [`id_card:P${i}`], classification: 'confirmed', onset: '2020-01-24', sampled: null,
              isolatedAt: null, jurisdiction: unit, sourceCaseId: null, sourceLeadId: null, loopClosed: false, traces: 0, createdAt: T0, updatedAt: T0,
            });
            await store.insertLead({
              id: `L${i}`, caseId, personKey: `id_card:Q${i}`, ids: [`id_card:Q${i}`], degree: 1, category: 'close', viaPersonKey: null, risk: 50,
              evidence: null, status: 'open', outcome: null, commandId: `K${i}`, jurisdiction: unit, reissueOf: null, createdAt: T0, closedAt: null,
            });
            const cmd: CommandRecord = {
              id: `K${i}`, leadId: `L${i}`, caseId, personKey: `id_card:Q${i}`, type: 'verify_on_site', priority: 'urgent', jurisdiction: unit,
              state: 'pushed', deadline: T0, overdue: escalatedTo !== null, escalationLevel: escalatedTo ? 1 : 0, escalatedTo, createdAt: T0, updatedAt: T0, version: 1,
            };
            await store.insertCommand(cmd);
            made.push(cmd);
          }
          const sut = createLoop({ store });
          for (const u of users) {
            const actor = { userId: `user-${u}`, role: 'precinct_officer', jurisdiction: tree[u].code };
            const visible = (c: CommandRecord): boolean => under(c.jurisdiction, actor.jurisdiction) || under(c.escalatedTo, actor.jurisdiction);
            const inbox = await sut.commands.inbox(actor, { limit: 1000 });
            expect(inbox.commands.map((c) => c.id).sort()).toEqual(made.filter(visible).map((c) => c.id).sort());
            expect(inbox.total).toBe(made.filter(visible).length);
            for (const c of made) {
              if (visible(c)) expect((await sut.commands.get(actor, c.id)).id).toBe(c.id);
              else await expect(sut.commands.get(actor, c.id)).rejects.toBeInstanceOf(NotFoundError);
              const caseVisible = under(c.jurisdiction, actor.jurisdiction);
              if (caseVisible) expect((await sut.cases.get(actor, c.caseId)).id).toBe(c.caseId);
              else await expect(sut.cases.get(actor, c.caseId)).rejects.toBeInstanceOf(NotFoundError);
            }
            const leads = await sut.leads.list(actor);
            expect(leads.map((l) => l.id).sort()).toEqual(made.filter((c) => under(c.jurisdiction, actor.jurisdiction)).map((c) => c.leadId).sort());
            const cases = await sut.cases.list(actor);
            expect(cases.every((c) => under(c.jurisdiction, actor.jurisdiction))).toBe(true);
            // An unknown id looks exactly like another unit's: no way to tell existence from scope.
            await expect(sut.commands.get(actor, 'K-none')).rejects.toThrow('command K-none not found');
          }
        } finally {
          await store.close();
        }
      }),
      { numRuns: 60 },
    );
  });
});
