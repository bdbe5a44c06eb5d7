// The live pools view: this tool's client pool and the server's connections, per store.
import { Box, Text } from 'ink';
import type { PoolReport } from '../../engine/db/inspect.js';

export interface PoolsSnapshot {
  reports: PoolReport[];
  round: number;
}

function serverSummary(server: Record<string, number>): string {
  const entries = Object.entries(server);
  return entries.length === 0 ? 'not reported' : entries.map(([state, count]) => `${state} ${count}`).join(' · ');
}

export function PoolsBoard({ snapshot, intervalMs }: { snapshot: PoolsSnapshot; intervalMs: number }) {
  return (
    <Box flexDirection="column">
      <Text bold>
        storage db pools — every {intervalMs / 1000}s, round {snapshot.round} · q to quit
      </Text>
      {snapshot.reports.map((report) => (
        <Box key={report.store}>
          <Box width={3}>
            <Text color={'error' in report ? 'red' : 'green'}>●</Text>
          </Box>
          <Box width={16}>
            <Text>{report.store}</Text>
          </Box>
          <Box width={10}>
            <Text>{report.engine}</Text>
          </Box>
          {'error' in report ? (
            <Text color="red">
              {report.error.code}: {report.error.message}
            </Text>
          ) : (
            <Text>
              client {report.client.total}/{report.client.max} (idle {report.client.idle}, waiting {report.client.waiting}) · server{' '}
              {serverSummary(report.server)}
            </Text>
          )}
        </Box>
      ))}
    </Box>
  );
}
