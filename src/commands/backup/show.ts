import { Args } from '@oclif/core';
import { StorageCommand } from '../../cli/base-command.js';
import { openRepository } from '../../engine/backup/open.js';
import { formatBytes } from '../../ui/format.js';
import { renderTable } from '../../ui/output.js';
import { quietProgress } from '../../ui/progress.js';

export default class BackupShow extends StorageCommand {
  static override summary = 'Show one backup: what, when, sizes, checksums and counts (never key material).';
  static override args = { id: Args.string({ description: 'The backup id (see backup list).', required: true }) };

  async run(): Promise<Record<string, unknown>> {
    const { args, flags } = await this.parse(BackupShow);
    const repo = await openRepository(await this.fleet(flags.config), quietProgress);
    const { dataKey: _key, seal: _seal, ...manifest } = repo.readManifest(args.id);
    this.print(
      [
        `backup   ${manifest.id}`,
        `store    ${manifest.store} (${manifest.engine}) ${manifest.source}, database ${manifest.database}`,
        ...(manifest.tenant
          ? [
              `tenant   ${manifest.tenant.name} (${manifest.tenant.container}), ${manifest.tenant.status}, at migration ${manifest.tenant.version ?? '(none)'}; \`storage backup restore ${manifest.id}\` restores it`,
            ]
          : []),
        `taken    ${manifest.startedAt} → ${manifest.finishedAt} (${(manifest.durationMs / 1000).toFixed(1)}s)`,
        `server   ${manifest.server.version}${manifest.server.dumpTool ? `; ${manifest.server.dumpTool}` : ''}`,
        `payload  ${manifest.payloadFormat}, ${manifest.cipher === 'none' ? 'NOT encrypted' : manifest.cipher}, ${formatBytes(manifest.storedBytes)} stored / ${formatBytes(manifest.originalBytes)} original`,
        `tags     ${manifest.tags.join(' ') || '-'}`,
        renderTable(
          ['file', 'bytes', 'sha256', 'compression'],
          manifest.files.map((file) => [file.name, file.bytes, file.sha256, file.compression]),
        ),
        renderTable(
          ['table / collection', 'rows'],
          Object.entries(manifest.counts).map(([name, count]) => [name, count]),
        ),
      ].join('\n'),
    );
    return manifest;
  }
}
