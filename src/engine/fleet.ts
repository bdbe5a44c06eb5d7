// The stores this process administers: the loaded configuration plus one provider (and so one
// connection pool) per store, opened lazily and closed together.
import { getStore, loadConfig, selectStores, type LoadedConfig, type LoadOptions, type ResolvedStore } from './config/load.js';
import type { SecretResolver } from './config/secrets.js';
import { StorageError } from './errors.js';
import { sweepAbandonedScratch } from './system/scratch-registry.js';
import { shellQuote } from './system/shell.js';
import { vaultResolver } from './secrets/resolver.js';
import { loadEngine, requireCapability } from './engines/index.js';
import type { Provider } from './engines/provider.js';
import type { Capability, CapabilityName, EngineSpec } from './engines/spec.js';

export interface CapabilityHandle<K extends CapabilityName> {
  store: ResolvedStore;
  spec: EngineSpec;
  provider: Provider;
  impl: Capability<K>;
}

export interface FleetOptions extends LoadOptions {
  secrets?: SecretResolver;
}

export class Fleet {
  private readonly providers = new Map<string, Promise<Provider>>();

  constructor(
    readonly config: LoadedConfig,
    readonly secrets?: SecretResolver,
  ) {}

  static async load(options: FleetOptions = {}): Promise<Fleet> {
    // Decrypted scratch of a run that was killed (no handler could remove it) goes before anything else happens.
    sweepAbandonedScratch();
    const config = await loadConfig(options);
    return new Fleet(config, options.secrets ?? vaultResolver(config, options.env ?? process.env));
  }

  store(name: string): ResolvedStore {
    return getStore(this.config, name);
  }

  /**
   * The store to use when none is named: only allowed when exactly one is configured. `command`
   * is the command line the hint shows with a store added (e.g. `storage db info`), and
   * `alternative` another way the command offers (e.g. `--all`).
   */
  onlyStore(command: string, alternative?: string): ResolvedStore {
    const stores = [...this.config.stores.values()];
    if (stores.length === 1) return stores[0];
    const known = stores.map((store) => store.name).join(', ');
    throw new StorageError('USAGE', `Name a store: ${stores.length} are configured (${known}).`, {
      hint: `For example: ${command} ${shellQuote(stores[0].name)}${alternative ? `, or ${alternative}` : ''}.`,
    });
  }

  /**
   * A store name given to filter records (backups, snapshots, audit entries): a configured store,
   * or one the records still name (a store removed from the config keeps its backups, snapshots
   * and history). Anything else is a typo: UNKNOWN_STORE (64) with the names that would work.
   */
  knownStore(name: string, recorded: () => Iterable<string>, records: string): string {
    if (this.config.stores.has(name)) return name;
    const configured = [...this.config.stores.keys()];
    const others = [...new Set(recorded())].filter((other) => !this.config.stores.has(other)).sort();
    if (others.includes(name)) return name;
    const also = others.length > 0 ? `; ${records} also name ${others.join(', ')}` : '';
    throw new StorageError('UNKNOWN_STORE', `No store named "${name}". Known stores: ${configured.join(', ')}${also}.`, {
      hint: `Use one of: ${[...configured, ...others].join(', ')}; run \`storage db list\` to see the configured stores.`,
      details: { store: name, known: configured, recorded: others },
    });
  }

  select(names: string[]): ResolvedStore[] {
    return selectStores(this.config, names);
  }

  /** The store's engine: its spec (provider, failure rules, capabilities), loaded on first use. */
  engine(store: ResolvedStore): Promise<EngineSpec> {
    return loadEngine(store.engine);
  }

  /** The store's provider (one per store, so one connection pool); it connects on first use. */
  provider(store: ResolvedStore): Promise<Provider> {
    let provider = this.providers.get(store.name);
    if (!provider) {
      provider = this.engine(store).then((spec) => spec.openProvider(store, this.secrets));
      this.providers.set(store.name, provider);
    }
    return provider;
  }

  /**
   * What a topic needs to work on a store: the store, its engine's spec, its provider and the
   * capability's implementation. An engine without the capability is UNSUPPORTED (64), naming
   * the engine and what it lacks.
   */
  async capability<K extends CapabilityName>(storeName: string, name: K): Promise<CapabilityHandle<K>> {
    const store = this.store(storeName);
    const spec = await this.engine(store);
    const impl = await requireCapability(spec, name, store.name);
    return { store, spec, provider: await this.provider(store), impl };
  }

  /** Closes every connection; one still being made to a server that does not answer is abandoned after `graceMs`. */
  async close(graceMs = 250): Promise<void> {
    const open = [...this.providers.values()];
    this.providers.clear();
    let timer: NodeJS.Timeout | undefined;
    const grace = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, graceMs);
      timer.unref();
    });
    await Promise.race([Promise.all(open.map(async (provider) => (await provider).close().catch(() => undefined))), grace]);
    clearTimeout(timer);
  }
}
