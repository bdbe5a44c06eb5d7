import { StorageCommand } from '../../cli/base-command.js';
import { configWarnings, type ConfigWarning } from '../../engine/config/inspect.js';
import type { ConfigSource } from '../../engine/config/load.js';

export default class ConfigValidate extends StorageCommand {
  static override summary = 'Check the configuration file against the schema; every bad field is listed with its path (exit 78).';
  static override examples = ['<%= config.bin %> config validate', '<%= config.bin %> config validate --config ./prod.yaml --json'];

  async run(): Promise<{ valid: true; source: ConfigSource; stores: string[]; warnings: ConfigWarning[] }> {
    const { flags } = await this.parse(ConfigValidate);
    const { config } = await this.fleet(flags.config);
    const warnings = configWarnings(config);
    for (const warning of warnings) this.warning(`${warning.path} ${warning.message}`);
    this.print(
      `${config.source.path ?? 'Built-in defaults'}: valid, ${config.stores.size} store${config.stores.size === 1 ? '' : 's'} (${[...config.stores.keys()].join(', ')}).`,
    );
    return { valid: true, source: config.source, stores: [...config.stores.keys()], warnings };
  }
}
