import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  resolve: {
    alias: { jobvisor: fileURLToPath(new URL('./src/index.ts', import.meta.url)) },
  },
  test: {
    include: ['test/**/*.test.ts'],
    // Finds Chromium for the browser tests once per run, unpacking @sparticuz/chromium if need be.
    globalSetup: ['test/chromium.ts'],
    testTimeout: 30_000,
    pool: 'forks',
  },
});
