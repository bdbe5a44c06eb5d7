// A local syslog stand-in: a unix datagram socket the test listens on (Node's dgram has no unix
// sockets, so a few lines of Python hold it), handing back each message received.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';

export interface DatagramListener {
  socket: string;
  /** The next message received (waits for it, up to `timeoutMs`). */
  next(timeoutMs?: number): Promise<string>;
  close(): void;
}

const LISTENER = `
import json, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
print('ready', flush=True)
while True:
    data = s.recv(262144)
    print(json.dumps(data.decode('utf-8', 'replace')), flush=True)
`;

export async function listenDatagrams(): Promise<DatagramListener> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'storage-syslog-'));
  const socket = path.join(dir, 'log.sock');
  const child = spawn('python3', ['-c', LISTENER, socket], { stdio: ['ignore', 'pipe', 'inherit'] });
  const lines = readline.createInterface({ input: child.stdout! });
  const queue: string[] = [];
  const waiting: Array<(line: string) => void> = [];
  let ready: () => void;
  const started = new Promise<void>((resolve, reject) => {
    ready = resolve;
    child.on('error', (error) => reject(new Error(`python3 is needed for the syslog test listener: ${error.message}`)));
    child.on('exit', (code) => reject(new Error(`the syslog test listener exited (${code})`)));
  });
  lines.on('line', (line) => {
    if (line === 'ready') return ready();
    const message = JSON.parse(line) as string;
    const waiter = waiting.shift();
    if (waiter) waiter(message);
    else queue.push(message);
  });
  await started;
  return {
    socket,
    next: (timeoutMs = 10_000) => {
      if (queue.length > 0) return Promise.resolve(queue.shift()!);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiting.splice(waiting.indexOf(deliver), 1);
          reject(new Error(`no syslog message arrived on ${socket} within ${timeoutMs}ms`));
        }, timeoutMs);
        const deliver = (line: string) => {
          clearTimeout(timer);
          resolve(line);
        };
        waiting.push(deliver);
      });
    },
    close: () => {
      child.kill();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
