// The tests `npm run mutation` (Stryker, stryker.config.json) runs against each mutant: the ones
// that drive the data-protecting modules in-process. The CLI tests run bin/run.js → dist/ in a
// subprocess, which never sees a mutant (Stryker switches mutants inside the test process), so
// the backup, restore and verify paths have engine-level tests of their own
// (test/integration/backup-engine.test.ts) that assert the same outcomes.
import { defineConfig } from 'vitest/config';

export const MUTATION_TESTS = [
  'test/unit/audit.test.ts',
  'test/unit/audit-edges.test.ts',
  'test/unit/audit-mutants.test.ts',
  'test/unit/config.test.ts',
  'test/unit/crypto.test.ts',
  'test/unit/lock.test.ts',
  'test/unit/manifest-problem.test.ts',
  'test/unit/redact.test.ts',
  'test/unit/retention.test.ts',
  'test/unit/validate-checks.test.ts',
  'test/unit/vault-iv.test.ts',
  'test/unit/vault.test.ts',
  'test/unit/vault-refusals.test.ts',
  'test/unit/confirm-and-exit-codes.test.ts',
  'test/unit/backup-keys.test.ts',
  'test/unit/payload.test.ts',
  'test/unit/manifest-seal.test.ts',
  'test/unit/backup-repository.test.ts',
  'test/unit/repository-layout.test.ts',
  'test/unit/lock-holders.test.ts',
  'test/unit/lock-wait.test.ts',
  'test/unit/restore-journal.test.ts',
  'test/integration/backup-engine.test.ts',
  'test/integration/backup-restore-checks.test.ts',
  'test/integration/backup-create-checks.test.ts',
  'test/integration/backup-interrupted.test.ts',
  'test/integration/backup-key-unlock.test.ts',
  'test/integration/rotation.test.ts',
  'test/integration/rotation-mongodb.test.ts',
  'test/integration/rotation-settle.test.ts',
];

const SLOW_TESTS = /^(?!.*(two processes|rekeys atomically|killed after|killed at each step)).*$/;

export default defineConfig({
  test: {
    // STORAGE_MUTATION_TESTS=a.test.ts,b.test.ts narrows a run to those files (with `stryker run --mutate` for part of the code).
    include: process.env.STORAGE_MUTATION_TESTS ? process.env.STORAGE_MUTATION_TESTS.split(',') : MUTATION_TESTS,
    // Left to `npm test`: the tests that race several processes for seconds each (vault, audit log)
    // or kill a rotation at each step. Run per mutant they would take most of the run's time;
    // the code paths they cover are also driven by faster tests in these files.
    testNamePattern: SLOW_TESTS,
    globalSetup: ['test/setup/mutation-servers.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    reporters: ['default'],
  },
});
