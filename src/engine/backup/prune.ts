// backup prune: retention applied to what it may judge (the stores asked for, complete backups),
// never to damaged backups or the only backups of a store no longer configured, unless asked.
import { listBackups } from './open.js';
import fs from 'node:fs';
import path from 'node:path';
import { parseDuration } from '../config/duration.js';
import { StorageError } from '../errors.js';
import type { Fleet } from '../fleet.js';
import { StoreLock } from '../store-lock.js';
import { BackupRepository, isReadable } from '../repository/repository.js';
import { applyRetention, type RetentionDecision, type RetentionPolicy } from '../repository/retention.js';

/** A backup directory without a manifest this old is the leftover of a killed run (prune sweeps it). */
export const LEFTOVER_AGE_MS = 86_400_000;

/** The retention series of a tenant's backups: their own, apart from the store's. */
export function tenantSeries(store: string, tenant: string): string {
  return `${store}\u0000tenant\u0000${tenant}`;
}

export function policyFromConfig(fleet: Fleet): RetentionPolicy {
  const retention = fleet.config.file.backup?.retention ?? {};
  return { ...retention, keepWithinMs: retention.keepWithin ? parseDuration(retention.keepWithin) : undefined };
}

export interface PruneOptions {
  dryRun: boolean;
  /** Only these stores (`backup create --prune`: the stores it just backed up; `backup prune --store`). */
  stores?: string[];
  /** The stores in the config. Backups of any other store ("orphans") are left alone unless includeOrphans. */
  configured: string[];
  includeOrphans?: boolean;
  /** Delete backups that cannot be judged (their manifest cannot be read or fails its seal). Never by default. */
  deleteDamaged?: boolean;
  now?: number;
}

export interface PrunePlan extends RetentionDecision {
  /** Leftovers of killed runs (no manifest) older than a day. */
  sweep: Array<{ id: string; store: string; status: string }>;
  /** Backups that cannot be judged: kept (and reported) unless deleteDamaged. */
  damaged: Array<{ id: string; store: string; problem: string; deleted: boolean }>;
  /** Backups dated in the future (a clock was wrong): kept, and never counted as a store's newest. */
  futureDated: Array<{ id: string; store: string; startedAt: string }>;
  /** Stores with backups that are not in the config: skipped unless includeOrphans. */
  orphans: Array<{ store: string; backups: number; skipped: boolean }>;
  /** Stores whose lock another run holds: nothing of theirs was deleted this time. */
  locked: string[];
  dryRun: boolean;
}

/** Every backup this plan deletes (or, with dryRun, would delete). */
export function prunedBackups(plan: PrunePlan): Array<{ id: string; store: string; why: string }> {
  return [
    ...plan.remove.map((r) => ({ id: r.id, store: r.store, why: 'not kept by the policy' })),
    ...plan.sweep.map((s) => ({ id: s.id, store: s.store, why: `${s.status} leftover` })),
    ...plan.damaged.filter((d) => d.deleted).map((d) => ({ id: d.id, store: d.store, why: `damaged: ${d.problem}` })),
  ];
}

/**
 * Applies the retention policy. Only backups that can be judged are ever deleted by the policy:
 * damaged ones (unreadable or unsealed manifest) are reported and kept unless `deleteDamaged`,
 * backups dated in the future are kept and never count as the newest, and backups of stores not
 * in the config are skipped unless `includeOrphans`. Deletion takes each store's lock, so it never
 * races a backup or restore of that store.
 */
export function pruneBackups(repo: BackupRepository, policy: RetentionPolicy, options: PruneOptions): PrunePlan {
  const now = options.now ?? Date.now();
  const scope = options.stores && new Set(options.stores);
  const configured = new Set(options.configured);
  const entries = listBackups(repo).filter((entry) => !scope || scope.has(entry.store));
  const orphanCounts = new Map<string, number>();
  for (const entry of entries) {
    if (!configured.has(entry.store) && (isReadable(entry) || entry.status === 'damaged'))
      orphanCounts.set(entry.store, (orphanCounts.get(entry.store) ?? 0) + 1);
  }
  const judged = entries.filter((entry) => configured.has(entry.store) || options.includeOrphans);
  const candidates = judged.filter(isReadable).map((entry) => ({
    id: entry.id,
    store: entry.manifest!.store,
    startedAt: entry.manifest!.startedAt,
    tags: entry.manifest!.tags,
    ...(entry.manifest!.tenant ? { series: tenantSeries(entry.manifest!.store, entry.manifest!.tenant.name) } : {}),
  }));
  const decision = applyRetention(candidates, policy, now); // refuses an empty policy even with nothing to prune
  // Leftovers without a manifest never were backups: swept after a day, whoever's they were.
  const sweep = entries
    .filter((entry) => entry.status === 'incomplete' && now - Date.parse(entry.createdAt) > LEFTOVER_AGE_MS)
    .map((entry) => ({ id: entry.id, store: entry.store, status: entry.status }));
  const damaged = judged
    .filter((entry) => entry.status === 'damaged')
    .map((entry) => ({ id: entry.id, store: entry.store, problem: entry.problem ?? 'its manifest cannot be read', deleted: Boolean(options.deleteDamaged) }));
  const futureDated = judged
    .filter((entry) => entry.status === 'future-dated')
    .map((entry) => ({ id: entry.id, store: entry.store, startedAt: entry.manifest!.startedAt }));
  const orphans = [...orphanCounts].map(([store, backups]) => ({ store, backups, skipped: !options.includeOrphans }));
  const plan: PrunePlan = { ...decision, sweep, damaged, futureDated, orphans, locked: [], dryRun: options.dryRun };
  if (options.dryRun) return plan;
  const byStore = new Map<string, string[]>();
  for (const { id, store } of prunedBackups(plan)) byStore.set(store, [...(byStore.get(store) ?? []), id]);
  const kept = new Set<string>();
  for (const [store, ids] of byStore) {
    let lock: StoreLock;
    try {
      lock = StoreLock.acquire(repo.locksDir, store, 'storage backup prune');
    } catch (error) {
      if (!(error instanceof StorageError && error.code === 'LOCKED')) throw error;
      plan.locked.push(store);
      for (const id of ids) kept.add(id);
      continue;
    }
    try {
      for (const id of ids) {
        // Move the whole directory out first, so a half-deleted backup never looks complete.
        const doomed = path.join(repo.scratch('prune'), id);
        fs.renameSync(repo.backupDir(id), doomed);
        fs.rmSync(path.dirname(doomed), { recursive: true, force: true });
      }
    } finally {
      lock.release();
    }
  }
  if (kept.size === 0) return plan;
  // What a locked store kept is not reported as deleted.
  return {
    ...plan,
    remove: plan.remove.filter((r) => !kept.has(r.id)),
    keep: [...plan.keep, ...plan.remove.filter((r) => kept.has(r.id)).map((r) => ({ ...r, reasons: ['its store is locked by another run'] }))],
    sweep: plan.sweep.filter((s) => !kept.has(s.id)),
    damaged: plan.damaged.map((d) => (kept.has(d.id) ? { ...d, deleted: false } : d)),
  };
}

/** What a prune must tell the operator besides its table: warnings, and the failure when it kept backups it could not judge. */
export function pruneFindings(plan: PrunePlan): { warnings: string[]; failure?: StorageError } {
  const warnings: string[] = [];
  const list = (items: Array<{ id: string }>) => items.map((item) => item.id).join(', ');
  for (const orphan of plan.orphans.filter((o) => o.skipped)) {
    warnings.push(
      `Left ${orphan.backups} backup${orphan.backups === 1 ? '' : 's'} of store "${orphan.store}" alone: the store is not in the config, so they may be its only copies. Add --include-orphans to apply the policy to them too.`,
    );
  }
  if (plan.futureDated.length > 0) {
    warnings.push(
      `${plan.futureDated.length} backup${plan.futureDated.length === 1 ? ' is' : 's are'} dated in the future (a clock was wrong when ${plan.futureDated.length === 1 ? 'it was' : 'they were'} taken): kept, and never counted as the newest: ${list(plan.futureDated)}.`,
    );
  }
  for (const store of plan.locked) warnings.push(`Store "${store}" is locked by another run: none of its backups were deleted this time.`);
  const kept = plan.damaged.filter((d) => !d.deleted);
  if (kept.length === 0) return { warnings };
  return {
    warnings,
    failure: new StorageError(
      'BAD_DATA',
      `${kept.length} backup${kept.length === 1 ? '' : 's'} cannot be judged and ${kept.length === 1 ? 'was' : 'were'} kept (damaged): ${kept.map((d) => `${d.id} (${d.problem})`).join('; ')}`,
      {
        hint: 'Prune never deletes what it cannot read. Check each with `storage backup verify ID`; if repo.json was replaced or lost, put back the original (keys/ holds a copy). Delete backups beyond saving with `storage backup prune --delete-damaged`.',
      },
    ),
  };
}
