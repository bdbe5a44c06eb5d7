// Vitest global setup: provides real servers to the whole suite, or fails it loudly.
//   PostgreSQL: $STORAGE_TEST_PG_URL, else 127.0.0.1:5432 if it answers, else a throwaway cluster.
//   PostgreSQL with password auth (for wrong-password tests): $STORAGE_TEST_PG_AUTH_URL, else a throwaway cluster.
//   MongoDB wire: $STORAGE_TEST_MONGO_URL, else FerretDB v1.24.2 built from the Go module proxy.
// At teardown it scans every captured CLI output, and every file under each sandbox and the
// locations the runs were given (repository, snapshot catalog, state, vault, audit log, JUnit
// files...), for the suite's distinctive secrets, and fails the suite naming any file holding one.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import type { TestProject } from 'vitest/node';
// @ts-expect-error: a plain ESM script shared with .ci/run
import { buildFerretDb } from '../support/build-ferretdb.mjs';
import { freePort, waitForPort } from '../support/net.js';
import { OUTPUT_LOG_DIR, WRITTEN_LOG_DIR } from '../support/paths.js';
import { startCluster } from '../support/pg-cluster.js';
import { ALL_TEST_SECRETS, SUPERUSER_PASSWORD } from '../support/secrets.js';
import { scanWrittenFiles } from '../support/written-files.js';

export interface TestServers {
  pgUrl: string;
  pgAuthUrl: string;
  mongoUrl: string;
}

declare module 'vitest' {
  export interface ProvidedContext {
    servers: TestServers;
  }
}

async function pgAnswers(url: string): Promise<string | undefined> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    await client.query('select 1');
    return undefined;
  } catch (error) {
    return (error as Error).message;
  } finally {
    await client.end().catch(() => undefined);
  }
}

function fail(server: string, reason: string, how: string): never {
  throw new Error(`\n\n*** TEST SERVER UNAVAILABLE: ${server} ***\n${reason}\nHow to provide it: ${how}\n`);
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const stops: Array<() => void | Promise<void>> = [];
  const log = (line: string) => process.stderr.write(`[test servers] ${line}\n`);
  fs.rmSync(OUTPUT_LOG_DIR, { recursive: true, force: true });
  fs.mkdirSync(OUTPUT_LOG_DIR, { recursive: true });
  fs.rmSync(WRITTEN_LOG_DIR, { recursive: true, force: true });

  try {
    // PostgreSQL
    let pgUrl = process.env.STORAGE_TEST_PG_URL;
    if (pgUrl) {
      const problem = await pgAnswers(pgUrl);
      if (problem) fail('PostgreSQL', `STORAGE_TEST_PG_URL does not answer: ${problem}`, 'fix STORAGE_TEST_PG_URL or unset it.');
      log('PostgreSQL from STORAGE_TEST_PG_URL');
    } else if (!(await pgAnswers('postgres://postgres@127.0.0.1:5432/postgres'))) {
      pgUrl = 'postgres://postgres@127.0.0.1:5432/postgres';
      log('PostgreSQL: the local server on 127.0.0.1:5432');
    } else {
      try {
        const cluster = startCluster(await freePort());
        stops.push(() => cluster.stop());
        pgUrl = cluster.url;
        log(`PostgreSQL: throwaway cluster on port ${cluster.port}`);
      } catch (error) {
        fail(
          'PostgreSQL',
          `nothing answers on 127.0.0.1:5432 and a throwaway cluster could not start: ${(error as Error).message}`,
          'start PostgreSQL, or set STORAGE_TEST_PG_URL=postgres://user@host:port/db (a superuser).',
        );
      }
    }

    // PostgreSQL with password authentication
    let pgAuthUrl = process.env.STORAGE_TEST_PG_AUTH_URL;
    if (!pgAuthUrl) {
      try {
        const cluster = startCluster(await freePort(), { password: SUPERUSER_PASSWORD });
        stops.push(() => cluster.stop());
        pgAuthUrl = cluster.url;
        log(`PostgreSQL with scram-sha-256 auth: throwaway cluster on port ${cluster.port}`);
      } catch (error) {
        fail(
          'PostgreSQL with password auth',
          `a throwaway cluster could not start: ${(error as Error).message}`,
          'install the PostgreSQL server binaries, or set STORAGE_TEST_PG_AUTH_URL to a superuser URL (with password) of a server that enforces passwords.',
        );
      }
    }

    // MongoDB wire protocol
    let mongoUrl = process.env.STORAGE_TEST_MONGO_URL;
    if (mongoUrl) {
      log('MongoDB from STORAGE_TEST_MONGO_URL');
    } else {
      let binary: string;
      try {
        binary = buildFerretDb();
      } catch (error) {
        fail(
          'MongoDB (FerretDB v1.24.2)',
          (error as Error).message,
          'install Go with access to the Go module proxy, or set STORAGE_TEST_MONGO_URL=mongodb://host:port.',
        );
      }
      const port = await freePort();
      const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'storage-ferretdb-'));
      const child: ChildProcess = spawn(binary, ['-listen', `127.0.0.1:${port}`, '-dir', dataDir], { stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr?.on('data', (chunk) => (stderr = (stderr + chunk.toString()).slice(-4000)));
      stops.push(async () => {
        child.kill('SIGTERM');
        await new Promise((resolve) => setTimeout(resolve, 200));
        fs.rmSync(dataDir, { recursive: true, force: true });
      });
      try {
        await waitForPort(port, 20_000);
      } catch (error) {
        fail(
          'MongoDB (FerretDB v1.24.2)',
          `the server did not start: ${(error as Error).message}\n${stderr}`,
          'see the error above, or set STORAGE_TEST_MONGO_URL.',
        );
      }
      mongoUrl = `mongodb://127.0.0.1:${port}`;
      log(`MongoDB wire: FerretDB v1.24.2 (SQLite backend) on port ${port}`);
    }

    project.provide('servers', { pgUrl: pgUrl!, pgAuthUrl: pgAuthUrl!, mongoUrl });
  } catch (error) {
    for (const stop of stops.reverse()) await stop();
    throw error;
  }

  return async () => {
    for (const stop of stops.reverse()) {
      try {
        await stop();
      } catch (error) {
        log(`could not stop a test server: ${(error as Error).message}`);
      }
    }
    const leaks: string[] = [];
    for (const file of fs.readdirSync(OUTPUT_LOG_DIR)) {
      const text = fs.readFileSync(path.join(OUTPUT_LOG_DIR, file), 'utf8');
      for (const secret of ALL_TEST_SECRETS) if (text.includes(secret)) leaks.push(`${file}: contains a test secret`);
    }
    const runs = fs.readdirSync(OUTPUT_LOG_DIR).length;
    if (leaks.length > 0) throw new Error(`SECRET LEAK: ${leaks.length} CLI output(s) contain a password:\n${leaks.join('\n')}`);
    log(`secret scan: ${runs} CLI runs captured, no secret in any output`);
    const started = performance.now();
    const written = scanWrittenFiles(ALL_TEST_SECRETS);
    const took = Math.round(performance.now() - started);
    for (const problem of written.unreadable) log(`secret scan: could not read ${problem}`);
    if (written.leaks.length > 0)
      throw new Error(`SECRET LEAK: ${written.leaks.length} file(s) the tool wrote contain a password:\n${written.leaks.join('\n')}`);
    log(
      `secret scan: ${written.files} files the tool wrote (${(written.bytes / 1024 / 1024).toFixed(0)} MiB, ${written.skippedEncrypted} big encrypted payloads skipped) in ${took} ms, no secret in any`,
    );
  };
}
