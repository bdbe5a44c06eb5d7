// Buffers from native code (the zstd codec's output) and from pipes and file reads count as V8
// "external" memory, which V8 collects only once tens of MB of it have piled up: in a backup or
// restore stream that garbage, not the data in flight, set the peak memory (~70 MB of 2 MiB blocks
// already passed on). A minor collection (new space only: about a millisecond) every few MiB of
// data keeps the peak flat. Uses V8's own gc() (exposed once, here); where it is unavailable this
// does nothing and memory is as before.
import v8 from 'node:v8';
import vm from 'node:vm';

type Collect = (options?: { type: 'minor' | 'major' }) => void;
let collect: Collect | null | undefined;

function collector(): Collect | null {
  if (collect === undefined) {
    try {
      const exposed = (globalThis as { gc?: Collect }).gc;
      if (typeof exposed === 'function') collect = exposed;
      else {
        v8.setFlagsFromString('--expose-gc');
        collect = vm.runInNewContext('gc') as Collect;
      }
    } catch {
      collect = null;
    }
  }
  return collect;
}

/** 8 MiB between collections: the garbage stays near that, at ~1 ms per collection. */
export const COLLECT_EVERY = 8 * 1024 * 1024;

/** Counts bytes a stream passes on and runs a minor collection each `every` bytes. */
export class GarbagePacer {
  private bytes = 0;
  constructor(private readonly every = COLLECT_EVERY) {}
  add(count: number): void {
    this.bytes += count;
    if (this.bytes < this.every) return;
    this.bytes = 0;
    collector()?.({ type: 'minor' });
  }
}
