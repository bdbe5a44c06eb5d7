// This tool's name and version, recorded in every backup manifest and snapshot record.
import fs from 'node:fs';

export const TOOL = {
  name: 'storage',
  version: (JSON.parse(fs.readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version,
};
