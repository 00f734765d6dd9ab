import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const root = path.resolve(import.meta.dirname, '../../..');
const cordon = (args: string[]): { status: number | null; stdout: string; stderr: string } => {
  const r = spawnSync(process.execPath, [path.join(root, 'bin/cordon.js'), ...args], { encoding: 'utf8', cwd: root });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
};

describe('cordon generate', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cordon-generate-cli-'));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('writes the city and prints a summary with files, rows and presences per second', () => {
    const out = path.join(dir, 'city');
    const sut = cordon(['generate', '--seed', '3', '--people', '200', '--days', '2', '--out', out, '--start', '2020-01-22']);
    expect(sut.status, sut.stderr).toBe(0);
    expect(sut.stdout).toContain('seed 3, 2 days from 2020-01-22');
    expect(sut.stdout).toMatch(/presences-telecom\.csv\s+[\d,]+ rows/);
    expect(sut.stdout).toMatch(/[\d,]+ presences in [\d.]+ s: [\d,]+ presences\/s/);
    for (const f of ['jurisdictions.geojson', 'roads.geojson', 'people.csv', 'places.csv', 'identity-links.csv', 'presences-household.csv', 'truth.json']) {
      expect(fs.existsSync(path.join(out, f)), f).toBe(true);
    }
    expect(fs.readFileSync(path.join(out, 'presences-household.csv'), 'utf8')).toContain('2020-01-22T');
    // Not a terminal here: no progress bar on stderr.
    expect(sut.stderr).not.toContain('generating [');
  });

  it('refuses bad flags with a message naming the flag', () => {
    const sut = cordon(['generate', '--people', 'many', '--out', path.join(dir, 'bad')]);
    expect(sut.status).not.toBe(0);
    expect(sut.stderr).toContain('--people "many" is not a whole number');
    const date = cordon(['generate', '--start', '2020-13-01', '--people', '100', '--days', '1', '--out', path.join(dir, 'bad2')]);
    expect(date.status).not.toBe(0);
    expect(date.stderr).toContain('start "2020-13-01" is not a real calendar date');
  });
});
