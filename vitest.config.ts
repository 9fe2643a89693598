import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  resolve: {
    // Examples import the package by name, as users do; tests run them against the source.
    // The subpaths first: an alias also matches the names below it.
    alias: {
      'workbus/feed': fileURLToPath(new URL('./src/feed/index.ts', import.meta.url)),
      'workbus/bridge/dashboard': fileURLToPath(
        new URL('./src/bridge/dashboard/index.ts', import.meta.url),
      ),
      'workbus/bridge': fileURLToPath(new URL('./src/bridge/index.ts', import.meta.url)),
      'workbus/distributed': fileURLToPath(new URL('./src/distributed/index.ts', import.meta.url)),
      workbus: fileURLToPath(new URL('./src/index.ts', import.meta.url)),
    },
  },
  test: {
    include: ['test/**/*.test.ts'],
    setupFiles: ['test/helpers/setup.ts'],
    globalSetup: ['test/helpers/redis-setup.ts'],
    reporters: ['default', 'json'],
    outputFile: { json: '.reports/vitest.json' },
    // Vitest leaves one core to itself by default: on the 2-core CI machine that is one
    // file at a time, and most files wait on child processes, threads or sockets.
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 30_000,
  },
});
