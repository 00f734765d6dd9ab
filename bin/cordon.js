#!/usr/bin/env -S node --max-semi-space-size=64
// Entry point of the `cordon` command: loads the TypeScript sources through tsx.
// The young generation may grow to 64 MiB a semi-space (V8's default stops at 16): a trace of the second
// degree keeps tens of megabytes alive while it runs, and with small semi-spaces every scavenge copies
// them again (docs/benchmarks.md, "Results — 2026-12-07 (night)"). `npm start` and `npm run bench` pass the same flag.
import { register } from 'tsx/esm/api';
register();
await import('../src/cli/main.ts');
