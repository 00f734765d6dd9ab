import { RowWriter } from '../src/sim/csv-sink.ts';
import { Clock } from '../src/sim/clock.ts';
const clock = new Clock('2020-01-20', 14, 'Asia/Shanghai');
clock.prepare(-1, 15);
const enc = (t: string): Uint8Array => new Uint8Array(Buffer.from(t, 'latin1'));
const phone = enc('phone,'), cellK = enc(',cell,'), tail = enc(',,,,telecom');
const phones = new Uint8Array(1000 * 11).fill(49);
const cells = Array.from({ length: 100 }, (_, i) => enc(`NB800-${String(i).padStart(3, '0')}-045`));
function writeCell(w: RowWriter, p: number, c: Uint8Array, a: number, e: number): void {
  w.begin();
  w.raw(phone); w.rawRange(phones, (p % 1000) * 11, 11); w.raw(cellK); w.raw(c); w.comma();
  clock.writeIso(w, a); w.comma(); clock.writeIso(w, e); w.raw(tail); w.end();
}
for (let round = 0; round < 3; round++) {
  const w = new RowWriter('/tmp/probe-rows.csv', ['a']);
  const t0 = process.cpuUsage();
  for (let i = 0; i < 3_000_000; i++) {
    writeCell(w, i, cells[i % 100], (i % 20000), (i % 20000) + 30);
    if ((i & 4095) === 0 && w.busy) await w.drain();
  }
  await w.close();
  const t = process.cpuUsage(t0);
  console.log('rows/cpu-s', Math.round(3e6 / ((t.user + t.system) / 1e6)), 'user', t.user / 1e6, 'sys', t.system / 1e6);
}
