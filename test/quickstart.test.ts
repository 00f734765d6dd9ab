/**
 * @module The README's quick start as a newcomer runs it: `npm start` on an empty data folder generates
 * the demo city, prints its URL, and the command center and the API documentation answer there.
 * (`npm install` is what CI's fresh clone has just run; this suite runs inside that clone.)
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

describe('quick start: npm start', () => {
  let child: ChildProcess | undefined;
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cordon-quickstart-'));

  afterAll(() => {
    // npm does not always pass the signal on: end the whole process group it leads.
    if (child?.pid) {
      try {
        process.kill(-child.pid, 'SIGTERM');
      } catch {
        /* already gone */
      }
    }
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('generates the demo city on first start and answers on the URL it prints', async () => {
    const port = await freePort();
    child = spawn('npm', ['start'], {
      cwd: path.resolve(import.meta.dirname, '..'),
      env: { ...process.env, CORDON_DATA: dataDir, CORDON_PORT: String(port), CORDON_DEMO_PEOPLE: '1000', CORDON_DEMO_DAYS: '7' },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    let output = '';
    child.stdout?.on('data', (b: Buffer) => (output += b.toString()));
    child.stderr?.on('data', (b: Buffer) => (output += b.toString()));

    const url = await new Promise<string>((resolve, reject) => {
      const timer = setInterval(() => {
        const m = /Cordon is running at (http:\/\/\S+)/.exec(output);
        if (m) {
          clearInterval(timer);
          resolve(m[1]);
        }
      }, 200);
      child?.once('exit', (code) => {
        clearInterval(timer);
        reject(new Error(`npm start exited with ${code} before printing its URL:\n${output}`));
      });
    });
    expect(url).toBe(`http://127.0.0.1:${port}`);
    expect(output).toContain('generating the demo city');
    expect(fs.existsSync(path.join(dataDir, 'demo-city', 'truth.json'))).toBe(true);

    const home = await fetch(url);
    expect(home.status).toBe(200);
    expect(await home.text()).toMatch(/<html/i);
    const docs = await fetch(`${url}/api/docs/json`);
    expect(docs.status).toBe(200);
    const openapi = (await docs.json()) as { paths?: Record<string, unknown> };
    expect(Object.keys(openapi.paths ?? {}).length).toBeGreaterThan(5);
  }, 300_000);
});
