import { defineConfig } from 'vitest/config';

// The end-to-end validation scenarios: the built binary, as a user runs it, against real servers.
export default defineConfig({
  test: {
    include: ['validation/**/*.e2e.ts'],
    globalSetup: ['test/setup/servers.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
  },
});
