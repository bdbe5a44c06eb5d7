import { stringify } from 'yaml';
import { StorageCommand } from '../../cli/base-command.js';
import { describeConfig, type ConfigView } from '../../engine/config/inspect.js';

export default class ConfigShow extends StorageCommand {
  static override summary = 'Show the resolved configuration (defaults and environment applied, secrets masked).';
  static override examples = ['<%= config.bin %> config show', '<%= config.bin %> config show --json'];

  async run(): Promise<ConfigView> {
    const { flags } = await this.parse(ConfigShow);
    const view = describeConfig((await this.fleet(flags.config)).config);
    const from = view.source.path ? `${view.source.path} (${view.source.kind})` : 'no file: built-in defaults';
    this.print(`# configuration from ${from}\n${stringify({ stores: view.stores, backup: view.backup, tenancy: view.tenancy, vault: view.vault })}`);
    return view;
  }
}
