/**
 * @module Vite build of the command center UI: `npx vite build --config web/vite.config.ts` from the
 * repository root writes web/dist, which the server serves at `/`. Nothing is fetched from the internet
 * at run time: no CDN, fonts or tiles.
 */
import { defineConfig } from 'vite';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('.', import.meta.url));

export default defineConfig({
  root,
  base: '/',
  // The UI's TypeScript uses the repository's tsconfig; JSX is compiled with the automatic runtime.
  oxc: { jsx: { runtime: 'automatic' } },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    sourcemap: false,
    chunkSizeWarningLimit: 1200,
  },
  server: {
    host: '127.0.0.1',
    // In development the API is the Cordon server on its default port.
    proxy: { '/api': 'http://127.0.0.1:8080' },
  },
});
