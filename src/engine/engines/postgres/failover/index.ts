// PostgreSQL replication: topology from each member, switchover, promotion and rejoin.
import type { PostgresProvider } from '../provider.js';
import type { FailoverCapability, FailoverEvent } from '../../spec.js';
import { StorageError } from '../../../errors.js';
import { memberNamed } from './choose.js';
import { promote } from './promote.js';
import { rejoinMember } from './rejoin.js';
import { Steps } from './steps.js';
import { switchover } from './switchover.js';
import { adminUrl, readTopology } from './topology.js';

export const postgresFailover: FailoverCapability<PostgresProvider> = {
  async topology(context, options) {
    return (await readTopology(context, options.maxLagBytes)).topology;
  },
  switchover,
  promote,
  async rejoin(context, options, progress): Promise<FailoverEvent> {
    const started = Date.now();
    const steps = new Steps(progress);
    const member = memberNamed(context.members, options.member);
    const { topology } = await readTopology(context, Number.MAX_SAFE_INTEGER);
    const primaryName = topology.members.find((m) => m.role === 'primary' && m.name !== member.name)?.name;
    if (!primaryName)
      throw new StorageError('REFUSED', `No other member answers as primary, so "${member.name}" has nothing to follow.`, {
        hint: 'Promote a standby first (`storage failover promote`), or start this member as it was.',
      });
    const primary = memberNamed(context.members, primaryName);
    const client = await context.provider.memberClient(adminUrl(primary));
    try {
      const outcome = await rejoinMember(context.provider, member, primary, client, steps);
      return {
        kind: 'rejoin',
        store: context.store.name,
        from: member.name,
        to: primary.name,
        at: new Date(started).toISOString(),
        durationMs: Date.now() - started,
        oldPrimary: outcome,
        steps: steps.done,
      };
    } finally {
      await client.end().catch(() => undefined);
    }
  },
};
