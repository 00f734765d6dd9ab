/**
 * @module `cordon identity resolve|conflicts|settle`: who an identifier belongs to, the links held back
 * as conflicts, and an analyst's decision on one. The work is done by the identity service.
 */
import path from 'node:path';
import type { Command } from 'commander';
import { loadConfig } from '../../config.ts';
import { FileLinkDecisionLog, IdentityService } from '../../services/identity.service.ts';
import { openPresenceStore } from '../../stores/presence/open-presence-store.ts';

async function withService<T>(program: Command, fn: (s: IdentityService) => Promise<T>): Promise<T> {
  const config = loadConfig({ data: program.opts<{ data?: string }>().data });
  const store = await openPresenceStore(config.presenceUrl, { owner: 'cordon identity' });
  try {
    return await fn(new IdentityService(store, new FileLinkDecisionLog(path.join(config.dataDir, 'identity-decisions.jsonl'))));
  } finally {
    await store.close();
  }
}

export function registerIdentity(program: Command): void {
  const identity = program.command('identity').description('identity resolution: who is who, and conflicting links');

  identity
    .command('resolve')
    .description('the person an identifier belongs to, with all their identifiers')
    .argument('<id>', 'KIND:VALUE, e.g. phone:13800000000')
    .option('--json', 'print JSON')
    .action(async (id: string, flags: { json?: boolean }) => {
      const r = await withService(program, (s) => s.resolve(id));
      if (flags.json) return console.log(JSON.stringify(r, null, 2));
      console.log(`person ${r.personKey}`);
      console.log(`ids    ${r.ids.join(', ')}`);
      for (const c of r.conflicts) console.log(`conflict: link ${c.link} would join ${c.wouldJoin.join(' and ')} (held back)`);
    });

  identity
    .command('conflicts')
    .description('links held back because they would join two ID cards or passports')
    .option('--json', 'print JSON')
    .action(async (flags: { json?: boolean }) => {
      const list = await withService(program, (s) => s.conflicts());
      if (flags.json) return console.log(JSON.stringify(list, null, 2));
      if (list.length === 0) return console.log('no identity conflicts');
      for (const c of list) console.log(`${c.link}\n  would join ${c.wouldJoin.join(' and ')}${c.source ? `  (source ${c.source})` : ''}`);
      console.log(`${list.length} conflict(s); settle one with: cordon identity settle LINK --accept|--reject --by NAME --reason TEXT`);
    });

  identity
    .command('settle')
    .description('record a decision on a link: --accept joins its two sides, --reject ignores it')
    .argument('<link>', 'KIND:VALUE|KIND:VALUE as listed by `cordon identity conflicts`')
    .option('--accept', 'the link is right: join the two sides')
    .option('--reject', 'the link is wrong: ignore it')
    .requiredOption('--by <name>', 'who decides')
    .requiredOption('--reason <text>', 'why')
    .action(async (link: string, flags: { accept?: boolean; reject?: boolean; by: string; reason: string }) => {
      if (Boolean(flags.accept) === Boolean(flags.reject)) throw new Error('give exactly one of --accept or --reject');
      const rec = await withService(program, (s) => s.settle(link, flags.accept ? 'accept' : 'reject', flags.by, flags.reason));
      console.log(`recorded: ${rec.decision} ${rec.link} by ${rec.by} at ${rec.at}`);
    });
}
