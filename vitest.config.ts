import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'test/**/*.test.tsx'],
    globalSetup: ['test/setup/servers.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // Most of a test's time is spent waiting on servers and CLI subprocesses: three files at once
    // take the suite from ~10 to ~6 minutes on these 2-core machines (vitest would run one).
    poolOptions: { forks: { minForks: 3, maxForks: 3 } },
    reporters: ['default'],
  },
});
