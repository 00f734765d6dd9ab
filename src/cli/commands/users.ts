/**
 * @module `cordon users`: administer users from the server's machine (list, add, disable, enable,
 * unlock, reset). Works on the records store alone, so it runs beside a running server.
 */
import type { Command } from 'commander';
import { loadConfig } from '../../config.ts';
import { openRuntime, type Runtime } from '../../services/bootstrap.service.ts';
import { SYSTEM, type IssuedCredentials } from '../../services/user.service.ts';

async function withRuntime<T>(cmd: Command, fn: (rt: Runtime) => Promise<T>): Promise<T> {
  const flags = cmd.optsWithGlobals<{ data?: string }>();
  const rt = await openRuntime(loadConfig({ data: flags.data }), { presence: false });
  try {
    return await fn(rt);
  } finally {
    await rt.close();
  }
}

async function byName(rt: Runtime, username: string): Promise<string> {
  const u = await rt.security.userByUsername(username);
  if (!u) throw new Error(`users: no user named "${username}"`);
  return u.id;
}

function printCredentials(c: IssuedCredentials): void {
  console.log(`${c.user.username} (${c.user.role}, ${c.user.jurisdiction})`);
  console.log(`  one-time password: ${c.oneTimePassword}   (must be changed at first login)`);
  if (c.totpSecret) console.log(`  TOTP secret:       ${c.totpSecret}   (${c.totpUri})`);
}

export function registerUsers(program: Command): void {
  const users = program.command('users').description('administer users (runs beside a running server)');

  users
    .command('list')
    .description('list users')
    .action(async (_o: unknown, cmd: Command) => {
      await withRuntime(cmd, async (rt) => {
        for (const u of await rt.users.list(SYSTEM)) {
          const flags = [u.disabled ? 'disabled' : '', u.locked ? 'locked' : '', u.mustChangePassword ? 'one-time password' : ''].filter(Boolean).join(', ');
          console.log(`${u.username.padEnd(16)} ${u.role.padEnd(17)} ${u.jurisdiction.padEnd(16)} ${flags}`);
        }
      });
    });

  users
    .command('add')
    .description('create a user; prints a one-time password (and a TOTP secret for admin, analyst, commander)')
    .requiredOption('--username <name>', 'login name')
    .requiredOption('--role <role>', 'analyst, commander, precinct_officer, health_liaison, quarantine_staff, admin or auditor')
    .requiredOption('--jurisdiction <code>', 'jurisdiction code: the user sees its subtree')
    .option('--name <display>', 'display name')
    .action(async (o: { username: string; role: string; jurisdiction: string; name?: string }, cmd: Command) => {
      await withRuntime(cmd, async (rt) => {
        printCredentials(await rt.users.create(SYSTEM, { username: o.username, role: o.role, jurisdiction: o.jurisdiction, displayName: o.name }));
      });
    });

  for (const action of ['disable', 'enable', 'unlock'] as const) {
    users
      .command(`${action} <username>`)
      .description(action === 'disable' ? 'disable a user and end their sessions' : action === 'enable' ? 're-enable a user' : 'clear a lockout')
      .action(async (username: string, _o: unknown, cmd: Command) => {
        await withRuntime(cmd, async (rt) => {
          const u = await rt.users[action](SYSTEM, await byName(rt, username));
          console.log(`${u.username}: ${action}d`);
        });
      });
  }

  users
    .command('reset <username>')
    .description('issue a new one-time password (and TOTP secret) and end the user\'s sessions')
    .action(async (username: string, _o: unknown, cmd: Command) => {
      await withRuntime(cmd, async (rt) => printCredentials(await rt.users.reset(SYSTEM, await byName(rt, username))));
    });
}
