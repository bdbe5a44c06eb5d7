#!/usr/bin/env node
// Backup benchmark (issue 3). Every figure is a ratio against the reference tool on the same data
// in the same run (medians of $BENCH_ROUNDS interleaved rounds, default 3); absolute times are for context.
//   PostgreSQL, pgbench scale $BENCH_PG_SCALE (default 50, ~750 MB): backup create (zstd, the default:
//     pg_dump -Z0 compressed by this tool, encrypted; and gzip: pg_dump's own zlib) vs pg_dump -Fc -f FILE
//     (bar ≤ 1.0×) and vs the peer pipeline `pg_dump -Fc | restic backup --stdin` (fresh restic repository
//     each round, backup time only); backup restore vs pg_restore into a fresh database; --jobs 2 vs the
//     single stream on four large tables (~$BENCH_PG_WIDE_MB MB, bar ≥ 1.6× faster); peak RSS of backup
//     create and restore (bar ≤ 150 MB; flat: the highest peak within 20% of the lowest, across a
//     quarter of the scale, the scale and the wide database for a single stream; --jobs 2 on its own). Databases are named $BENCH_PG_DB_PREFIX… (default storage_bench_) and kept between runs.
//   SQLite, a database of ~$BENCH_SQLITE_MB MiB of rows (default 500: a ~650 MB file): backup create
//     (zstd, encrypted) vs sqlite3 DB ".backup FILE" (bar 2×) and vs ".backup" + `restic backup` of the
//     copy into a fresh repository (bar 1×), gzip and none for comparison; what each stage costs
//     (bench/sqlite-stages.mjs); peak RSS of create and restore at ~$BENCH_SQLITE_SMALL_MB (150: ~200 MB),
//     the main file and ~$BENCH_SQLITE_BIG_MB (1200: ~1.5 GB; 0 skips it), with a passphrase and a key file.
//   MongoDB (FerretDB or $STORAGE_TEST_MONGO_URL): dump throughput vs a bare raw cursor read.
// Needs: PostgreSQL on $BENCH_PG_URL (default postgres://postgres@127.0.0.1:5432/postgres), pgbench,
// the sqlite3 shell, restic (the peers of both), `npm run build` (for the stage costs), and a MongoDB-wire server ($BENCH_MONGO_URL or a FerretDB it starts).
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { benchDbPrefix, median, pgbenchDatabase, pgUrlFor, psqlAt } from './common.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const bin = path.join(root, 'bin/run.js');
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'storage-bench-backup-'));
const pgBase = process.env.BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const pgScale = Number(process.env.BENCH_PG_SCALE ?? 50);
const sqliteMb = Number(process.env.BENCH_SQLITE_MB ?? 500);
const sqliteSmallMb = Number(process.env.BENCH_SQLITE_SMALL_MB ?? 150);
const sqliteBigMb = Number(process.env.BENCH_SQLITE_BIG_MB ?? 1200);
const env = {
  ...process.env,
  STORAGE_BACKUP_PASSPHRASE: 'bench-passphrase-not-secret',
  XDG_CONFIG_HOME: path.join(work, 'config'),
  XDG_DATA_HOME: path.join(work, 'data'),
};
const results = [];

const pgUrl = (db) => pgUrlFor(pgBase, db);
function sh(command, args, options = {}) {
  const result = spawnSync(command, args, { encoding: 'utf8', env, maxBuffer: 64 * 1024 * 1024, ...options });
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} failed: ${result.stderr}`);
  return result.stdout;
}
function psql(sql, db = 'postgres') {
  return psqlAt(pgUrl(db), sql, env);
}
/** Wall time and peak RSS (kB) of a command, through GNU time. */
function timed(command, args, runEnv = env) {
  const started = process.hrtime.bigint();
  const result = spawnSync('/usr/bin/time', ['-f', '%M', command, ...args], { encoding: 'utf8', env: runEnv, cwd: work, maxBuffer: 64 * 1024 * 1024 });
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} failed (${result.status}): ${result.stderr.slice(-2000)}`);
  const rssKb = Number(result.stderr.trim().split('\n').pop());
  return { ms, rssMb: rssKb / 1024, stdout: result.stdout };
}
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const RSS_BAR_MB = 150;
/** Peak memory is flat when the highest peak is within 20% of the lowest (from the smallest database to the biggest). */
const flat = (peaks) => Math.max(...peaks) <= 1.2 * Math.min(...peaks);
/** Runs reference and ours alternately ROUNDS times (each after `before`), returns the medians. */
function paired(reference, ours, before = () => undefined) {
  const refs = [];
  const mine = [];
  let last;
  for (let round = 0; round < ROUNDS; round++) {
    // Alternate which goes first, so neither always pays for the other's dirty pages.
    const order = round % 2 === 0 ? ['ref', 'ours'] : ['ours', 'ref'];
    for (const which of order) {
      before();
      if (which === 'ref') refs.push(reference().ms);
      else {
        last = ours();
        mine.push(last.ms);
      }
    }
  }
  return { ref: median(refs), ours: median(mine), last };
}
function report(name, ours, reference, bar, unit = 'time') {
  const ratio = ours / reference;
  const ok = unit === 'throughput' ? ratio >= bar : ratio <= bar;
  results.push({ name, ours, reference, ratio, bar, ok });
  const fmt = (v) => (unit === 'throughput' ? `${v.toFixed(1)} MB/s` : `${(v / 1000).toFixed(2)} s`);
  console.log(
    `${name.padEnd(46)} ${fmt(ours).padStart(11)} vs ${fmt(reference).padStart(11)}  ${ratio.toFixed(2)}×  ${ok ? 'ok' : 'OVER'} (bar ${unit === 'throughput' ? '≥' : '≤'} ${bar}×)`,
  );
}
function config(stores, compression = 'zstd', extra = '', repo = 'repo') {
  const file = path.join(work, `config-${Math.random().toString(36).slice(2)}.yaml`);
  fs.writeFileSync(file, `stores:\n${stores}\nbackup: { repository: ${path.join(work, repo)}, compression: ${compression}${extra ? `, ${extra}` : ''} }\n`);
  return file;
}
const idOf = (out) => JSON.parse(out).stores[0].backup.id;

/** A fresh restic repository (v2: zstd compression and encryption), made outside the timed part. */
function resticRepo() {
  const dir = fs.mkdtempSync(path.join(work, 'restic-'));
  sh('restic', ['init', '--quiet', '--repository-version', '2', '--repo', dir]);
  return dir;
}
/** `pg_dump -Fc | restic backup --stdin`: what an operator would script instead (backup time only). */
function resticPgDump(db) {
  const repo = resticRepo();
  try {
    return timed('bash', [
      '-c',
      `set -o pipefail; pg_dump -Fc --dbname "$1" | restic backup --quiet --stdin --stdin-filename db.dump --repo "$2"`,
      'bash',
      pgUrl(db),
      repo,
    ]);
  } finally {
    fs.rmSync(repo, { recursive: true, force: true });
  }
}

/** Four large tables (~$BENCH_PG_WIDE_MB MB in all, default 400) for the parallel dump; kept between runs. */
function wideDatabase() {
  const mb = Number(process.env.BENCH_PG_WIDE_MB ?? 400);
  const db = `${benchDbPrefix(env)}wide_${mb}`;
  if (psql(`select count(*) from pg_database where datname = '${db}'`) === '0') {
    console.log(`(creating ${db}: 4 tables, ~${mb} MB; once)`);
    psql(`create database ${db}`);
    // ~150 bytes a row on disk; text that compresses about 3:1, like application data.
    const rows = Math.round((mb * 1024 * 1024) / 4 / 150);
    for (const t of ['orders', 'events', 'items', 'audit']) {
      psql(
        `create table ${t} (id bigint primary key, at timestamptz, kind int, body text); insert into ${t} select g, now() - g * interval '1 second', g % 97, md5(g::text) || ' ' || md5((g * 31)::text) || ' ' || (g % 1000)::text from generate_series(1, ${rows}) g`,
        db,
      );
      psql(`vacuum analyze ${t}`, db);
    }
  }
  return db;
}

async function postgres() {
  const rss = [];
  const restoreRss = [];
  env.RESTIC_PASSWORD = 'bench-restic-not-secret';
  for (const scale of [Math.max(1, Math.round(pgScale / 4)), pgScale]) {
    const db = pgbenchDatabase(pgBase, scale, env);
    const size = psql(`select pg_size_pretty(pg_database_size('${db}'))`).trim();
    const cfg = config(`  pg: { engine: postgres, url: "${pgUrl(db)}" }`);
    const dumpFile = path.join(work, 'ref.dump');
    const restoreDb = `${benchDbPrefix(env)}restore`;
    if (scale !== pgScale) {
      const ours = timed(process.execPath, [bin, 'backup', 'create', 'pg', '--config', cfg, '--json', '-q']);
      rss.push({ scale, size, rss: ours.rssMb });
      psql(`drop database if exists ${restoreDb}`);
      const restored = timed(process.execPath, [bin, 'backup', 'restore', idOf(ours.stdout), '--to', 'pg', '--database', restoreDb, '--config', cfg, '--json']);
      restoreRss.push({ scale, size, rss: restored.rssMb });
      psql(`drop database if exists ${restoreDb}`);
      continue;
    }
    // Goal 3: pg_dump -Fc, ours (zstd + encryption), and pg_dump -Fc | restic backup --stdin, interleaved.
    const refs = [];
    const mine = [];
    const restics = [];
    // Context, not bars: pg_dump's own work with no compression (what this tool's stream cannot go
    // below), and this tool with a key file instead of a passphrase (no scrypt).
    const floors = [];
    const keyFiled = [];
    const keyFileCfg = config(`  pg: { engine: postgres, url: "${pgUrl(db)}" }`, 'zstd', '', 'repo-keyfile');
    const keyFileEnv = { ...env, STORAGE_BACKUP_PASSPHRASE: '', XDG_CONFIG_HOME: path.join(work, 'config-keyfile') };
    let ours;
    for (let round = 0; round < ROUNDS; round++) {
      const order = [
        () => refs.push(timed('pg_dump', ['-Fc', '-f', dumpFile, '--dbname', pgUrl(db)]).ms),
        () => {
          ours = timed(process.execPath, [bin, 'backup', 'create', 'pg', '--config', cfg, '--json', '-q']);
          mine.push(ours.ms);
          rss.push({ scale, size, rss: ours.rssMb });
        },
        () => restics.push(resticPgDump(db).ms),
        () => floors.push(timed('bash', ['-c', 'pg_dump -Fc -Z0 --dbname "$1" > /dev/null', 'bash', pgUrl(db)]).ms),
        () => keyFiled.push(timed(process.execPath, [bin, 'backup', 'create', 'pg', '--config', keyFileCfg, '--json', '-q'], keyFileEnv).ms),
      ];
      for (let i = 0; i < order.length; i++) order[(i + round) % order.length]();
    }
    const stored = (run) => (JSON.parse(run.stdout).stores[0].backup.storedBytes / 1e6).toFixed(1);
    const refMb = (fs.statSync(dumpFile).size / 1e6).toFixed(1);
    report(`PostgreSQL backup create, zstd (scale ${scale}, ${size} → ${stored(ours)} MB)`, median(mine), median(refs), 1.0);
    report(`  vs pg_dump -Fc | restic backup --stdin (peer)`, median(mine), median(restics), 1.0);
    console.log(`  (pg_dump -Fc alone ${(median(refs) / 1000).toFixed(2)} s, ${refMb} MB; restic pipeline ${(median(restics) / 1000).toFixed(2)} s)`);
    console.log(
      `  context: pg_dump -Fc -Z0 > /dev/null (no compression, nothing written: the floor of this tool's stream) ${(median(floors) / 1000).toFixed(2)} s, ${(median(floors) / median(refs)).toFixed(2)}× pg_dump -Fc; this tool with a key file (no scrypt) ${(median(keyFiled) / 1000).toFixed(2)} s, ${(median(keyFiled) / median(refs)).toFixed(2)}×`,
    );
    const exact = timed(process.execPath, [
      bin,
      'backup',
      'create',
      'pg',
      '--config',
      config(`  pg: { engine: postgres, url: "${pgUrl(db)}" }`, 'zstd', 'rowCounts: exact'),
      '--json',
      '-q',
    ]);
    console.log(
      `  for comparison, backup.rowCounts: exact (a count(*) of every table in the dump's snapshot): ${(exact.ms / 1000).toFixed(2)} s, ${(exact.ms / median(refs)).toFixed(2)}× pg_dump -Fc`,
    );
    const gzipRun = timed(process.execPath, [
      bin,
      'backup',
      'create',
      'pg',
      '--config',
      config(`  pg: { engine: postgres, url: "${pgUrl(db)}" }`, 'gzip'),
      '--json',
      '-q',
    ]);
    // For comparison only (the default is zstd): not a bar of its own.
    console.log(
      `  for comparison, compression: gzip (pg_dump's own zlib, ${stored(gzipRun)} MB): ${(gzipRun.ms / 1000).toFixed(2)} s, ${(gzipRun.ms / median(refs)).toFixed(2)}× pg_dump -Fc (${refMb} MB)`,
    );
    const refRestoreDb = `${benchDbPrefix(env)}ref_restore`;
    psql(`drop database if exists ${refRestoreDb}`);
    psql(`create database ${refRestoreDb}`);
    const refRestore = timed('pg_restore', ['--no-owner', '--no-privileges', '-j2', '-d', pgUrl(refRestoreDb), dumpFile]);
    psql(`drop database if exists ${restoreDb}`);
    const ourRestore = timed(process.execPath, [bin, 'backup', 'restore', idOf(ours.stdout), '--to', 'pg', '--database', restoreDb, '--config', cfg, '--json']);
    restoreRss.push({ scale, size, rss: ourRestore.rssMb });
    report('PostgreSQL backup restore vs pg_restore -j2', ourRestore.ms, refRestore.ms, 1.2);
    psql(`drop database if exists ${refRestoreDb}`);
    psql(`drop database if exists ${restoreDb}`);
    fs.rmSync(dumpFile, { force: true });
  }
  // Goal 6: --jobs 2 (pg_dump -Fd -j 2, file by file) against the single-stream backup, on several large tables.
  const wide = wideDatabase();
  const wideSize = psql(`select pg_size_pretty(pg_database_size('${wide}'))`).trim();
  const wideCfg = config(`  pg: { engine: postgres, url: "${pgUrl(wide)}" }`);
  const single = [];
  const parallel = [];
  let parallelRun;
  for (let round = 0; round < ROUNDS; round++) {
    const runs = [
      () => single.push(timed(process.execPath, [bin, 'backup', 'create', 'pg', '--config', wideCfg, '--json', '-q']).ms),
      () => {
        parallelRun = timed(process.execPath, [bin, 'backup', 'create', 'pg', '--jobs', '2', '--config', wideCfg, '--json', '-q']);
        parallel.push(parallelRun.ms);
        rss.push({ scale: 'wide --jobs 2', size: wideSize, rss: parallelRun.rssMb });
      },
    ];
    for (let i = 0; i < runs.length; i++) runs[(i + round) % runs.length]();
  }
  // Bar: ≥ 1.6× faster, i.e. at most 1/1.6 of the single stream's time.
  report(`PostgreSQL backup create --jobs 2 vs single stream (4 tables, ${wideSize})`, median(parallel), median(single), 0.625);
  console.log(`  (speed-up ${(median(single) / median(parallel)).toFixed(2)}×, bar ≥ 1.6×)`);
  // Context: what -j 2 gains pg_dump itself on this machine, with no compression and no tool around it.
  const wideDir = path.join(work, 'wide.dir');
  const bare = paired(
    () => timed('bash', ['-c', 'pg_dump -Fc -Z0 --dbname "$1" > "$2"', 'bash', pgUrl(wide), path.join(work, 'wide.dump')]),
    () => timed('pg_dump', ['-Fd', '-j', '2', '-Z0', '-f', wideDir, '--dbname', pgUrl(wide)]),
    () => {
      fs.rmSync(wideDir, { recursive: true, force: true });
      fs.rmSync(path.join(work, 'wide.dump'), { force: true });
    },
  );
  console.log(
    `  context: bare pg_dump -Fd -j 2 -Z0 ${(bare.ours / 1000).toFixed(2)} s vs pg_dump -Fc -Z0 ${(bare.ref / 1000).toFixed(2)} s: ${(bare.ref / bare.ours).toFixed(2)}× speed-up from pg_dump's own -j 2 here`,
  );
  fs.rmSync(wideDir, { recursive: true, force: true });
  fs.rmSync(path.join(work, 'wide.dump'), { force: true });
  const wideRestoreDb = `${benchDbPrefix(env)}restore`;
  psql(`drop database if exists ${wideRestoreDb}`);
  const wideRestore = timed(process.execPath, [
    bin,
    'backup',
    'restore',
    idOf(parallelRun.stdout),
    '--to',
    'pg',
    '--database',
    wideRestoreDb,
    '--config',
    wideCfg,
    '--json',
  ]);
  console.log(
    `  restore of the --jobs 2 backup (pg_restore -j 2 from its files): ${(wideRestore.ms / 1000).toFixed(2)} s, peak RSS ${wideRestore.rssMb.toFixed(0)} MB`,
  );
  restoreRss.push({ scale: 'wide --jobs 2', size: wideSize, rss: wideRestore.rssMb });
  psql(`drop database if exists ${wideRestoreDb}`);

  // The bar: at most 150 MB everywhere, and flat: the biggest database's peak within 20% of the
  // smallest's, compared within one mode (a --jobs run holds more in flight than a single stream).
  for (const [what, list] of [
    ['backup create', rss],
    ['restore', restoreRss],
  ]) {
    for (const mode of ['single stream', '--jobs 2']) {
      const entries = list.filter((entry) => (String(entry.scale).includes('--jobs') ? '--jobs 2' : 'single stream') === mode);
      if (entries.length === 0) continue;
      const peaks = entries.map((entry) => entry.rss);
      const ok = Math.max(...peaks) <= RSS_BAR_MB && (entries.length < 2 || flat(peaks));
      console.log(
        `Peak RSS of ${what}, ${mode}: ${entries.map((entry) => `${entry.rss.toFixed(0)} MB (${typeof entry.scale === 'number' ? `scale ${entry.scale}` : entry.scale}, ${entry.size})`).join(', ')}; bar ≤ ${RSS_BAR_MB} MB${entries.length < 2 ? '' : ' and flat (±20%)'}: ${ok ? 'ok' : 'OVER'}`,
      );
      results.push({ name: `peak RSS of ${what}, ${mode}`, ok });
    }
  }
}

/** A ~`mb` MB SQLite file (rows of text that compresses like application data, about 3:1), fully checkpointed. */
function sqliteFile(name, mb) {
  const file = path.join(work, name);
  const rows = Math.round((mb * 1024 * 1024) / 1100);
  const script = `const D=require(${JSON.stringify(path.join(root, 'node_modules/better-sqlite3'))}); const c=require('node:crypto'); const db=new D(${JSON.stringify(file)}); db.pragma('journal_mode=WAL'); db.exec('create table t (id integer primary key, a text, b text)'); const s=db.prepare('insert into t (a,b) values (?,?)'); const words=Array.from({length:4000},()=>c.randomBytes(4).toString('hex')); db.transaction(()=>{ for(let i=0;i<${rows};i++){ let a=''; while(a.length<1000) a+=words[(Math.random()*words.length)|0]+' '; s.run(a, c.randomBytes(16).toString('hex')); } })(); db.pragma('wal_checkpoint(TRUNCATE)'); db.close();`;
  sh(process.execPath, ['-e', script]);
  return file;
}

/** Peak RSS of backup create and of restore of `file`, with a passphrase (scrypt) and with a key file. */
function sqliteRss(file) {
  const out = {};
  for (const key of ['passphrase', 'keyfile']) {
    const repo = path.join(work, `rss-repo-${key}`);
    const cfg = path.join(work, `rss-${key}.yaml`);
    fs.writeFileSync(cfg, `stores:\n  lite: { engine: sqlite, path: "${file}" }\nbackup: { repository: ${repo} }\n`);
    const runEnv = key === 'passphrase' ? env : { ...env, STORAGE_BACKUP_PASSPHRASE: '', XDG_CONFIG_HOME: path.join(work, 'config-keyfile') };
    const run = (args) => {
      const result = spawnSync('/usr/bin/time', ['-f', '%M', process.execPath, bin, ...args, '--config', cfg, '--json'], {
        encoding: 'utf8',
        env: runEnv,
        cwd: work,
        maxBuffer: 64 * 1024 * 1024,
      });
      if (result.status !== 0) throw new Error(`${args.join(' ')} failed: ${result.stderr.slice(-2000)}`);
      return { rssMb: Number(result.stderr.trim().split('\n').pop()) / 1024, stdout: result.stdout };
    };
    const created = run(['backup', 'create', 'lite', '-q']);
    const restored = run(['backup', 'restore', idOf(created.stdout), '--to', 'lite', '--database', 'rss_copy']);
    fs.rmSync(path.join(path.dirname(file), 'rss_copy.db'), { force: true });
    fs.rmSync(repo, { recursive: true, force: true });
    out[key] = { create: created.rssMb, restore: restored.rssMb };
  }
  return out;
}

function sqlite() {
  const file = sqliteFile('bench.db', sqliteMb);
  const mb = fs.statSync(file).size / 1e6;
  const refFile = path.join(work, 'ref.db');
  // Goal: with compression and encryption on, at most 2× sqlite3 .backup of the same file.
  for (const compression of ['zstd', 'gzip', 'none']) {
    const cfg = config(`  lite: { engine: sqlite, path: "${file}" }`, compression);
    const run = paired(
      () => timed('sqlite3', [file, `.backup ${refFile}`]),
      () => timed(process.execPath, [bin, 'backup', 'create', 'lite', '--config', cfg, '--json', '-q']),
      () => fs.rmSync(refFile, { force: true }),
    );
    const stored = JSON.parse(run.last.stdout).stores[0].backup.storedBytes / 1e6;
    const name = `SQLite backup create, ${compression}, encrypted (${mb.toFixed(0)} MB → ${stored.toFixed(0)} MB) vs sqlite3 .backup`;
    if (compression === 'zstd') report(name, run.ours, run.ref, 2);
    else console.log(`  for comparison, ${name}: ${(run.ours / 1000).toFixed(2)} s, ${(run.ours / run.ref).toFixed(2)}×`);
  }
  // The pipeline an operator would script instead: sqlite3 .backup to a file, then restic backup of
  // it (repository v2: zstd + encryption), a fresh repository per round, backup time only.
  const cfg = config(`  lite: { engine: sqlite, path: "${file}" }`);
  const resticRepo = path.join(work, 'restic');
  const resticEnv = { ...env, RESTIC_PASSWORD: 'bench-passphrase-not-secret', RESTIC_CACHE_DIR: path.join(work, 'restic-cache') };
  let resticMb = 0;
  const peer = paired(
    () => {
      const copy = timed('sqlite3', [file, `.backup ${refFile}`]);
      const started = process.hrtime.bigint();
      sh('restic', ['-r', resticRepo, 'backup', '-q', '--no-cache', refFile], { env: resticEnv });
      const ms = copy.ms + Number(process.hrtime.bigint() - started) / 1e6;
      resticMb = Number(sh('du', ['-sk', resticRepo]).split('\t')[0]) / 1000;
      return { ms };
    },
    () => timed(process.execPath, [bin, 'backup', 'create', 'lite', '--config', cfg, '--json', '-q']),
    () => {
      fs.rmSync(refFile, { force: true });
      fs.rmSync(resticRepo, { recursive: true, force: true });
      sh('restic', ['-r', resticRepo, 'init', '-q', '--repository-version', '2'], { env: resticEnv });
    },
  );
  report(`SQLite backup create vs sqlite3 .backup + restic backup (${resticMb.toFixed(0)} MB)`, peer.ours, peer.ref, 1);
  fs.rmSync(refFile, { force: true });
  fs.rmSync(resticRepo, { recursive: true, force: true });

  // What each stage costs (in one process, the snapshot read each time).
  const stages = JSON.parse(sh(process.execPath, [path.join(root, 'bench/sqlite-stages.mjs'), file])).stages;
  console.log(`  stages on the ${mb.toFixed(0)} MB file (cumulative; the difference is the stage's cost):`);
  let previous = 0;
  for (const stage of stages) {
    console.log(
      `    ${stage.name.padEnd(30)} ${(stage.ms / 1000).toFixed(2).padStart(6)} s  (${stage.ms - previous >= 0 ? '+' : ''}${((stage.ms - previous) / 1000).toFixed(2)} s)`,
    );
    previous = stage.ms;
  }

  // Goal: peak RSS of backup create and restore at most 150 MB and flat (±20%) from ~200 MB to the big file.
  const sizes = [
    { label: 'small', file: sqliteFile('small.db', sqliteSmallMb) },
    { label: 'main', file },
    ...(sqliteBigMb > 0 ? [{ label: 'big', file: sqliteFile('big.db', sqliteBigMb) }] : []),
  ];
  const rss = sizes.map((size) => ({ ...size, mb: fs.statSync(size.file).size / 1e6, rss: sqliteRss(size.file) }));
  for (const key of ['keyfile', 'passphrase']) {
    for (const op of ['create', 'restore']) {
      const values = rss.map((entry) => entry.rss[key][op]);
      const ok = Math.max(...values) <= RSS_BAR_MB && flat(values);
      console.log(
        `SQLite peak RSS of ${op} (${key === 'keyfile' ? 'key file' : 'passphrase, scrypt'}): ${rss.map((entry, i) => `${values[i].toFixed(0)} MB at ${entry.mb.toFixed(0)} MB`).join(', ')}; bar ≤ ${RSS_BAR_MB} MB and flat (±20%): ${ok ? 'ok' : 'OVER'}`,
      );
      results.push({ name: `SQLite peak RSS ${op} ${key}`, ok });
    }
  }
  for (const entry of sizes) if (entry.file !== file) fs.rmSync(entry.file, { force: true });
}

async function mongodb() {
  let url = process.env.BENCH_MONGO_URL ?? process.env.STORAGE_TEST_MONGO_URL;
  let server;
  if (!url) {
    const binary = sh(process.execPath, [path.join(root, 'test/support/build-ferretdb.mjs')]).trim();
    const dir = fs.mkdtempSync(path.join(work, 'ferret-'));
    server = spawn(binary, ['-listen', '127.0.0.1:27123', '-dir', dir], { stdio: 'ignore' });
    url = 'mongodb://127.0.0.1:27123';
    await new Promise((resolve) => setTimeout(resolve, 1500));
  }
  try {
    const { MongoClient } = await import(path.join(root, 'node_modules/mongodb/lib/index.js'));
    const client = new MongoClient(url);
    await client.connect();
    const db = client.db('storage_bench');
    await db.dropDatabase();
    const docs = Number(process.env.BENCH_MONGO_DOCS ?? 100_000);
    for (let i = 0; i < docs; i += 5000) {
      await db.collection('events').insertMany(
        Array.from({ length: Math.min(5000, docs - i) }, (_, j) => ({
          n: i + j,
          kind: `k${(i + j) % 17}`,
          at: new Date(),
          payload: { text: 'x'.repeat(200), list: [1, 2, 3] },
        })),
      );
    }
    const started = process.hrtime.bigint();
    let bytes = 0;
    for await (const raw of db.collection('events').find({}, { raw: true, batchSize: 1000 })) bytes += raw.length;
    const readMs = Number(process.hrtime.bigint() - started) / 1e6;
    await client.close();
    const cfg = config(`  m: { engine: mongodb, url: "${url}/storage_bench" }`);
    const ours = timed(process.execPath, [bin, 'backup', 'create', 'm', '--config', cfg, '--json', '-q']);
    // The CLI's own start-up (~0.3 s) is outside the dump; subtract it for throughput.
    const startup = timed(process.execPath, [bin, 'db', 'health', 'm', '--config', cfg]).ms;
    const mb = bytes / 1e6;
    report(`MongoDB dump throughput (${docs} docs, ${mb.toFixed(0)} MB BSON)`, mb / ((ours.ms - startup) / 1000), mb / (readMs / 1000), 0.7, 'throughput');
  } finally {
    server?.kill();
  }
}

try {
  console.log(`backup benchmark (node ${process.version}, ${os.cpus().length} cores); work dir ${work}`);
  if (!process.env.BENCH_SKIP_PG) await postgres();
  if (!process.env.BENCH_SKIP_SQLITE) sqlite();
  if (!process.env.BENCH_SKIP_MONGO) await mongodb();
} finally {
  fs.rmSync(work, { recursive: true, force: true });
}
process.exitCode = results.every((r) => r.ok) ? 0 : 1;
