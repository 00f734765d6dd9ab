/**
 * @module Benchmark of the synthetic city generator: presences per second, bytes written, peak RSS.
 * `node bin/run-ts.js bench/generate.ts --people 200000 --days 14 [--seed 1] [--out DIR] [--keep]`
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { generateCity } from '../src/sim/generate.ts';

const { values } = parseArgs({
  options: {
    people: { type: 'string', default: '200000' },
    days: { type: 'string', default: '14' },
    seed: { type: 'string', default: '1' },
    out: { type: 'string' },
    keep: { type: 'boolean', default: false },
  },
});
const people = Number(values.people);
const days = Number(values.days);
const seed = Number(values.seed);
const out = values.out ?? fs.mkdtempSync(path.join(os.tmpdir(), 'cordon-bench-generate-'));

// Peak RSS sampled while generating (the generator yields to the event loop now and then).
let peakRss = process.memoryUsage().rss;
const sampler = setInterval(() => {
  peakRss = Math.max(peakRss, process.memoryUsage().rss);
}, 50);
const cpuBefore = process.cpuUsage();
const summary = await generateCity({
  seed,
  people,
  days,
  out,
  onProgress: () => {
    peakRss = Math.max(peakRss, process.memoryUsage().rss);
  },
});
clearInterval(sampler);
const cpu = process.cpuUsage(cpuBefore);
const cpuSeconds = (cpu.user + cpu.system) / 1e6;
peakRss = Math.max(peakRss, process.memoryUsage().rss, process.resourceUsage().maxRSS * 1024);

const bytes = summary.files.reduce((s, f) => s + f.bytes, 0);
const presenceBytes = summary.files.filter((f) => f.name.startsWith('presences-')).reduce((s, f) => s + f.bytes, 0);
const mb = (n: number): string => (n / 1e6).toFixed(1);
console.log(`generate: people=${people} days=${days} seed=${seed} out=${out}`);
// The machine may be shared: the load says how much of the two cores this run could have had.
console.log(`load average        ${os.loadavg().map((l) => l.toFixed(1)).join(' ')} on ${os.cpus().length} cores`);
for (const f of summary.files) console.log(`  ${f.name.padEnd(28)} ${String(f.rows).padStart(11)} rows ${mb(f.bytes).padStart(9)} MB`);
console.log(`presences           ${summary.presences}`);
console.log(`seconds             ${summary.seconds.toFixed(2)}`);
console.log(`presences/s         ${Math.round(summary.presences / summary.seconds)} (wall clock)`);
// The machine may be shared: CPU time shows what the generator itself costs.
console.log(`CPU seconds         ${cpuSeconds.toFixed(2)} (user ${(cpu.user / 1e6).toFixed(2)}, system ${(cpu.system / 1e6).toFixed(2)}); ${Math.round(summary.presences / cpuSeconds)} presences per CPU-second`);
console.log(`bytes written       ${bytes} (${mb(bytes)} MB; presence files ${mb(presenceBytes)} MB, ${(presenceBytes / summary.presences).toFixed(1)} B/row)`);
console.log(`MB/s                ${mb(bytes / summary.seconds)}`);
console.log(`peak RSS            ${mb(peakRss)} MB`);
console.log(`outbreak            ${summary.indexCases} index cases, ${summary.infections} infections`);
console.log(`imperfections       ${summary.malformedRows} malformed rows, ${summary.duplicateRows} duplicate rows`);
if (!values.keep && !values.out) fs.rmSync(out, { recursive: true, force: true });
