/**
 * @module The list of subcommands. Add one line per command file.
 */
import type { Command } from 'commander';
import { registerCase } from './case.ts';
import { registerCommandsCommand } from './commands.ts';
import { registerFeedback } from './feedback.ts';
import { registerJurisdictions } from './jurisdictions.ts';
import { registerTrace } from './trace.ts';
import { registerServe } from './serve.ts';
import { registerUsers } from './users.ts';
import { registerIngest } from './ingest.ts';
import { registerPurge } from './purge.ts';
import { registerIdentity } from './identity.ts';
import { registerGenerate } from './generate.ts';

export function registerCommands(program: Command): void {
  void program;
  registerJurisdictions(program);
  registerCase(program);
  registerCommandsCommand(program);
  registerFeedback(program);
  registerTrace(program);
  registerServe(program);
  registerUsers(program);
  registerIngest(program);
  registerPurge(program);
  registerIdentity(program);
  registerGenerate(program);
}
