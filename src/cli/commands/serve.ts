/**
 * @module `cordon serve` (what `npm start` runs): starts Cordon — on a first demo start it generates
 * and loads the demo city — and serves the command center and the API, printing the URL.
 */
import type { Command } from 'commander';
import { loadConfig } from '../../config.ts';
import { RetentionService } from '../../services/retention.service.ts';
import { startCordon, type DemoUser, type StartReporter } from '../../services/bootstrap.service.ts';
import { buildCordonServer } from '../../server/cordon-server.ts';

interface ServeFlags {
  port?: string;
  host?: string;
  data?: string;
  log?: boolean;
}

/** Progress on stderr: one rewritten line on a terminal, a line every few seconds otherwise. */
export function stderrReporter(stream: NodeJS.WriteStream = process.stderr): StartReporter {
  const tty = stream.isTTY === true;
  let lastLabel = '';
  let lastAt = 0;
  let open = false;
  let stepAt = Date.now();
  const endLine = (): void => {
    if (open) stream.write('\n');
    open = false;
  };
  return {
    step: (message) => {
      endLine();
      stepAt = Date.now();
      stream.write(`• ${message}\n`);
    },
    note: (message) => {
      endLine();
      stream.write(`  ${message}\n`);
    },
    progress: (label, done, total) => {
      const now = Date.now();
      const elapsed = `${Math.round((now - stepAt) / 1000)} s`;
      const text =
        total > 0
          ? `${label}: ${done.toLocaleString('en')} / ${total.toLocaleString('en')} (${Math.floor((100 * done) / total)}%, ${elapsed})`
          : done > 0
            ? `${label}: ${done.toLocaleString('en')} (${elapsed})`
            : `${label}… (${elapsed})`;
      if (tty) {
        if (now - lastAt < 100 && label === lastLabel && done !== total) return;
        stream.write(`\r  ${text}\x1b[K`);
        open = true;
      } else {
        if (now - lastAt < 3000 && label === lastLabel && done !== total) return;
        stream.write(`  ${text}\n`);
      }
      lastAt = now;
      lastLabel = label;
    },
  };
}

/** The demo users' one-time secrets, printed once. */
export function formatDemoUsers(users: readonly DemoUser[]): string {
  const lines = [
    '',
    'Demo users (one-time passwords: each must be changed at first login; shown only now):',
    '',
  ];
  for (const u of users) {
    lines.push(`  ${u.user.username.padEnd(11)} ${u.role.padEnd(17)} ${u.user.jurisdiction.padEnd(14)} password ${u.oneTimePassword}`);
    if (u.totpSecret) lines.push(`  ${''.padEnd(11)} ${''.padEnd(17)} ${''.padEnd(14)} TOTP secret ${u.totpSecret} (add to an authenticator app)`);
  }
  lines.push('');
  return lines.join('\n');
}

export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('serve the command center and the API (on a first demo start: generate and load the demo city)')
    .option('--port <n>', 'port (env CORDON_PORT, default 8080)')
    .option('--host <addr>', 'address to listen on (env CORDON_HOST, default 127.0.0.1)')
    .option('--no-log', 'do not write request log lines to stdout')
    .action(async (_opts: ServeFlags, cmd: Command) => {
      const flags = cmd.optsWithGlobals<ServeFlags>();
      const config = loadConfig({ port: flags.port, host: flags.host, data: flags.data });
      const reporter = stderrReporter();
      const { runtime, demoUsers } = await startCordon(config, reporter);
      if (demoUsers.length) process.stdout.write(formatDemoUsers(demoUsers) + '\n');
      else if ((await runtime.users.count()) === 0) {
        process.stderr.write('  no users yet: create the first one with `cordon users add --username NAME --role admin --jurisdiction CODE`\n');
      }
      const { app } = await buildCordonServer(runtime, { log: flags.log !== false, secureCookies: config.mode === 'production' });
      await app.listen({ port: config.port, host: config.host });
      const url = `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${config.port}`;
      process.stdout.write(`Cordon is running at ${url}  (API documentation: ${url}/api/docs)\n`);

      // Overdue commands escalate and stale sessions go, without anyone asking.
      const sweep = setInterval(() => {
        runtime.loop.commands.sweepOverdue({ userId: 'system', role: 'system', jurisdiction: '*' }).catch((err: unknown) => {
          app.log.error({ err: err instanceof Error ? err.name : 'error' }, 'overdue sweep failed');
        });
        runtime.auth.sweepSessions().catch(() => undefined);
      }, 60_000);
      sweep.unref();

      // Presences past the retention limit are purged hourly; each purge is written to the audit trail.
      const retention = runtime.presence ? new RetentionService(runtime.presence, { retentionDays: config.retentionDays }) : null;
      retention?.start(
        (report) => {
          runtime.audit.record(null, 'retention.purge', 'ok', { username: 'system', detail: report }).catch(() => undefined);
        },
        (err: unknown) => app.log.error({ err: err instanceof Error ? err.name : 'error' }, 'retention purge failed'),
      );

      let stopping = false;
      const stop = async (): Promise<void> => {
        if (stopping) return;
        stopping = true;
        clearInterval(sweep);
        retention?.stop();
        process.stderr.write('\nstopping…\n');
        await app.close();
        await runtime.close();
        process.exit(0);
      };
      process.on('SIGINT', () => void stop());
      process.on('SIGTERM', () => void stop());
    });
}
