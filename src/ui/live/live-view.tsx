// Runs a poll on an interval and redraws its view until the person presses q or Ctrl-C.
// Live views draw on stderr, so stdout stays for results.
import { Text, render, useApp, useInput } from 'ink';
import { useEffect, useRef, useState, type ReactElement } from 'react';

export interface LiveViewProps<T> {
  poll: () => Promise<T>;
  intervalMs: number;
  view: (snapshot: T) => ReactElement;
}

export function LiveView<T>({ poll, intervalMs, view }: LiveViewProps<T>) {
  const [snapshot, setSnapshot] = useState<T>();
  // The latest poll function, so a parent re-render does not restart the timer.
  const pollRef = useRef(poll);
  pollRef.current = poll;
  const { exit } = useApp();
  useInput((input, key) => {
    if (input === 'q' || (key.ctrl && input === 'c')) exit();
  });
  useEffect(() => {
    let stopped = false;
    let timer: NodeJS.Timeout | undefined;
    const tick = async () => {
      try {
        const next = await pollRef.current();
        if (!stopped) setSnapshot(next);
      } catch {
        // A failed poll keeps the last frame; the next tick tries again.
      }
      if (stopped) return;
      timer = setTimeout(tick, intervalMs);
    };
    void tick();
    return () => {
      stopped = true;
      if (timer) clearTimeout(timer);
    };
  }, [intervalMs]);
  return snapshot === undefined ? <Text dimColor>Probing…</Text> : view(snapshot);
}

/** Shows a live view on the terminal and resolves when the person quits it. */
export async function runLiveView<T>(props: LiveViewProps<T>): Promise<void> {
  const instance = render(<LiveView {...props} />, { stdout: process.stderr, exitOnCtrlC: true });
  await instance.waitUntilExit();
}
