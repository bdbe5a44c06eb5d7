// Whether a process of this host is still running: the question every lock and scratch owner asks.

/** Whether process `pid` of this host is running (one of another user's counts: EPERM means it exists). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
