// The committed oclif.manifest.json must describe the commands as built; a stale one hides new
// commands and flags from users (oclif trusts the manifest at start-up).
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../support/paths.js';

describe('oclif manifest', () => {
  it('is fresh: regenerating it from the built commands changes nothing', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'storage-manifest-'));
    fs.copyFileSync(path.join(ROOT, 'package.json'), path.join(dir, 'package.json'));
    fs.cpSync(path.join(ROOT, 'dist'), path.join(dir, 'dist'), { recursive: true });
    fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(dir, 'node_modules'));
    execFileSync(process.execPath, [path.join(ROOT, 'node_modules/oclif/bin/run.js'), 'manifest', dir], { cwd: dir, stdio: 'pipe' });
    const fresh = JSON.parse(fs.readFileSync(path.join(dir, 'oclif.manifest.json'), 'utf8'));
    const committed = JSON.parse(fs.readFileSync(path.join(ROOT, 'oclif.manifest.json'), 'utf8'));
    expect(committed, 'oclif.manifest.json is stale: run `npm run manifest` and commit it').toEqual(fresh);
  });
});
