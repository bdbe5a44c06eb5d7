// Every check `storage validate` knows, one module each. Adding a check is writing its module and
// listing it here; the suites are the ones the checks name.
import type { Check } from '../registry.js';
import { auditChain } from './audit-chain.js';
import { backupsEncryption } from './backups-encryption.js';
import { backupsIntegrity } from './backups-integrity.js';
import { backupsRestoreTest } from './backups-restore-test.js';
import { backupsRetention } from './backups-retention.js';
import { backupsRpo } from './backups-rpo.js';
import { backupsVerified } from './backups-verified.js';
import { capacityConnections } from './capacity-connections.js';
import { capacityDisk } from './capacity-disk.js';
import { configFile } from './config-file.js';
import { configPasswords } from './config-passwords.js';
import { configPlaintext } from './config-plaintext.js';
import { configSecrets } from './config-secrets.js';
import { connectivityStores } from './connectivity-stores.js';
import { prereqsNode } from './prereqs-node.js';
import { prereqsPaths } from './prereqs-paths.js';
import { replicationLag } from './replication-lag.js';
import { replicationPrimary } from './replication-primary.js';
import { replicationSlotWal } from './replication-slot-wal.js';
import { replicationSlots } from './replication-slots.js';
import { replicationStreaming } from './replication-streaming.js';
import { prereqsPgTools } from './prereqs-pg-tools.js';
import { snapshotsState } from './snapshots-state.js';
import { syncConflicts, syncLag, syncState, syncVerified } from './sync-jobs.js';
import { tenantsCatalog, tenantsCurrent } from './tenants.js';

export const ALL_CHECKS: Check[] = [
  configFile,
  configSecrets,
  configPlaintext,
  configPasswords,
  prereqsNode,
  prereqsPgTools,
  prereqsPaths,
  connectivityStores,
  capacityConnections,
  capacityDisk,
  replicationPrimary,
  replicationStreaming,
  replicationSlots,
  replicationSlotWal,
  replicationLag,
  syncState,
  syncVerified,
  syncLag,
  syncConflicts,
  tenantsCurrent,
  tenantsCatalog,
  backupsRpo,
  backupsVerified,
  backupsIntegrity,
  backupsRestoreTest,
  backupsRetention,
  backupsEncryption,
  snapshotsState,
  auditChain,
];

export const SUITES = [...new Set(ALL_CHECKS.map((check) => check.suite))];
