// The work a backup or restore can start before the repository's key is unlocked: unlocking a
// passphrase's key is scrypt (~0.3 s, on libuv's thread pool), and meanwhile the main thread can
// load the store's engine, connect and probe its tools (the engine's `prepare`). `backup create`
// goes further: its dump itself runs while the key is unlocked (see create.ts). Nothing here is
// awaited or reported: a store that cannot be prepared fails in the run itself, with its message.
import type { Fleet } from '../fleet.js';

export function prepareStores(fleet: Fleet, stores: readonly string[], purpose: 'dump' | 'restore'): void {
  for (const name of stores) {
    void fleet
      .capability(name, 'backup')
      .then(({ impl, provider }) => impl.prepare?.(provider, purpose))
      .catch(() => undefined);
  }
}
