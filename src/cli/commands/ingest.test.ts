import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DuckDbPresenceStore } from '../../stores/presence/duckdb/duckdb-presence-store.ts';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cordon-cli-ingest-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
const cli = path.resolve('bin/cordon.js');
const HEADER = 'id_kind,id_value,place_kind,place_id,start,end,sub,lat,lon,source';

function run(dataDir: string, ...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const env: NodeJS.ProcessEnv = { ...process.env, CORDON_DATA: dataDir };
  delete env.CORDON_PRESENCE_URL;
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', env });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('cordon ingest', () => {
  it('refuses a file in no known format with a clear error, a non-zero exit and nothing written', () => {
    const data = path.join(dir, 'data-bad');
    const file = path.join(dir, 'letter.txt');
    fs.writeFileSync(file, 'Dear officer,\nplease find attached\n');
    const sut = run(data, 'ingest', file);
    expect(sut.status).toBe(1);
    expect(sut.stderr).toContain('letter.txt: not a known format');
    expect(fs.existsSync(data)).toBe(false);
  });

  it('prints a summary per file with the rejects path, and adds nothing on a second run', () => {
    const data = path.join(dir, 'data-ok');
    const file = path.join(dir, 'p.csv');
    fs.writeFileSync(file, [HEADER, 'phone,1,venue,V1,2020-01-25T14:05:00+08:00,,,,,', 'phone,2,venue,V1,2020-02-30T14:05:00+08:00,,,,,'].join('\n'));
    const first = run(data, 'ingest', file);
    expect(first.status).toBe(0);
    expect(first.stdout).toMatch(/rows read 2 {2}accepted 1 {2}rejected 1 {2}duplicates skipped 0/);
    const rejects = /rejects: (.+)/.exec(first.stdout)?.[1] ?? '';
    expect(fs.readFileSync(rejects, 'utf8')).toContain('3,start,impossible date or time,2020-02-30T14:05:00+08:00');
    const second = run(data, 'ingest', file);
    expect(second.stdout).toMatch(/accepted 0 {2}rejected 1 {2}duplicates skipped 1/);
    const json = JSON.parse(run(data, 'ingest', '--json', file).stdout) as Record<string, unknown>;
    expect(json).toMatchObject({ kind: 'presences', rowsRead: 2, accepted: 0, rejected: 1, duplicates: 1 });
  });

  it('says who holds the store when another process has it open', async () => {
    const data = path.join(dir, 'data-busy');
    const file = path.join(dir, 'p2.csv');
    fs.writeFileSync(file, [HEADER, 'phone,1,venue,V1,2020-01-25T14:05:00+08:00,,,,,'].join('\n'));
    const holder = await DuckDbPresenceStore.open(path.join(data, 'presence.duckdb'), { owner: 'cordon serve', threads: 1 });
    try {
      const sut = run(data, 'ingest', file);
      expect(sut.status).toBe(1);
      expect(sut.stderr).toContain(`in use by process ${process.pid} (cordon serve)`);
      expect(sut.stderr).toMatch(/stop that process|POST \/api\/ingest/);
    } finally {
      await holder.close();
    }
  });
});
