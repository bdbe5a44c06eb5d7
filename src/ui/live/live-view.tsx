// Shows a live view until the person presses q or Ctrl-C. The view is drawn from snapshots that
// are either pushed (a monitor calls back as each store answers) or polled on an interval, and is
// redrawn at the terminal's current size whenever it is resized. Live views draw on stderr, so
// stdout stays for results.
import { Text, render, useApp, useInput, useStdout } from 'ink';
import { useEffect, useRef, useState, type ReactElement } from 'react';
import type { ScreenSize } from './layout.js';

export interface LiveViewProps<T> {
  /** Push: called with an `onChange` for every new snapshot; returns the function that stops it. */
  subscribe?: (onChange: (snapshot: T) => void) => () => void;
  /** Poll: called every `intervalMs` (the next call waits for the previous answer). */
  poll?: () => Promise<T>;
  intervalMs?: number;
  view: (snapshot: T, size: ScreenSize) => ReactElement;
}

/** The terminal's size now, following resizes. */
export function useScreenSize(): ScreenSize {
  const { stdout } = useStdout();
  const read = (): ScreenSize => ({ columns: stdout.columns || 80, rows: stdout.rows || 24 });
  const [size, setSize] = useState(read);
  useEffect(() => {
    const onResize = () => setSize(read());
    stdout.on('resize', onResize);
    return () => {
      stdout.off('resize', onResize);
    };
  }, [stdout]);
  return size;
}

export function LiveView<T>({ subscribe, poll, intervalMs = 2000, view }: LiveViewProps<T>) {
  const [snapshot, setSnapshot] = useState<T>();
  const size = useScreenSize();
  // The latest functions, so a parent re-render does not restart the timer.
  const pollRef = useRef(poll);
  pollRef.current = poll;
  const subscribeRef = useRef(subscribe);
  subscribeRef.current = subscribe;
  const { exit } = useApp();
  useInput((input, key) => {
    if (input === 'q' || (key.ctrl && input === 'c')) exit();
  });
  useEffect(() => {
    if (subscribeRef.current) return subscribeRef.current((next) => setSnapshot(() => next));
    let stopped = false;
    let timer: NodeJS.Timeout | undefined;
    const tick = async () => {
      try {
        const next = await pollRef.current!();
        if (!stopped) setSnapshot(() => next);
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
  return snapshot === undefined ? <Text dimColor>Probing…</Text> : view(snapshot, size);
}

/** Shows a live view on the terminal and resolves when the person quits it. */
const ESC = String.fromCharCode(27);
/** The terminal's alternate screen, as top and less use: the operator's scrollback stays untouched. */
const ALTERNATE_SCREEN = { enter: `${ESC}[?1049h${ESC}[H`, leave: `${ESC}[?1049l` };
const CLEAR_SCREEN = `${ESC}[2J${ESC}[H`;

export async function runLiveView<T>(props: LiveViewProps<T>): Promise<void> {
  const stderr = process.stderr as NodeJS.WriteStream;
  // A terminal re-wraps the last frame when its width changes, and the next frame would be drawn
  // below the remains: the view owns the alternate screen (the operator's scrollback stays as it
  // was), cleared on every width change before the view redraws. The frame's title rule spans the
  // width, so the next frame always differs from the last and is drawn in full.
  let onAlternateScreen = true;
  const leaveAlternateScreen = () => {
    if (onAlternateScreen) stderr.write(ALTERNATE_SCREEN.leave);
    onAlternateScreen = false;
  };
  stderr.write(ALTERNATE_SCREEN.enter);
  process.on('exit', leaveAlternateScreen);
  let drawnColumns = stderr.columns;
  const clearOnNewWidth = () => {
    if (stderr.columns !== drawnColumns) stderr.write(CLEAR_SCREEN);
    drawnColumns = stderr.columns;
  };
  // Registered before Ink's own listener, so the screen is clear when Ink redraws.
  stderr.on('resize', clearOnNewWidth);
  // Node refreshes stdout's size on SIGWINCH, and not always stderr's: do it for the view.
  const onWindowChange = () => {
    const [columns, rows] = stderr.getWindowSize();
    if (columns === stderr.columns && rows === stderr.rows) return;
    Object.assign(stderr, { columns, rows });
    stderr.emit('resize');
  };
  process.on('SIGWINCH', onWindowChange);
  const instance = render(<LiveView {...props} />, { stdout: stderr, exitOnCtrlC: true });
  try {
    await instance.waitUntilExit();
  } finally {
    process.removeListener('SIGWINCH', onWindowChange);
    stderr.removeListener('resize', clearOnNewWidth);
    leaveAlternateScreen();
    process.removeListener('exit', leaveAlternateScreen);
  }
}
