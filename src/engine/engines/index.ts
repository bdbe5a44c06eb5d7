// The engine registry: an engine's name → its spec, imported only when a store of that engine is
// used (the drivers stay out of start-up), and the one place an absent capability becomes a usage
// error (64) naming the engine and what it lacks.
import type { Engine } from '../config/schema.js';
import { StorageError } from '../errors.js';
import { rememberEngine } from './loaded.js';
import type { Capability, CapabilityName, EngineSpec } from './spec.js';

const LOADERS: Record<Engine, () => Promise<EngineSpec>> = {
  postgres: async () => (await import('./postgres/index.js')).postgres,
  mongodb: async () => (await import('./mongodb/index.js')).mongodb,
  sqlite: async () => (await import('./sqlite/index.js')).sqlite,
};

export const ENGINES = Object.keys(LOADERS) as Engine[];

export async function loadEngine(engine: Engine): Promise<EngineSpec> {
  const spec = await LOADERS[engine]();
  rememberEngine(spec);
  return spec;
}

const CAPABILITY_WORDS: Record<CapabilityName, string> = {
  backup: 'backups',
  snapshot: 'snapshots',
  rotatePassword: 'password rotation',
  clientTools: 'client tools',
  failover: 'replication (failover)',
  sync: 'sync',
  tenancy: 'tenants',
};

/** The capability, or UNSUPPORTED (64) saying which engine lacks it and why. */
export async function requireCapability<K extends CapabilityName>(spec: EngineSpec, name: K, store?: string): Promise<Capability<K>> {
  const load = spec[name];
  if (load) return (await load()) as Capability<K>;
  const why = spec.lacks?.[name as keyof NonNullable<EngineSpec['lacks']>];
  throw new StorageError(
    'UNSUPPORTED',
    `${store ? `Store "${store}" is ${spec.label}: ` : ''}${spec.label} has no ${CAPABILITY_WORDS[name]}${why ? ` (${why})` : ''}.`,
    {
      hint: `${CAPABILITY_WORDS[name][0].toUpperCase()}${CAPABILITY_WORDS[name].slice(1)} work on ${ENGINES.length > 1 ? 'stores of another engine' : 'other engines'}; see \`storage db list\` for each store's engine.`,
      details: { engine: spec.engine, capability: name, ...(store ? { store } : {}) },
    },
  );
}
