/**
 * @module `cordon commands`: a unit's inbox (`--jurisdiction CODE`), and accepting, starting,
 * transferring, showing the history of a command, and the overdue sweep, for scripts.
 */
import type { Command } from 'commander';
import { COMMAND_STATES, type CommandState } from '../../domain/command.ts';
import type { CommandRecord } from '../../stores/records/records-store.ts';
import { CLI_ACTOR, withLoop } from './case.ts';

function line(c: CommandRecord): string {
  return `${c.id}  ${c.type.padEnd(21)} ${c.priority.padEnd(6)} ${c.state.padEnd(11)} unit ${c.jurisdiction}` +
    `${c.escalatedTo ? ` ↑${c.escalatedTo}` : ''}  due ${c.deadline}${c.overdue ? '  OVERDUE' : ''}  lead ${c.leadId}`;
}

function print(json: boolean | undefined, data: unknown, text: () => string): void {
  process.stdout.write(json ? JSON.stringify(data, null, 2) + '\n' : text() + '\n');
}

export function registerCommandsCommand(program: Command): void {
  const commands = program.command('commands').description("commands (指令): a unit's inbox, accept, start, transfer, history, sweep");

  commands
    .command('list', { isDefault: true })
    .description("list a unit's inbox (its subtree, and commands escalated to it), by deadline")
    .option('--jurisdiction <CODE>', 'the unit (default: the whole tree)')
    .option('--state <STATE>', `only this state (${COMMAND_STATES.join(', ')}); repeatable`, (v: string, prev: string[] = []) => [...prev, v])
    .option('--open', 'only commands not closed')
    .option('--overdue', 'only overdue commands')
    .option('--limit <N>', 'at most N commands', '100')
    .option('--json', 'print as JSON')
    .action(async (flags: { jurisdiction?: string; state?: string[]; open?: boolean; overdue?: boolean; limit: string; json?: boolean }, cmd: Command) => {
      const bad = (flags.state ?? []).filter((s) => !(COMMAND_STATES as readonly string[]).includes(s));
      if (bad.length) throw new Error(`--state ${bad.join(', ')}: not one of ${COMMAND_STATES.join(', ')}`);
      const limit = Number(flags.limit);
      if (!Number.isInteger(limit) || limit < 1) throw new Error(`--limit "${flags.limit}" must be a whole number ≥ 1`);
      await withLoop(cmd, false, async (loop) => {
        const tree = await loop.jurisdictions.tree();
        if (flags.jurisdiction && !tree.has(flags.jurisdiction)) throw new Error(`--jurisdiction ${flags.jurisdiction}: no such unit`);
        const actor = flags.jurisdiction ? { ...CLI_ACTOR, jurisdiction: flags.jurisdiction } : CLI_ACTOR;
        const states = flags.state?.length ? (flags.state as CommandState[]) : flags.open ? COMMAND_STATES.filter((s) => s !== 'closed') : undefined;
        const r = await loop.commands.inbox(actor, { ...(states ? { states } : {}), ...(flags.overdue ? { overdue: true } : {}), limit });
        print(flags.json, r, () => [`${r.total} commands${r.total > r.commands.length ? ` (showing ${r.commands.length})` : ''}`, ...r.commands.map(line)].join('\n'));
      });
    });

  for (const [name, what] of [['accept', 'accept a pushed command'], ['start', 'start work on an accepted command']] as const) {
    commands
      .command(`${name} <commandId>`)
      .description(what)
      .option('--json', 'print as JSON')
      .action(async (id: string, flags: { json?: boolean }, cmd: Command) => {
        await withLoop(cmd, false, async (loop) => {
          const c = name === 'accept' ? await loop.commands.accept(CLI_ACTOR, id) : await loop.commands.start(CLI_ACTOR, id);
          print(flags.json, c, () => line(c));
        });
      });
  }

  commands
    .command('transfer <commandId>')
    .description('transfer a command to another unit, with a reason')
    .requiredOption('--to <CODE>', 'the unit that takes it over')
    .requiredOption('--reason <TEXT>', 'why (kept in the history)')
    .option('--json', 'print as JSON')
    .action(async (id: string, flags: { to: string; reason: string; json?: boolean }, cmd: Command) => {
      await withLoop(cmd, false, async (loop) => {
        const c = await loop.commands.transfer(CLI_ACTOR, id, flags.to, flags.reason);
        print(flags.json, c, () => line(c));
      });
    });

  commands
    .command('history <commandId>')
    .description("a command's every step: who, when, what, why")
    .option('--json', 'print as JSON')
    .action(async (id: string, flags: { json?: boolean }, cmd: Command) => {
      await withLoop(cmd, false, async (loop) => {
        const h = await loop.commands.history(CLI_ACTOR, id);
        print(flags.json, h, () =>
          [line(h.command), ...h.events.map((e) => `  ${e.seq}. ${e.at}  ${e.kind.padEnd(11)} ${e.fromState ?? '-'} → ${e.toState}  ${e.toJurisdiction ?? ''}  by ${e.actorUserId} (${e.actorRole})${e.reason ? `  — ${e.reason}` : ''}`)].join('\n'),
        );
      });
    });

  commands
    .command('sweep')
    .description('mark overdue commands and escalate them to the parent unit')
    .option('--json', 'print as JSON')
    .action(async (flags: { json?: boolean }, cmd: Command) => {
      await withLoop(cmd, false, async (loop) => {
        const r = await loop.commands.sweepOverdue(CLI_ACTOR);
        print(flags.json, r, () => `${r.overdue} commands newly overdue or escalated; ${r.escalated} escalations`);
      });
    });
}
