// How tenants read at a terminal.
import type { TenantView } from '../../engine/tenant/service.js';
import { formatBytes } from '../format.js';

function versionText(t: TenantView): string {
  if (t.problems.length) return `${t.version ?? '(none)'} — ${t.problems[0].migration}: ${t.problems[0].problem}`;
  return t.pending.length ? `${t.version ?? '(none)'} (${t.pending.length} behind)` : `${t.version ?? '(none)'} (current)`;
}

export const tenantRows = {
  header: (stats?: boolean) => ['tenant', 'container', 'status', 'version', 'migrated', ...(stats ? ['size', 'rows'] : [])],
  row: (t: TenantView, stats?: boolean) => [
    t.name,
    t.container,
    t.status,
    versionText(t),
    t.migratedAt ?? '',
    ...(stats ? [formatBytes(t.bytes ?? 0), String(Object.values(t.rows ?? {}).reduce((a, b) => a + b, 0))] : []),
  ],
};

export function tenantText(t: TenantView): string {
  const lines = [
    `${t.name}: ${t.status}, ${t.container}`,
    `  version    ${versionText(t)}${t.pending.length ? `; pending ${t.pending.join(', ')}` : ''}`,
    `  created    ${t.createdAt}`,
    `  migrated   ${t.migratedAt ?? 'never'}`,
    `  size       ${formatBytes(t.bytes ?? 0)}`,
  ];
  for (const [table, rows] of Object.entries(t.rows ?? {})) lines.push(`  ${table.padEnd(10)} ${rows} rows`);
  return lines.join('\n');
}
