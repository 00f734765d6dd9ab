import { generateCity } from '../src/sim/generate.ts';
const t0 = process.cpuUsage();
let mark = 0;
let first = true;
const s = await generateCity({ seed: 1, people: 100000, days: 4, out: '/tmp/probe-gen', onProgress: (p) => {
  if (first) { first = false; const t = process.cpuUsage(t0); mark = (t.user + t.system) / 1e6; console.log('setup cpu s', mark); }
} });
const t = process.cpuUsage(t0);
console.log('total cpu', (t.user + t.system) / 1e6, 'loop rows/cpu-s', Math.round(s.presences / ((t.user + t.system) / 1e6 - mark)));
