// Builds a Fleet from a config written to a temp file, as a user's config would be.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { stringify } from 'yaml';
import type { SecretResolver } from '../../src/engine/config/secrets.js';
import { Fleet } from '../../src/engine/fleet.js';

export function fleetFor(config: Record<string, unknown>, env: NodeJS.ProcessEnv = {}, secrets?: SecretResolver): Promise<Fleet> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'storage-fleet-'));
  const file = path.join(dir, 'storage.config.yaml');
  fs.writeFileSync(file, stringify(config));
  return Fleet.load({ configPath: file, env, secrets });
}
