// The live health view: a status colour per store, its latency now and a small history.
import { Box, Text } from 'ink';
import type { HealthSnapshot } from '../../engine/db/monitor.js';
import { formatLatency, sparkline } from '../format.js';

const STATUS_COLOR = { up: 'green', down: 'red' } as const;

export function HealthBoard({ snapshot, intervalMs }: { snapshot: HealthSnapshot; intervalMs: number }) {
  return (
    <Box flexDirection="column">
      <Text bold>
        storage db health — every {intervalMs / 1000}s, round {snapshot.round} · q to quit
      </Text>
      <Box>
        <Box width={3} />
        <Box width={16}>
          <Text underline>store</Text>
        </Box>
        <Box width={10}>
          <Text underline>engine</Text>
        </Box>
        <Box width={11}>
          <Text underline>latency</Text>
        </Box>
        <Box width={12}>
          <Text underline>role</Text>
        </Box>
        <Box width={24}>
          <Text underline>history</Text>
        </Box>
        <Text underline>state</Text>
      </Box>
      {snapshot.stores.map((store) => {
        const statusColor = store.breaker !== 'closed' ? 'yellow' : STATUS_COLOR[store.status];
        const state =
          store.breaker === 'open'
            ? `breaker open, next try in ${Math.ceil(store.breakerRetryInMs / 1000)}s`
            : store.status === 'up'
              ? `${store.serverVersion ?? ''}${store.readOnly ? ' read-only' : ''}`
              : (store.error?.code ?? 'down');
        return (
          <Box key={store.store}>
            <Box width={3}>
              <Text color={statusColor}>●</Text>
            </Box>
            <Box width={16}>
              <Text>{store.store}</Text>
            </Box>
            <Box width={10}>
              <Text>{store.engine}</Text>
            </Box>
            <Box width={11}>
              <Text>{formatLatency(store.latencyMs)}</Text>
            </Box>
            <Box width={12}>
              <Text>{store.role ?? '-'}</Text>
            </Box>
            <Box width={24}>
              <Text color={statusColor}>{sparkline(store.history)}</Text>
            </Box>
            <Text color={store.status === 'down' ? 'red' : undefined}>{state}</Text>
          </Box>
        );
      })}
    </Box>
  );
}
