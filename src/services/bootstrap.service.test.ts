import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../config.ts';
import { startCordon, type StartReporter } from './bootstrap.service.ts';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cordon-bootstrap-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function recorder(): { reporter: StartReporter; lines: string[] } {
  const lines: string[] = [];
  return {
    lines,
    reporter: { step: (m) => lines.push(`step ${m}`), note: (m) => lines.push(`note ${m}`), progress: () => undefined },
  };
}

describe('starting Cordon on an empty data folder', () => {
  const config = loadConfig({ data: dir }, { CORDON_DEMO_PEOPLE: '150', CORDON_DEMO_DAYS: '2' });

  it('generates and loads the demo city, builds the index and creates one demo user per role', async () => {
    const { reporter, lines } = recorder();
    const { runtime: sut, demoUsers } = await startCordon(config, reporter);
    try {
      expect(lines).toContain('step first start with an empty data folder: loading the demo city');
      expect(lines.some((l) => l.startsWith('step building the trace index'))).toBe(true);
      const stats = await sut.presence?.stats();
      expect(stats?.presences).toBeGreaterThan(0);
      expect(sut.tracer?.build?.rows).toBe(stats?.presences);
      const tree = await sut.loop.jurisdictions.tree();
      expect(tree.size).toBeGreaterThan(10);
      expect(demoUsers.map((u) => u.role).sort()).toEqual(['admin', 'analyst', 'auditor', 'commander', 'health_liaison', 'precinct_officer', 'quarantine_staff']);
      const officer = demoUsers.find((u) => u.role === 'precinct_officer');
      expect(tree.get(officer?.user.jurisdiction ?? '')?.name).toContain('骆驼');
      for (const u of demoUsers) {
        expect(u.user.mustChangePassword).toBe(true);
        expect(u.totpSecret !== null).toBe(['admin', 'analyst', 'commander'].includes(u.role));
      }
      // A demo user can log in with the printed one-time password.
      const login = await sut.auth.login({ username: 'officer', password: officer?.oneTimePassword ?? '' });
      expect(login.principal.role).toBe('precinct_officer');
    } finally {
      await sut.close();
    }
  });

  it('on a later start only opens the stores and builds the index', async () => {
    const { reporter, lines } = recorder();
    const { runtime: sut, demoUsers } = await startCordon(config, reporter);
    try {
      expect(demoUsers).toEqual([]);
      expect(lines.some((l) => l.includes('demo city'))).toBe(false);
      expect(sut.tracer?.build?.rows).toBeGreaterThan(0);
      expect((await sut.users.count())).toBe(7);
    } finally {
      await sut.close();
    }
  });
});
