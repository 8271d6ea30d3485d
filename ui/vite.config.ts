/// <reference types="vitest/config" />
import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

// The dashboard is served by odh-server under a strict CSP
// (default-src 'self'), so nothing may be inlined as a data: URI or script.
export default defineConfig({
  base: '/',
  plugins: [react()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    assetsInlineLimit: 0,
    chunkSizeWarningLimit: 2000,
    sourcemap: false,
  },
  server: {
    // `npm run dev` proxies the API to a running odh-server.
    proxy: { '/api': process.env.ODH_SERVER_URL ?? 'http://127.0.0.1:8080' },
  },
  test: {
    environment: 'happy-dom',
    globals: true,
    setupFiles: ['src/test/setup.ts'],
    include: ['src/**/*.test.{ts,tsx}'],
    css: false,
    // Testing Library waits up to 5 s (src/test/setup.ts); a test needs room
    // for a few such waits on a loaded 2-core CI machine.
    testTimeout: 20_000,
  },
});
