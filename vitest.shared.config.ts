import { defineConfig } from 'vitest/config';

// Tests against the real LLP annotation files in ../shared/datasets/llp (never copied here).
export default defineConfig({
  test: {
    include: ['tests/shared/**/*.test.ts'],
    testTimeout: 120_000,
  },
});
