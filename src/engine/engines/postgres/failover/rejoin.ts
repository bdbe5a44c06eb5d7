// Bringing a former primary back as a standby of the new one (local control). The Patroni #3367
// rule first: the new primary finishes a CHECKPOINT and its control file shows the new timeline
// before pg_rewind reads it; the member's own configuration files are kept and put back, since
// pg_rewind copies the source's over them.
import type { Client } from 'pg';
import type { PostgresProvider } from '../provider.js';
import type { Member } from '../../spec.js';
import { StorageError } from '../../../errors.js';
import { conninfoFor, ensureSlot, waitStreaming } from './after-promotion.js';
import { keepOwnFiles, rewind, startServer, stopServer, writeStandbyConfig } from './local-control.js';
import type { Steps } from './steps.js';

async function checkpointOnNewTimeline(primary: Client): Promise<number> {
  const timeline = Number((await primary.query(`select ('x' || substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8))::bit(32)::int as tli`)).rows[0].tli);
  for (let attempt = 0; attempt < 50; attempt++) {
    await primary.query('checkpoint');
    const shown = Number((await primary.query('select timeline_id from pg_control_checkpoint()')).rows[0].timeline_id);
    if (shown === timeline) return timeline;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new StorageError(
    'FAILED',
    `The new primary's control file does not show timeline ${timeline} after a checkpoint; rewinding now could break the member.`,
    {
      hint: 'Wait a little and run `storage failover rejoin` again.',
    },
  );
}

export async function rejoinMember(provider: PostgresProvider, member: Member, primary: Member, primaryClient: Client, steps: Steps): Promise<string> {
  const control = member.control;
  if (!control)
    throw new StorageError('USAGE', `Member "${member.name}" has no local control in the config, so this machine cannot stop, rewind or start it.`, {
      hint: `On its host: stop it, run pg_rewind against "${primary.name}", add standby.signal and primary_conninfo, start it; or add control: {dataDir} for it.`,
    });
  await steps.run(`stop ${member.name}`, () => stopServer(control));
  const timeline = await steps.run(
    `checkpoint on ${primary.name}`,
    () => checkpointOnNewTimeline(primaryClient),
    (tli) => `control file on timeline ${tli}`,
  );
  const password = await provider.loginPassword();
  const putBack = keepOwnFiles(control);
  const rewound = await steps.run(
    `pg_rewind ${member.name} from ${primary.name}`,
    async () => {
      try {
        return await rewind(control, conninfoFor(primary, password, `storage-rewind-${member.name}`), password);
      } finally {
        putBack();
      }
    },
    (said) => said,
  );
  await steps.run(`slot "${member.slot}" on ${primary.name}`, () => ensureSlot(primaryClient, member.slot));
  writeStandbyConfig(control, conninfoFor(primary, password, member.name), member.slot);
  await steps.run(`start ${member.name} as a standby`, () => startServer(control));
  const streaming = await steps.run(
    `${member.name} streams from ${primary.name}`,
    () => waitStreaming(provider, member, 15_000),
    (ok) => (ok ? `timeline ${timeline}` : 'not yet streaming'),
  );
  if (!streaming) steps.warn(`Member "${member.name}" started as a standby but does not stream yet; see its log and \`storage failover status\`.`);
  return `${streaming ? 'streams' : 'started as a standby of'} from ${primary.name}${rewound === 'rewound' ? ' (rewound)' : ''}`;
}
