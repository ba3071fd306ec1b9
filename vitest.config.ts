import { defineConfig } from 'vitest/config';

// Slow end-to-end tests are named *.slow.test.ts: `npm run test:fast` skips them, `npm test` (and CI) runs all.
export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts', 'bench/**/*.test.ts'],
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
