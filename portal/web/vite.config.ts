import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';
import solid from 'vite-plugin-solid';

const root = fileURLToPath(new URL('.', import.meta.url));

/** Builds the SPA from portal/web into portal/web/dist; `vite` (dev) proxies /api to a running portal. */
export default defineConfig({
  root,
  plugins: [solid()],
  build: { outDir: 'dist', emptyOutDir: true, chunkSizeWarningLimit: 2000 },
  server: { proxy: { '/api': 'http://127.0.0.1:8080' } },
  logLevel: 'warn',
});
