import { describe, expect, it } from 'vitest';
import { ConfigError, DEFAULT_SECRET, loadConfig } from './config.ts';

function problems(flags: Record<string, string>, env: Record<string, string> = {}): string[] {
  try {
    loadConfig(flags, env);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  return [];
}

describe('loadConfig', () => {
  it('has working defaults', () => {
    const sut = loadConfig({}, {});
    expect(sut.port).toBe(8080);
    expect(sut.host).toBe('127.0.0.1');
    expect(sut.retentionDays).toBe(28);
    expect(sut.databaseUrl).toMatch(/^sqlite:.*records\.sqlite$/);
    expect(sut.presenceUrl).toMatch(/^duckdb:.*presence\.duckdb$/);
    expect(sut.demoStart).toMatch(/^\d{4}-\d{2}-\d{2}$/);
  });

  it('lets flags win over the environment', () => {
    const sut = loadConfig({ port: '9000' }, { CORDON_PORT: '9100', CORDON_RETENTION_DAYS: '14' });
    expect(sut.port).toBe(9000);
    expect(sut.retentionDays).toBe(14);
  });

  it('names every bad value with where it came from', () => {
    const found = problems({ port: 'eighty' }, { CORDON_TZ: 'Mars/Olympus', CORDON_RETENTION_DAYS: '0', CORDON_DATABASE_URL: 'mysql://x', CORDON_DEMO_START: '2020-02-30' });
    expect(found).toHaveLength(5);
    expect(found.join('\n')).toContain('--port="eighty" is not a whole number');
    expect(found.join('\n')).toContain('CORDON_TZ="Mars/Olympus"');
    expect(found.join('\n')).toContain('CORDON_RETENTION_DAYS=0 is out of range');
    expect(found.join('\n')).toContain('CORDON_DATABASE_URL="mysql://x" must start with sqlite: or postgres://');
    expect(found.join('\n')).toContain('CORDON_DEMO_START="2020-02-30" is not a calendar date');
  });

  it('refuses production with the default secret, and hides passwords in URLs', () => {
    expect(problems({}, { CORDON_MODE: 'production' }).join()).toMatch(/CORDON_SECRET/);
    expect(problems({}, { CORDON_MODE: 'production', CORDON_SECRET: DEFAULT_SECRET }).join()).toMatch(/default secret is refused/);
    expect(problems({}, { CORDON_MODE: 'production', CORDON_SECRET: 'x'.repeat(40) })).toEqual([]);
    expect(problems({}, { CORDON_PRESENCE_URL: 'mongo://u:hunter2@h/db' }).join()).not.toContain('hunter2');
  });

  it('checks that a push rules file exists', () => {
    expect(problems({}, { CORDON_PUSH_RULES: '/nonexistent/rules.json' }).join()).toContain('no such file');
  });
});
