import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cordon-cli-trace-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
const cli = path.resolve('bin/cordon.js');
const data = path.join(dir, 'data');

function run(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const env: NodeJS.ProcessEnv = { ...process.env, CORDON_DATA: data };
  delete env.CORDON_PRESENCE_URL;
  delete env.CORDON_DATABASE_URL;
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', env });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('cordon trace', () => {
  beforeAll(() => {
    const file = path.join(dir, 'p.csv');
    fs.writeFileSync(file, [
      'id_kind,id_value,place_kind,place_id,start,end,sub,lat,lon,source',
      'phone,13800000001,venue,V1,2020-01-25T14:00:00+08:00,2020-01-25T15:00:00+08:00,,,,qr',
      'phone,13800000002,venue,V1,2020-01-25T14:20:00+08:00,2020-01-25T15:30:00+08:00,,,,qr',
      'phone,13800000003,venue,V1,2020-01-25T14:50:00+08:00,2020-01-25T16:00:00+08:00,,,,qr',
    ].join('\n'));
    expect(run('ingest', file).status).toBe(0);
  }, 120_000);

  it('refuses to read a trajectory without a purpose, and reads nothing', () => {
    const sut = run('trace', '--id', 'phone:13800000001', '--onset', '2020-01-26', '--isolated', '2020-01-27');
    expect(sut.status).toBe(1);
    expect(sut.stderr).toContain('--purpose: a purpose is required');
    expect(sut.stdout).toBe('');
  });

  it('traces with a purpose and writes the audit row (masked subject, purpose, case, UTC time)', () => {
    const sut = run('trace', '--id', 'phone:13800000001', '--onset', '2020-01-26', '--isolated', '2020-01-27', '--degree', '1', '--json', '--purpose', 'confirmed case investigation', '--case', 'C-1');
    expect(sut.status, sut.stderr).toBe(0);
    const result = JSON.parse(sut.stdout) as { contacts: { key: string; category: string }[] };
    // 40 minutes together is close; 10 minutes is general.
    expect(result.contacts.map((c) => [c.key, c.category]).sort()).toEqual([['phone:13800000002', 'close'], ['phone:13800000003', 'general']]);
    const db = new Database(path.join(data, 'records.sqlite'), { readonly: true });
    try {
      const rows = db.prepare("SELECT * FROM audit WHERE action = 'trace.export'").all() as Record<string, unknown>[];
      expect(rows).toHaveLength(1);
      expect(rows[0]).toMatchObject({ purpose: 'confirmed case investigation', case_id: 'C-1', role: 'cli' });
      expect(String(rows[0].subject)).not.toContain('13800000001');
      expect(String(rows[0].at)).toMatch(/Z$/);
    } finally {
      db.close();
    }
  });
});
