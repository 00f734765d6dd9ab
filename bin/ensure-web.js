#!/usr/bin/env node
// Builds the command center UI (web/ → web/dist) when the build is missing or older than its sources.
// Runs before `npm start` and before the browser tests, so a fresh clone needs no extra step.
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const config = path.join(root, 'web', 'vite.config.ts');
const built = path.join(root, 'web', 'dist', 'index.html');

function newestMtime(dir) {
  let newest = 0;
  if (!fs.existsSync(dir)) return newest;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === 'dist' || entry.name === 'node_modules') continue;
    const p = path.join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(p) : fs.statSync(p).mtimeMs);
  }
  return newest;
}

export function ensureWebBuild({ quiet = false } = {}) {
  if (!fs.existsSync(config)) return false;
  if (fs.existsSync(built) && fs.statSync(built).mtimeMs >= newestMtime(path.join(root, 'web'))) return true;
  if (!quiet) console.error('cordon: building the command center UI (web/ → web/dist)…');
  const r = spawnSync(process.execPath, [path.join(root, 'node_modules', 'vite', 'bin', 'vite.js'), 'build', '--config', config, '--logLevel', 'warn'], {
    cwd: root,
    stdio: quiet ? 'pipe' : ['ignore', 'inherit', 'inherit'],
  });
  if (r.status !== 0) {
    throw new Error(`building the UI failed (exit ${r.status}): ${r.stderr?.toString() ?? ''}`);
  }
  return true;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    ensureWebBuild();
  } catch (err) {
    console.error(`cordon: ${err.message}`);
    process.exit(1);
  }
}
