#!/usr/bin/env node
// Runs a TypeScript file (a benchmark or a script) through tsx: `node bin/run-ts.js FILE [args…]`.
import { register } from 'tsx/esm/api';
import { pathToFileURL } from 'node:url';
import path from 'node:path';
register();
const file = process.argv[2];
if (!file) { console.error('usage: node bin/run-ts.js FILE.ts [args…]'); process.exit(2); }
process.argv.splice(1, 1);
await import(pathToFileURL(path.resolve(file)).href);
