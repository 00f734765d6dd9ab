/**
 * @module `cordon feedback COMMAND_ID --outcome …`: what a unit found. A positive test makes a new case
 * that is traced at once; an identity mismatch reissues the lead; named contacts become leads.
 */
import type { Command } from 'commander';
import { FEEDBACK_OUTCOMES } from '../../domain/feedback.ts';
import { CLI_ACTOR, withLoop } from './case.ts';

const collect = (v: string, prev: string[] = []): string[] => [...prev, v];

export function registerFeedback(program: Command): void {
  program
    .command('feedback <commandId>')
    .description('file feedback on a command and run the re-analysis it calls for')
    .requiredOption('--outcome <OUTCOME>', FEEDBACK_OUTCOMES.join(', '))
    .option('--temperature <C>', 'body temperature, °C')
    .option('--notes <TEXT>', 'notes from the field')
    .option('--named <KIND:VALUE>', 'a contact the person names (repeatable)', collect)
    .option('--corrected <KIND:VALUE>', 'a corrected identifier, for identity_mismatch (repeatable)', collect)
    .option('--onset <DATE>', 'for tested_positive: symptom onset, YYYY-MM-DD')
    .option('--sampled <DATE>', 'for tested_positive: sampling date, YYYY-MM-DD')
    .option('--json', 'print as JSON')
    .action(async (commandId: string, flags: { outcome: string; temperature?: string; notes?: string; named?: string[]; corrected?: string[]; onset?: string; sampled?: string; json?: boolean }, cmd: Command) => {
      let temperature: number | null = null;
      if (flags.temperature !== undefined) {
        temperature = Number(flags.temperature);
        if (!Number.isFinite(temperature)) throw new Error(`--temperature "${flags.temperature}" is not a number`);
      }
      // A positive test traces the new case, which needs the presence store.
      await withLoop(cmd, flags.outcome === 'tested_positive' || (flags.named?.length ?? 0) > 0 || flags.outcome === 'identity_mismatch', async (loop) => {
        const r = await loop.feedback.file(CLI_ACTOR, commandId, {
          outcome: flags.outcome, temperature, notes: flags.notes ?? null, namedContacts: flags.named ?? [], correctedIds: flags.corrected ?? [],
          onset: flags.onset ?? null, sampled: flags.sampled ?? null,
        });
        process.stdout.write(
          flags.json
            ? JSON.stringify(r, null, 2) + '\n'
            : [
                `feedback ${r.feedback.id}: ${r.feedback.outcome}; lead ${r.lead.id} ${r.lead.status}`,
                ...(r.newCase ? [`new case ${r.newCase.id} (from ${r.newCase.sourceCaseId ?? '-'})`] : []),
                `${r.newLeads} new leads`,
                ...(r.closedLoops.length ? [`loop closed: ${r.closedLoops.join(', ')}`] : []),
              ].join('\n') + '\n',
        );
      });
    });
}
