#!/usr/bin/env node
// Builds the FerretDB test server from the Go module proxy into .cache/ferretdb/ (ignored by
// git), unless a binary built from the same sources is already there. Prints the binary's path.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const moduleDir = path.join(root, 'test/support/ferretdb');
const outDir = path.join(root, '.cache/ferretdb');
const binary = path.join(outDir, 'ferretdb-test');
const stamp = path.join(outDir, 'sources.sha256');

function sourcesHash() {
  const hash = createHash('sha256');
  for (const name of ['go.mod', 'go.sum', 'main.go']) hash.update(fs.readFileSync(path.join(moduleDir, name)));
  return hash.digest('hex');
}

function findGo() {
  for (const candidate of [process.env.GO, 'go', '/usr/local/go/bin/go']) {
    if (!candidate) continue;
    try {
      execFileSync(candidate, ['version'], { stdio: 'ignore' });
      return candidate;
    } catch {
      // try the next one
    }
  }
  throw new Error(
    'Go is not installed (looked for $GO, go on PATH and /usr/local/go/bin/go); it is needed to build the FerretDB test server, or set STORAGE_TEST_MONGO_URL to a running MongoDB-wire server.',
  );
}

export function buildFerretDb({ quiet = false } = {}) {
  const wanted = sourcesHash();
  if (fs.existsSync(binary) && fs.existsSync(stamp) && fs.readFileSync(stamp, 'utf8') === wanted) return binary;
  const go = findGo();
  fs.mkdirSync(outDir, { recursive: true });
  if (!quiet) process.stderr.write('Building the FerretDB v1.24.2 test server from the Go module proxy (first run takes a few minutes)...\n');
  try {
    execFileSync(go, ['build', '-ldflags=-checklinkname=0', '-o', binary, '.'], {
      cwd: moduleDir,
      stdio: ['ignore', quiet ? 'ignore' : 'inherit', 'pipe'],
      env: { ...process.env, CGO_ENABLED: '0' },
    });
  } catch (error) {
    const stderr = error.stderr ? error.stderr.toString() : '';
    throw new Error(`go build of the FerretDB test server failed:\n${stderr || error.message}`);
  }
  fs.writeFileSync(stamp, wanted);
  return binary;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  try {
    process.stdout.write(`${buildFerretDb()}\n`);
  } catch (error) {
    process.stderr.write(`${error.message}\n`);
    process.exit(1);
  }
}
