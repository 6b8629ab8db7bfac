import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    reporters: ['default', './test/summary-reporter.ts'],
    include: ['src/**/*.test.ts', 'plugins/**/*.test.ts', 'test/**/*.test.ts', 'examples/**/*.test.ts'],
    setupFiles: ['reflect-metadata'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Namespace and broker tests share the machine's kernel and one broker: keep files apart.
    fileParallelism: false,
  },
});
