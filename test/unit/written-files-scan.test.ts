// The suite's scan of every file the tool wrote (run at teardown) finds a secret anywhere in a
// file, however deep and wherever in a big file, and leaves alone only the test's own files and
// big encrypted payloads.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { scanFiles } from '../support/written-files.js';

const SECRET = 'Scan-Probe-DISTINCTIVE-0518';

describe('the secret scan of written files', () => {
  it('names every file holding a secret (nested, at a read-piece boundary), and skips only own files and big encrypted payloads', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'm18_scan-'));
    try {
      fs.mkdirSync(path.join(dir, 'repo/backups/b1'), { recursive: true });
      fs.writeFileSync(path.join(dir, 'repo/backups/b1/manifest.json'), `{"source":"postgres://u:${SECRET}@h/db"}`);
      fs.writeFileSync(path.join(dir, 'clean.json'), '{"source":"postgres://u:****@h/db"}');
      fs.writeFileSync(path.join(dir, 'storage.config.yaml'), `url: postgres://u:${SECRET}@h/db\n`);
      // 8 MiB pieces: the secret straddles the first boundary.
      const big = Buffer.alloc(9 * 1024 * 1024, 0x61);
      big.write(SECRET, 8 * 1024 * 1024 - 5, 'utf8');
      fs.writeFileSync(path.join(dir, 'repo/backups/b1/payload.pgdump'), big);
      const encrypted = Buffer.concat([Buffer.from('STGENC1\0', 'latin1'), big]);
      fs.writeFileSync(path.join(dir, 'repo/backups/b1/payload.pgdump.enc'), encrypted);
      // A small file is read whatever it starts with.
      fs.writeFileSync(path.join(dir, 'small.enc'), Buffer.concat([Buffer.from('STGENC1\0', 'latin1'), Buffer.from(SECRET)]));

      const result = scanFiles([dir, path.join(dir, 'repo')], new Set([path.join(dir, 'storage.config.yaml')]), ['other-secret', SECRET]);
      expect(result.leaks.map((leak) => leak.split(':')[0]).sort()).toEqual(
        [path.join(dir, 'repo/backups/b1/manifest.json'), path.join(dir, 'repo/backups/b1/payload.pgdump'), path.join(dir, 'small.enc')].sort(),
      );
      expect(result.skippedEncrypted).toBe(1);
      expect(result.files).toBe(4);
      expect(result.unreadable).toEqual([]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
