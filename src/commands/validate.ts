import { Flags } from '@oclif/core';
import fs from 'node:fs';
import path from 'node:path';
import { StorageCommand } from '../cli/base-command.js';
import { StorageError } from '../engine/errors.js';
import { redact } from '../engine/redact.js';
import { ALL_CHECKS, SUITES } from '../engine/validate/checks/index.js';
import { toJUnit } from '../engine/validate/junit.js';
import { failsRun, runChecks, type ValidationReport } from '../engine/validate/registry.js';
import { validationView } from '../ui/views/validation.js';

export default class Validate extends StorageCommand {
  static override summary =
    'Check that the storage estate is safe: config, prerequisites, connectivity, capacity, replication, backups, snapshots, audit. Exit 3 when a check fails.';
  static override description =
    'Exit 0 when nothing failed (warnings allowed unless --strict), 3 when a check failed or errored, 78 when the config itself is invalid.';
  static override flags = {
    suite: Flags.string({ description: `Only these suites (${SUITES.join(', ')}).`, multiple: true, options: SUITES }),
    store: Flags.string({ description: 'Only these stores.', multiple: true }),
    strict: Flags.boolean({ description: 'Warnings fail too.' }),
    junit: Flags.string({ description: 'Also write a JUnit XML report to this file.' }),
    'restore-test': Flags.boolean({ description: "Also restore each store's newest backup into a scratch target and compare counts (slow)." }),
    timeout: Flags.integer({ description: 'Seconds the whole run may take; a check still running then is an error.', default: 60, min: 1 }),
  };
  static override examples = ['<%= config.bin %> validate', '<%= config.bin %> validate --suite backups --strict --junit reports/storage.xml'];

  async run(): Promise<ValidationReport> {
    const { flags } = await this.parse(Validate);
    const fleet = await this.fleet(flags.config);
    const stores = fleet.select(flags.store ?? []).map((store) => store.name);
    const checks = ALL_CHECKS.filter((check) => !flags.suite || flags.suite.includes(check.suite));
    const report = await runChecks(checks, { fleet, strict: flags.strict, stores, env: process.env, restoreTest: flags['restore-test'] }, flags.timeout * 1000);
    if (flags.junit) {
      fs.mkdirSync(path.dirname(path.resolve(flags.junit)), { recursive: true });
      // A file CI keeps and shows: scrubbed of every secret the process knows, like all output.
      fs.writeFileSync(flags.junit, redact(toJUnit(report)));
    }
    this.print(validationView(report, flags.strict));
    if (!report.ok) {
      const bad = report.checks.filter((check) => failsRun(check, flags.strict));
      this.failWith(
        new StorageError('CHECKS_FAILED', `${bad.length} check${bad.length === 1 ? '' : 's'} did not pass: ${bad.map((check) => check.id).join(', ')}.`, {
          hint: bad[0]?.hint ?? 'See the report above.',
        }),
      );
    }
    // A check cut off at the timeout may leave a connection attempt behind; it must not hold the
    // exit past the bound the operator set (stdout and stderr are written synchronously by now).
    if (report.timedOut) setTimeout(() => process.exit(), 400).unref();
    return report;
  }
}
