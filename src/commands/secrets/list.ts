import { StorageCommand } from '../../cli/base-command.js';
import { csvFlag } from '../../cli/flags.js';
import { openVault, passphraseFileFlag, secretUsers } from '../../cli/vault.js';
import type { SecretInfo } from '../../engine/secrets/vault.js';
import { renderCsv, renderTable } from '../../ui/output.js';

export default class SecretsList extends StorageCommand {
  static override summary = 'List secrets: names, versions, when created and rotated, and which stores use them (never values).';
  static override flags = { csv: csvFlag, 'passphrase-file': passphraseFileFlag };

  async run(): Promise<{ vault: string; secrets: Array<SecretInfo & { usedBy: string[] }> }> {
    const { flags } = await this.parse(SecretsList);
    const fleet = await this.fleet(flags.config);
    const vault = await openVault(fleet, flags['passphrase-file']);
    const users = secretUsers(fleet);
    const secrets = vault.list().map((info) => ({ ...info, usedBy: users.get(info.name) ?? [] }));
    const rows = secrets.map((s) => [s.name, s.version, s.versions.join(' '), s.created, s.rotated, s.usedBy.join(' ')]);
    const headers = ['name', 'version', 'kept versions', 'created', 'rotated', 'used by'];
    this.print(flags.csv ? renderCsv(headers, rows) : rows.length ? renderTable(headers, rows) : `No secrets in ${vault.file} yet.`);
    const missing = [...users.keys()].filter((name) => !vault.has(name));
    for (const name of missing) this.warning(`secret:${name} is referenced by ${users.get(name)!.join(', ')} but is not in the vault.`);
    for (const secret of secrets.filter((s) => s.pending))
      this.warning(
        `secret "${secret.name}" has a password rotation of store "${secret.pending!.store}" pending since ${secret.pending!.since}; the next command that connects to it (e.g. storage db health ${secret.pending!.store}) settles it.`,
      );
    return { vault: vault.file, secrets };
  }
}
