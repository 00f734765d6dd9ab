/**
 * @module `cordon generate`: writes a deterministic synthetic city and outbreak (canonical files
 * plus `truth.json`) into a folder, with a progress bar on a terminal and a summary.
 */
import path from 'node:path';
import type { Command } from 'commander';
import { generateCity } from '../../sim/generate.ts';

function wholeNumber(name: string, min: number, max: number): (value: string) => number {
  return (value: string) => {
    if (!/^\d+$/.test(value.trim())) throw new Error(`--${name} "${value}" is not a whole number (expected ${min}–${max})`);
    const n = Number(value);
    if (n < min || n > max) throw new Error(`--${name} ${n} is out of range (expected ${min}–${max})`);
    return n;
  };
}

const count = (n: number): string => n.toLocaleString('en-US');

export function registerGenerate(program: Command): void {
  program
    .command('generate')
    .description('generate a synthetic Ningbo-like city and outbreak with ground truth (canonical CSV, GeoJSON, truth.json)')
    .requiredOption('--out <dir>', 'output folder (created; files in it are overwritten)')
    .option('--seed <n>', 'random seed; the same seed gives byte-identical files', wholeNumber('seed', 0, 4294967295), 1)
    .option('--people <n>', 'residents (visitors come on top, about 2%)', wholeNumber('people', 50, 20_000_000), 20000)
    .option('--days <n>', 'days of presences', wholeNumber('days', 1, 60), 14)
    .option('--start <date>', 'first day, YYYY-MM-DD', '2020-01-20')
    .option('--tz <zone>', 'IANA time zone of the local times', 'Asia/Shanghai')
    .action(async (flags: { out: string; seed: number; people: number; days: number; start: string; tz: string }) => {
      const tty = process.stderr.isTTY === true;
      let lastDraw = 0;
      const summary = await generateCity({
        seed: flags.seed,
        people: flags.people,
        days: flags.days,
        out: flags.out,
        start: flags.start,
        timeZone: flags.tz,
        onProgress: (p) => {
          if (!tty) return;
          const now = Date.now();
          if (now - lastDraw < 100 && p.peopleDone < p.people) return;
          lastDraw = now;
          const width = 30;
          const frac = p.people > 0 ? Math.min(1, p.peopleDone / p.people) : 0;
          const bar = '█'.repeat(Math.round(frac * width)).padEnd(width, '░');
          process.stderr.write(`\rgenerating [${bar}] ${(frac * 100).toFixed(0).padStart(3)}%  ${count(p.presences)} presences\x1b[K`);
        },
      });
      if (tty) process.stderr.write('\r\x1b[K');
      const lines = [
        `generated ${path.resolve(summary.out)} (seed ${summary.seed}, ${summary.days} days from ${summary.start})`,
        `  ${count(summary.residents)} residents in ${count(summary.households)} households, ${count(summary.visitors)} visitors, ${count(summary.places)} places, ${count(summary.identityLinks)} identity links`,
        `  outbreak: ${summary.indexCases} index cases, ${count(summary.infections)} infections (truth.json)`,
        `  imperfections: ${count(summary.malformedRows)} malformed rows, ${count(summary.duplicateRows)} duplicate rows (listed in truth.json)`,
      ];
      for (const f of summary.files) lines.push(`  ${f.name.padEnd(26)} ${count(f.rows).padStart(12)} rows ${(f.bytes / 1e6).toFixed(1).padStart(9)} MB`);
      lines.push(`  ${count(summary.presences)} presences in ${summary.seconds.toFixed(1)} s: ${count(Math.round(summary.presences / summary.seconds))} presences/s`);
      console.log(lines.join('\n'));
    });
}
