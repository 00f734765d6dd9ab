/**
 * @module `cordon ingest FILE|FOLDER...`: loads canonical files into the presence store, with a
 * progress bar on a terminal and a summary per file. The work is done by the ingest service.
 */
import path from 'node:path';
import fs from 'node:fs';
import type { Command } from 'commander';
import { loadConfig } from '../../config.ts';
import { IngestFormatError, IngestService, recogniseFile, type IngestProgress, type IngestSummary } from '../../services/ingest.service.ts';
import { openDuckDbScratch } from '../../stores/presence/duckdb/duckdb-presence-store.ts';
import { openPresenceStore } from '../../stores/presence/open-presence-store.ts';

function count(n: number): string {
  return n.toLocaleString('en-US');
}

/** One line per file: what was read, stored, refused and skipped. */
export function formatSummary(s: IngestSummary): string {
  const lines = [
    `${s.file}  (${s.kind}, ${s.format})`,
    `  rows read ${count(s.rowsRead)}  accepted ${count(s.accepted)}  rejected ${count(s.rejected)}  duplicates skipped ${count(s.duplicates)}`,
    `  time ${s.seconds.toFixed(2)} s  rate ${count(Math.round(s.rate))} rows/s`,
  ];
  if (s.rejectsPath) lines.push(`  rejects: ${s.rejectsPath}`);
  return lines.join('\n');
}

/** The sums over several files. */
function formatTotal(all: readonly IngestSummary[]): string {
  const sum = (f: (s: IngestSummary) => number): number => all.reduce((n, s) => n + f(s), 0);
  const seconds = sum((s) => s.seconds);
  const read = sum((s) => s.rowsRead);
  return [
    `total: ${all.length} files`,
    `  rows read ${count(read)}  accepted ${count(sum((s) => s.accepted))}  rejected ${count(sum((s) => s.rejected))}  duplicates skipped ${count(sum((s) => s.duplicates))}`,
    `  time ${seconds.toFixed(2)} s  rate ${count(Math.round(seconds > 0 ? read / seconds : 0))} rows/s`,
  ].join('\n');
}

/** A one-line progress bar redrawn on a terminal's stderr; silent when stderr is not a terminal. */
function progressBar(): { update(p: IngestProgress): void; clear(): void } {
  const tty = process.stderr.isTTY === true;
  let last = 0;
  return {
    update(p) {
      if (!tty) return;
      const now = Date.now();
      if (now - last < 100 && p.phase === 'storing') return;
      last = now;
      const width = 30;
      const frac = p.total > 0 ? Math.min(1, p.done / p.total) : (p.percent ?? 0) / 100;
      const bar = '█'.repeat(Math.round(frac * width)).padEnd(width, '░');
      const what = p.phase === 'storing' ? `storing ${count(p.done)}/${count(p.total)}` : `${p.phase}${p.percent !== undefined ? ` ${Math.round(p.percent)}%` : ''}`;
      process.stderr.write(`\r${path.basename(p.file)} [${bar}] ${what}\x1b[K`);
    },
    clear() {
      if (tty) process.stderr.write('\r\x1b[K');
    },
  };
}

export function registerIngest(program: Command): void {
  program
    .command('ingest')
    .description('load presences, identity links, people or places (CSV, JSON Lines, Parquet; a folder loads its canonical files in order)')
    .argument('<paths...>', 'files or folders')
    .option('--rejects-dir <dir>', 'folder for rejects files (default: DATA/rejects)')
    .option('--json', 'print one JSON summary per file (a JSON line each) instead of text')
    .action(async (paths: string[], flags: { rejectsDir?: string; json?: boolean }) => {
      const config = loadConfig({ data: program.opts<{ data?: string }>().data });
      // Refuse unknown or unreadable inputs before the store is opened, so nothing is written for them.
      let failed = 0;
      const inputs: string[] = [];
      for (const p of paths) {
        if (!fs.existsSync(p)) {
          console.error(`cordon ingest: ${p}: no such file or folder`);
          failed++;
          continue;
        }
        if (!fs.statSync(p).isDirectory()) {
          try {
            recogniseFile(p);
          } catch (err) {
            if (!(err instanceof IngestFormatError)) throw err;
            console.error(`cordon ingest: ${err.message}`);
            failed++;
            continue;
          }
        }
        inputs.push(p);
      }
      if (inputs.length === 0) {
        console.error('cordon ingest: nothing to ingest; nothing was written');
        process.exitCode = 1;
        return;
      }
      // A memory limit keeps big files from crowding the machine: DuckDB spills staging to disk instead.
      const store = await openPresenceStore(config.presenceUrl, { owner: 'cordon ingest', memoryLimit: '4GB' });
      const service = new IngestService(store, { timeZone: config.timeZone, rejectsDir: path.join(config.dataDir, 'rejects') }, openDuckDbScratch);
      const bar = progressBar();
      const done: IngestSummary[] = [];
      try {
        for (const p of inputs) {
          const files: string[] = [];
          if (fs.statSync(p).isDirectory()) {
            for (const entry of service.planFolder(p)) {
              if (entry.skipped) console.error(`note: skipping ${entry.file}: ${entry.skipped}`);
              else files.push(entry.file);
            }
          } else files.push(p);
          for (const file of files) {
            try {
              const summary = await service.ingestFile(file, { onProgress: (x) => bar.update(x), rejectsDir: flags.rejectsDir });
              bar.clear();
              done.push(summary);
              console.log(flags.json ? JSON.stringify(summary) : formatSummary(summary));
            } catch (err) {
              bar.clear();
              if (!(err instanceof IngestFormatError)) throw err;
              console.error(`cordon ingest: ${err.message}`);
              failed++;
            }
          }
        }
      } finally {
        await store.close();
      }
      if (done.length > 1 && !flags.json) console.log(formatTotal(done));
      if (failed > 0) {
        console.error(`cordon ingest: ${failed} file(s) not ingested (see above); nothing was written for them`);
        process.exitCode = 1;
      }
    });
}
