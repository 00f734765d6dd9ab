/**
 * @module `cordon purge [--days N]`: removes presences older than the retention limit and says what
 * was removed. The work is done by the retention service.
 */
import type { Command } from 'commander';
import { loadConfig } from '../../config.ts';
import { RetentionService } from '../../services/retention.service.ts';
import { openPresenceStore } from '../../stores/presence/open-presence-store.ts';

export function registerPurge(program: Command): void {
  program
    .command('purge')
    .description('remove presences older than the retention limit (config CORDON_RETENTION_DAYS, default 28)')
    .option('--days <n>', 'keep this many days instead of the configured retention')
    .option('--json', 'print the report as JSON')
    .action(async (flags: { days?: string; json?: boolean }) => {
      const config = loadConfig({ data: program.opts<{ data?: string }>().data, retentionDays: flags.days });
      const store = await openPresenceStore(config.presenceUrl, { owner: 'cordon purge' });
      try {
        const report = await new RetentionService(store, { retentionDays: config.retentionDays }).purge();
        if (flags.json) {
          console.log(JSON.stringify(report, null, 2));
        } else {
          const range = report.removed > 0 ? ` (starts ${new Date(report.oldestStart! * 1000).toISOString()} … ${new Date(report.newestStart! * 1000).toISOString()})` : '';
          console.log(`purged ${report.removed.toLocaleString('en-US')} presences that ended before ${report.cutoff} (retention ${report.days} days)${range}`);
        }
      } finally {
        await store.close();
      }
    });
}
