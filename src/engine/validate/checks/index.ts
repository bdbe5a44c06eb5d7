// Every check `storage validate` knows, by suite. Adding a check is adding it to one of these lists.
import type { Check } from '../registry.js';
import { backupChecks } from './backups.js';
import { configChecks } from './config.js';
import { connectivityChecks } from './connectivity.js';
import { prereqChecks } from './prereqs.js';

export const ALL_CHECKS: Check[] = [...configChecks, ...prereqChecks, ...connectivityChecks, ...backupChecks];

export const SUITES = [...new Set(ALL_CHECKS.map((check) => check.suite))];
