import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const BIN = path.join(ROOT, 'bin/run.js');
/** Every CLI run's stdout and stderr land here, for the suite-wide secret scan. */
export const OUTPUT_LOG_DIR = path.join(ROOT, '.cache/test-output');
/** Where test processes record the directories the CLI wrote to, for the suite-wide scan of written files. */
export const WRITTEN_LOG_DIR = path.join(ROOT, '.cache/test-written');
