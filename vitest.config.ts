import { defineConfig } from 'vitest/config';

// The main suite: runs on a fresh clone. Tests that read ../shared live in tests/shared
// and run only through vitest.shared.config.ts (npm run test:shared).
export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts'],
    exclude: ['tests/shared/**', 'node_modules/**'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    fileParallelism: true,
    maxWorkers: 2,
  },
});
