import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts', 'web/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // Several suites share PostgreSQL, ClickHouse and the browser; keep CI on 2 cores calm.
    maxWorkers: 2,
  },
});
