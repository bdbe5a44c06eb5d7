// Loopback helpers for tests: free ports, waiting for a port, and a "blackhole" server that
// accepts connections and never answers (a hung or firewalled store).
import net from 'node:net';

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

export async function waitForPort(port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = net.connect({ port, host: '127.0.0.1' }, () => {
        socket.destroy();
        resolve(true);
      });
      socket.on('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`nothing listened on 127.0.0.1:${port} within ${timeoutMs}ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

export interface Blackhole {
  port: number;
  close(): Promise<void>;
}

export async function startBlackhole(): Promise<Blackhole> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    close: () =>
      new Promise((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

export interface CountingProxy {
  port: number;
  /** Connections accepted so far. */
  readonly connections: number;
  /** Every byte clients sent through the proxy (forward mode). */
  readonly sent: Buffer;
  close(): Promise<void>;
}

/**
 * A loopback TCP proxy that counts connections: `forward` passes them to the target port,
 * `reset` drops each one at once (a server that is restarting).
 */
export async function startCountingProxy(targetPort: number, mode: 'forward' | 'reset'): Promise<CountingProxy> {
  let connections = 0;
  const captured: Buffer[] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    connections++;
    sockets.add(socket);
    socket.on('error', () => undefined);
    socket.on('close', () => sockets.delete(socket));
    if (mode === 'reset') {
      socket.resetAndDestroy();
      return;
    }
    const upstream = net.connect({ port: targetPort, host: '127.0.0.1' });
    sockets.add(upstream);
    upstream.on('error', () => socket.destroy());
    upstream.on('close', () => sockets.delete(upstream));
    socket.on('data', (chunk) => captured.push(Buffer.from(chunk)));
    socket.pipe(upstream).pipe(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    get connections() {
      return connections;
    },
    get sent() {
      return Buffer.concat(captured);
    },
    close: () =>
      new Promise((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
