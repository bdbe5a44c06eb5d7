// Loaded into a CLI run with `node --import` (NODE_OPTIONS): appends the URL of every module
// Node's ES module loader loads (our dist files, ES module packages, CommonJS files imported from
// them) to $STORAGE_TEST_MODULE_LOG, one a line. CommonJS files that other CommonJS files
// `require` do not pass through these hooks: NODE_DEBUG=module lists those.
import { register } from 'node:module';

register('./module-log-hooks.mjs', import.meta.url);
