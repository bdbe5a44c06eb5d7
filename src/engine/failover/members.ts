// A store's failover members as the config names them: the server at `url` (named `member`, by
// default the store's name) and each of `standbys`.
import type { ResolvedStore } from '../config/load.js';
import type { LocalControl, Member } from '../engines/spec.js';
import { StorageError } from '../errors.js';

interface MemberConfig {
  url?: string;
  member?: string;
  slot?: string;
  control?: LocalControl;
  standbys?: Array<{ name: string; url: string; slot?: string; control?: LocalControl }>;
}

/** A slot name PostgreSQL accepts, from a member name. */
function slotFor(name: string): string {
  return name
    .toLowerCase()
    .replace(/[^a-z0-9_]/g, '_')
    .slice(0, 63);
}

export function membersOf(store: ResolvedStore): Member[] {
  const config = store.config as MemberConfig;
  if (!config.url) return [];
  const first = config.member ?? store.name;
  const members: Member[] = [
    { name: first, url: config.url, slot: config.slot ?? slotFor(first), ...(config.control ? { control: config.control } : {}) },
    ...(config.standbys ?? []).map((standby) => ({
      name: standby.name,
      url: standby.url,
      slot: standby.slot ?? slotFor(standby.name),
      ...(standby.control ? { control: standby.control } : {}),
    })),
  ];
  const seen = new Set<string>();
  for (const member of members) {
    if (seen.has(member.name))
      throw new StorageError('CONFIG_INVALID', `Store "${store.name}" names the member "${member.name}" twice.`, {
        hint: `Give the server at stores.${store.name}.url its own name with \`member:\`, distinct from its standbys' names.`,
      });
    seen.add(member.name);
  }
  return members;
}
