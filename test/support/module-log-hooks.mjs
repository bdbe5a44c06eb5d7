// The loader hooks test/support/module-log.mjs registers (they run on the loader's own thread).
import fs from 'node:fs';

export async function load(url, context, nextLoad) {
  const result = await nextLoad(url, context);
  const log = process.env.STORAGE_TEST_MODULE_LOG;
  if (log && !url.startsWith('node:')) fs.appendFileSync(log, `${url}\n`);
  return result;
}
