// Finds, parses and validates the configuration, applies environment overrides and defaults.
// With no file anywhere, the tool still works on an embedded SQLite store named `local`.
import fs from 'node:fs';
import path from 'node:path';
import { StorageError } from '../errors.js';
import { isCredentialParameter, registerSecret } from '../redact.js';
import { parseDuration } from './duration.js';
import { describeIssue, type ConfigIssue } from './issues.js';
import { parseStoreUrl } from './store-url.js';
import { userPaths } from './paths.js';
// The schema (zod) and the YAML parser load only when there is a file to read: start-up with
// the built-in defaults stays fast.
import type { ConfigFile, Engine, StoreConfig } from './schema.js';

export const DEFAULT_STORE = 'local';
const CONFIG_NAMES = ['storage.config.yaml', 'storage.config.yml', 'storage.config.json'];
const USER_CONFIG_NAMES = ['config.yaml', 'config.yml', 'config.json'];

export const DEFAULTS = { connectTimeoutMs: 5000, statementTimeoutMs: 30_000, poolSize: 5 } as const;

export interface ConfigSource {
  kind: 'flag' | 'env' | 'cwd' | 'user' | 'default';
  path?: string;
}

export interface ResolvedStore {
  name: string;
  engine: Engine;
  config: StoreConfig;
  connectTimeoutMs: number;
  statementTimeoutMs: number;
  poolSize: number;
  /** The embedded default store: its file is created on first use. */
  embedded: boolean;
}

export interface LoadedConfig {
  source: ConfigSource;
  file: ConfigFile;
  /** The file as parsed, before validation and defaults (for warnings about what it says). */
  raw: unknown;
  stores: Map<string, ResolvedStore>;
}

export interface LoadOptions {
  configPath?: string;
  cwd?: string;
  env?: NodeJS.ProcessEnv;
}

export type { ConfigIssue } from './issues.js';

/** Where the configuration comes from, in the documented discovery order. */
export function discoverConfig(options: LoadOptions = {}): ConfigSource {
  const env = options.env ?? process.env;
  const cwd = options.cwd ?? process.cwd();
  if (options.configPath) return { kind: 'flag', path: path.resolve(cwd, options.configPath) };
  if (env.STORAGE_CONFIG) return { kind: 'env', path: path.resolve(cwd, env.STORAGE_CONFIG) };
  for (const name of CONFIG_NAMES) {
    const candidate = path.join(cwd, name);
    if (fs.existsSync(candidate)) return { kind: 'cwd', path: candidate };
  }
  const userDir = userPaths().config;
  for (const name of USER_CONFIG_NAMES) {
    const candidate = path.join(userDir, name);
    if (fs.existsSync(candidate)) return { kind: 'user', path: candidate };
  }
  return { kind: 'default' };
}

async function readConfigFile(file: string): Promise<unknown> {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new StorageError('CONFIG_NOT_FOUND', `Cannot read the config file ${file} (${code ?? 'error'}).`, {
      hint: 'Check the path given with --config or STORAGE_CONFIG, or remove it to use the defaults.',
    });
  }
  try {
    if (file.endsWith('.json')) return JSON.parse(text);
    const { parse } = await import('yaml');
    return parse(text) ?? {};
  } catch (error) {
    throw new StorageError(
      'CONFIG_INVALID',
      `The config file ${file} is not valid ${file.endsWith('.json') ? 'JSON' : 'YAML'}: ${(error as Error).message.split('\n')[0]}`,
      {
        hint: 'Fix the syntax error at the position shown, then run `storage config validate`.',
        details: { file },
      },
    );
  }
}

function invalid(file: string | undefined, issues: ConfigIssue[]): StorageError {
  const where = file ?? 'the configuration';
  const lines = issues.map((issue) => `  ${issue.path}: ${issue.message}`).join('\n');
  return new StorageError('CONFIG_INVALID', `${where} has ${issues.length} invalid field${issues.length === 1 ? '' : 's'}:\n${lines}`, {
    hint: 'Fix the fields listed, then run `storage config validate`.',
    details: { file, issues },
  });
}

export function envPrefix(store: string): string {
  return `STORAGE_STORE_${store.toUpperCase().replace(/-/g, '_')}_`;
}

async function applyEnvOverrides(name: string, store: StoreConfig, env: NodeJS.ProcessEnv): Promise<{ store: StoreConfig; issues: ConfigIssue[] }> {
  const prefix = envPrefix(name);
  if (!['URL', 'PASSWORD', 'PATH'].some((key) => env[`${prefix}${key}`])) return { store, issues: [] };
  const next: Record<string, unknown> = { ...store };
  if (store.engine === 'sqlite') {
    if (env[`${prefix}PATH`]) next.path = env[`${prefix}PATH`];
  } else {
    if (env[`${prefix}URL`]) next.url = env[`${prefix}URL`];
    if (env[`${prefix}PASSWORD`]) next.password = env[`${prefix}PASSWORD`];
  }
  const { StoreSchema } = await import('./schema.js');
  const parsed = StoreSchema.safeParse(next);
  if (parsed.success) return { store: parsed.data, issues: [] };
  return {
    store,
    issues: parsed.error.issues.map((issue) => ({
      path: `${prefix}${String(issue.path[0] ?? '').toUpperCase()} (environment)`,
      message: describeIssue(issue, next).message,
    })),
  };
}

function registerStoreSecrets(store: StoreConfig): void {
  if (store.engine === 'sqlite') return;
  if (store.password && !store.password.startsWith('secret:')) registerSecret(store.password);
  for (const url of [store.url, ...(store.engine === 'postgres' ? (store.standbys ?? []).map((s) => s.url) : [])]) {
    const parsed = parseStoreUrl(url);
    if (parsed?.password) {
      registerSecret(parsed.password);
      registerSecret(encodeURIComponent(parsed.password));
    }
    // A password can also ride in the query string (?password=…, ?sslpassword=…).
    for (const [key, value] of parsed?.params ?? []) if (isCredentialParameter(key)) registerSecret(value);
  }
}

function ms(value: string | undefined, fallback: number): number {
  return value === undefined ? fallback : (parseDuration(value) ?? fallback);
}

/** Validates a parsed config object; returns the issues instead of throwing. */
export async function checkConfig(raw: unknown): Promise<{ file?: ConfigFile; issues: ConfigIssue[] }> {
  const { ConfigSchema } = await import('./schema.js');
  const parsed = ConfigSchema.safeParse(raw);
  if (!parsed.success) {
    return { issues: parsed.error.issues.map((issue) => describeIssue(issue, raw)) };
  }
  const issues: ConfigIssue[] = [];
  const file = parsed.data;
  if (file.tenancy && !(file.stores ?? {})[file.tenancy.store]) {
    issues.push({ path: 'tenancy.store', message: `names a store that is not configured: ${file.tenancy.store}` });
  }
  const thresholds = file.validate;
  if ((thresholds?.connectionsWarnPercent ?? 80) > (thresholds?.connectionsFailPercent ?? 95)) {
    issues.push({ path: 'validate.connectionsWarnPercent', message: 'must not be above validate.connectionsFailPercent' });
  }
  for (const [warn, fail, warnDefault, failDefault] of [
    ['slotRetainedWarn', 'slotRetainedFail', 2 ** 30, 4 * 2 ** 30],
    ['replicationLagWarn', 'replicationLagFail', 16 * 2 ** 20, 256 * 2 ** 20],
  ] as const) {
    if ((thresholds?.[warn] ?? warnDefault) > (thresholds?.[fail] ?? failDefault))
      issues.push({ path: `validate.${warn}`, message: `must not be above validate.${fail}` });
  }
  return { file, issues };
}

export function defaultLocalStore(): StoreConfig {
  return { engine: 'sqlite', path: path.join(userPaths().data, 'local.db') };
}

export async function loadConfig(options: LoadOptions = {}): Promise<LoadedConfig> {
  const env = options.env ?? process.env;
  const source = discoverConfig(options);
  const raw = source.path ? await readConfigFile(source.path) : undefined;
  let file: ConfigFile = {};
  if (source.path) {
    const checked = await checkConfig(raw);
    if (!checked.file || checked.issues.length > 0) throw invalid(source.path, checked.issues);
    file = checked.file;
  }

  const baseDir = source.path ? path.dirname(source.path) : (options.cwd ?? process.cwd());
  const embedded = !file.stores || Object.keys(file.stores).length === 0;
  const declared: Record<string, StoreConfig> = embedded ? { [DEFAULT_STORE]: defaultLocalStore() } : file.stores!;

  const stores = new Map<string, ResolvedStore>();
  const envIssues: ConfigIssue[] = [];
  for (const [name, declaredStore] of Object.entries(declared)) {
    const { store, issues: storeIssues } = await applyEnvOverrides(name, declaredStore, env);
    envIssues.push(...storeIssues);
    const config: StoreConfig = store.engine === 'sqlite' ? { ...store, path: path.resolve(baseDir, store.path) } : store;
    registerStoreSecrets(config);
    stores.set(name, {
      name,
      engine: config.engine,
      config,
      connectTimeoutMs: ms(config.connectTimeout ?? file.defaults?.connectTimeout, DEFAULTS.connectTimeoutMs),
      statementTimeoutMs: ms(config.statementTimeout ?? file.defaults?.statementTimeout, DEFAULTS.statementTimeoutMs),
      poolSize: config.poolSize ?? file.defaults?.poolSize ?? DEFAULTS.poolSize,
      embedded,
    });
  }
  if (envIssues.length > 0) throw invalid(source.path, envIssues);
  return { source, file, raw, stores };
}

/** A path written in the config file, resolved against that file's directory (or the cwd with no file). */
export function configRelative(config: LoadedConfig, file: string): string {
  return path.resolve(config.source.path ? path.dirname(config.source.path) : process.cwd(), file);
}

/** Looks a store up by name; an unknown name lists the known ones. */
export function getStore(config: LoadedConfig, name: string): ResolvedStore {
  const store = config.stores.get(name);
  if (store) return store;
  const known = [...config.stores.keys()];
  throw new StorageError('UNKNOWN_STORE', `No store named "${name}". Known stores: ${known.join(', ')}.`, {
    hint: `Use one of: ${known.join(', ')}; run \`storage db list\` to see them all.`,
    details: { store: name, known },
  });
}

/** The stores a command works on: the names given, or all of them. */
export function selectStores(config: LoadedConfig, names: string[]): ResolvedStore[] {
  if (names.length === 0) return [...config.stores.values()];
  return [...new Set(names)].map((name) => getStore(config, name));
}
