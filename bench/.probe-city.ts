import { buildCity } from '/work/main/src/sim/city.ts';
const t0 = process.cpuUsage();
const c = buildCity(1, 200000, 14, 2020);
const t = process.cpuUsage(t0);
console.log('buildCity 200k cpu s', (t.user + t.system) / 1e6, c.people);
