/**
 * @module `cordon case add|confirm|list|show`: cases for scripts. Adding or confirming a case traces it
 * and pushes its leads as commands. Also holds how the loop commands open the stores they need.
 */
import path from 'node:path';
import type { Command } from 'commander';
import { loadConfig, type Config } from '../../config.ts';
import { ALL_JURISDICTIONS, type Actor } from '../../domain/jurisdiction.ts';
import { presenceWhereabouts } from '../../services/command.service.ts';
import { FileLinkDecisionLog, IdentityService } from '../../services/identity.service.ts';
import { createLoop, type Loop } from '../../services/loop.service.ts';
import { PresenceTraceService } from '../../services/trace.service.ts';
import { DuckDbPresenceStore } from '../../stores/presence/duckdb/duckdb-presence-store.ts';
import type { PresenceStore } from '../../stores/presence/presence-store.ts';
import { openRecordsStore } from '../../stores/records/open-records-store.ts';
import type { CaseRecord } from '../../stores/records/records-store.ts';

/** The CLI runs on the server's own machine as an operator: the whole tree is in scope. */
export const CLI_ACTOR: Actor = { userId: 'cli', role: 'system', jurisdiction: ALL_JURISDICTIONS };

/**
 * Opens the records store and, when `withPresence`, the presence store (for traces and residences),
 * runs `fn` with the loop's services, and closes everything.
 */
export async function withLoop<T>(cmd: Command, withPresence: boolean, fn: (loop: Loop, config: Config) => Promise<T>): Promise<T> {
  const global = cmd.optsWithGlobals<{ data?: string }>();
  const config = loadConfig({ data: global.data });
  const records = await openRecordsStore(config.databaseUrl);
  let presence: PresenceStore | null = null;
  try {
    if (withPresence) {
      if (!config.presenceUrl.startsWith('duckdb:')) throw new Error('this command needs the embedded presence store (duckdb:PATH)');
      presence = await DuckDbPresenceStore.open(config.presenceUrl.slice('duckdb:'.length), { owner: `cordon ${cmd.name()}` });
    }
    // The index, not one store read per place: a degree-2 trace of a busy case reads thousands of
    // places, which the index answers in seconds where per-place store reads take minutes.
    const tracer = presence ? await PresenceTraceService.start({ store: presence, timeZone: config.timeZone, mode: 'index' }) : null;
    // Corrected identifiers from feedback are resolved as the server resolves them (links and decisions).
    const identity = presence ? new IdentityService(presence, new FileLinkDecisionLog(path.join(config.dataDir, 'identity-decisions.jsonl'))) : null;
    const loop = createLoop({ store: records, tracer, identity, ...(presence ? { whereabouts: presenceWhereabouts(presence) } : {}) });
    return await fn(loop, config);
  } finally {
    await presence?.close();
    await records.close();
  }
}

function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

function print(json: boolean | undefined, data: unknown, text: () => string): void {
  process.stdout.write(json ? JSON.stringify(data, null, 2) + '\n' : text() + '\n');
}

function caseLine(c: CaseRecord): string {
  return `${c.id}  ${c.classification.padEnd(12)} unit ${c.jurisdiction ?? '-'}  onset ${c.onset ?? '-'}  sampled ${c.sampled ?? '-'}  ` +
    `loop ${c.loopClosed ? 'closed' : 'open'}${c.sourceCaseId ? `  from ${c.sourceCaseId}` : ''}`;
}

export function registerCase(program: Command): void {
  const cases = program.command('case').description('cases: add, confirm, list, show');

  cases
    .command('add')
    .description('add a case; traces it and pushes its leads as commands (unless --no-trace)')
    .requiredOption('--id <KIND:VALUE>', 'an identifier of the person (repeatable)', collect)
    .option('--classification <C>', 'suspected, confirmed or asymptomatic', 'confirmed')
    .option('--onset <DATE>', 'symptom onset, YYYY-MM-DD')
    .option('--sampled <DATE>', 'sampling date of the positive test, YYYY-MM-DD')
    .option('--isolated <TIME>', 'when the person was isolated, ISO 8601')
    .option('--jurisdiction <CODE>', 'responsible unit (default: by residence or last known location)')
    .option('--no-trace', 'record the case without tracing it now')
    .option('--json', 'print the result as JSON')
    .action(async (flags: { id: string[]; classification: string; onset?: string; sampled?: string; isolated?: string; jurisdiction?: string; trace: boolean; json?: boolean }, cmd: Command) => {
      await withLoop(cmd, flags.trace, async (loop) => {
        const r = await loop.cases.add(CLI_ACTOR, {
          ids: flags.id, classification: flags.classification, onset: flags.onset ?? null, sampled: flags.sampled ?? null,
          isolatedAt: flags.isolated ?? null, jurisdiction: flags.jurisdiction ?? null, trace: flags.trace,
        });
        print(flags.json, r, () => {
          const lines = [`case ${caseLine(r.case)}`];
          if (r.trace) {
            const d = r.trace.recorded.byDisposition;
            lines.push(`traced ${r.trace.window?.from ?? ''} → ${r.trace.window?.to ?? ''}: ${r.trace.contacts} contacts; ` +
              `${d.new_lead} new leads, ${r.trace.recorded.commands} commands pushed, ${d.joined_open_lead} joined open leads, ` +
              `${d.linked_to_status} already under control, ${d.recorded} recorded only`);
          }
          return lines.join('\n');
        });
      });
    });

  cases
    .command('confirm <caseId>')
    .description('reclassify a case (default: confirmed) and trace it again')
    .option('--classification <C>', 'confirmed or asymptomatic', 'confirmed')
    .option('--onset <DATE>', 'symptom onset, YYYY-MM-DD')
    .option('--sampled <DATE>', 'sampling date, YYYY-MM-DD')
    .option('--reason <TEXT>', 'why (kept in the case history)')
    .option('--no-trace', 'do not trace again')
    .option('--json', 'print the result as JSON')
    .action(async (caseId: string, flags: { classification: string; onset?: string; sampled?: string; reason?: string; trace: boolean; json?: boolean }, cmd: Command) => {
      await withLoop(cmd, flags.trace, async (loop) => {
        const r = await loop.cases.confirm(CLI_ACTOR, caseId, {
          classification: flags.classification, onset: flags.onset ?? null, sampled: flags.sampled ?? null, reason: flags.reason ?? null, trace: flags.trace,
        });
        print(flags.json, r, () => `case ${caseLine(r.case)}` + (r.trace ? `\ntraced again: ${r.trace.recorded.newLeads.length} new leads, ${r.trace.recorded.commands} commands pushed` : ''));
      });
    });

  cases
    .command('list')
    .description('list cases')
    .option('--jurisdiction <CODE>', 'only this unit and below')
    .option('--open', 'only cases whose loop is still open')
    .option('--json', 'print as JSON')
    .action(async (flags: { jurisdiction?: string; open?: boolean; json?: boolean }, cmd: Command) => {
      await withLoop(cmd, false, async (loop) => {
        const actor = flags.jurisdiction ? { ...CLI_ACTOR, jurisdiction: flags.jurisdiction } : CLI_ACTOR;
        const list = await loop.cases.list(actor, flags.open ? { loopClosed: false } : {});
        print(flags.json, list, () => (list.length ? list.map(caseLine).join('\n') : 'no cases'));
      });
    });

  cases
    .command('show <caseId>')
    .description("a case's history, leads and transmission chain")
    .option('--json', 'print as JSON')
    .action(async (caseId: string, flags: { json?: boolean }, cmd: Command) => {
      await withLoop(cmd, false, async (loop) => {
        const { case: c, events } = await loop.cases.history(CLI_ACTOR, caseId);
        const leads = await loop.leads.list(CLI_ACTOR, { caseId });
        const chain = await loop.status.chain(CLI_ACTOR, caseId);
        print(flags.json, { case: c, events, leads, chain }, () =>
          [
            `case ${caseLine(c)}`,
            ...events.map((e) => `  ${e.at}  ${e.kind}${e.to ? ` → ${e.to}` : ''}${e.reason ? `  (${e.reason})` : ''}  by ${e.actorUserId}`),
            `leads: ${leads.length} (${leads.filter((l) => l.status === 'open').length} open)`,
            ...leads.map((l) => `  ${l.id}  ${l.category.padEnd(10)} degree ${l.degree}  unit ${l.jurisdiction ?? '-'}  ${l.status}${l.outcome ? ` ${l.outcome}` : ''}  command ${l.commandId ?? '-'}`),
            `chain: ${chain.map((n) => (n.sourceCaseId ? `${n.sourceCaseId} → ${n.caseId}` : n.caseId)).join(', ')}`,
          ].join('\n'),
        );
      });
    });
}
