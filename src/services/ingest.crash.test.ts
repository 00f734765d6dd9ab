import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DuckDbPresenceStore } from '../stores/presence/duckdb/duckdb-presence-store.ts';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cordon-ingest-crash-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('ingest killed half-way', () => {
  it('leaves only whole batches in the store', async () => {
    const file = path.join(dir, 'p.csv');
    const lines = ['id_kind,id_value,place_kind,place_id,start,end,sub,lat,lon,source'];
    const t0 = Date.UTC(2020, 0, 20) / 1000;
    for (let i = 0; i < 60_000; i++) {
      lines.push(`phone,${1380000000 + (i % 5000)},venue,V${i % 700},${new Date((t0 + i * 7) * 1000).toISOString().replace('.000Z', 'Z')},,,,,feed`);
    }
    fs.writeFileSync(file, lines.join('\n') + '\n');
    const db = path.join(dir, 'presence.duckdb');
    const script = `
import { DuckDbPresenceStore } from ${JSON.stringify(path.resolve('src/stores/presence/duckdb/duckdb-presence-store.ts'))};
import { IngestService } from ${JSON.stringify(path.resolve('src/services/ingest.service.ts'))};
const store = await DuckDbPresenceStore.open(${JSON.stringify(db)}, { threads: 1 });
const sut = new IngestService(store, { timeZone: 'Asia/Shanghai', rejectsDir: ${JSON.stringify(dir)}, batchRows: 1000 });
await sut.ingestFile(${JSON.stringify(file)}, { onProgress: (p) => { if (p.phase === 'storing') console.log('committed', p.done); } });
console.log('finished');`;
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    const killed = await new Promise<boolean>((resolve) => {
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        // Kill at once after the third committed batch: the next batch is being written.
        if ((out.match(/committed/g) ?? []).length >= 3 && !child.killed) {
          child.kill('SIGKILL');
          resolve(true);
        }
      });
      child.on('exit', () => resolve(child.killed));
    });
    await new Promise((r) => child.once('close', r));
    expect(killed).toBe(true);
    expect(out).not.toContain('finished');
    const sut = await DuckDbPresenceStore.open(db, { threads: 1 });
    const stats = await sut.stats();
    await sut.close();
    expect(stats.presences).toBeGreaterThanOrEqual(3000);
    expect(stats.presences).toBeLessThan(60_000);
    expect(stats.presences % 1000).toBe(0);
  });
});
