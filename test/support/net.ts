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

export interface FaultProxy {
  port: number;
  /** Connections accepted so far (reset ones included). */
  readonly connections: number;
  /** Resets this many of the next new connections (a login that gets no answer), then forwards again. */
  resetNext: number;
  /** Resets every new connection (the server takes no more); connections already open are still served. */
  refuseNew: boolean;
  /** The server is gone: new connections are reset, and an open one is dropped as soon as its client sends anything. */
  down: boolean;
  /**
   * Sees the tag of each CommandComplete the server sends ('ALTER ROLE', 'SELECT 1', …) before the
   * client does; answering 'drop' drops that connection instead: the server did the work, the
   * client never hears it.
   */
  onCommandComplete?: (tag: string) => 'drop' | undefined;
  /** Sees what the client sends before the server does; answering 'drop' drops the connection: the server never gets it. */
  onClientData?: (chunk: Buffer) => 'drop' | undefined;
  close(): Promise<void>;
}

/**
 * A loopback TCP proxy in front of a PostgreSQL server that injects network faults where a real
 * server can produce none on demand: a reply lost after the server applied a change, a server
 * that stops taking connections, one login that gets no answer. It reads the server's messages
 * (type byte + length), so it is for plain-text connections (no sslmode in the url).
 */
export async function startFaultProxy(targetPort: number): Promise<FaultProxy> {
  let connections = 0;
  const sockets = new Set<net.Socket>();
  const track = (socket: net.Socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined);
    socket.on('close', () => sockets.delete(socket));
  };
  const server = net.createServer((client) => {
    connections++;
    track(client);
    if (proxy.down || proxy.refuseNew || proxy.resetNext > 0) {
      if (proxy.resetNext > 0) proxy.resetNext--;
      client.resetAndDestroy();
      return;
    }
    const upstream = net.connect({ port: targetPort, host: '127.0.0.1' });
    track(upstream);
    const drop = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
    client.on('data', (chunk) => (proxy.down || proxy.onClientData?.(chunk) === 'drop' ? drop() : upstream.write(chunk)));
    // Whole server messages are passed on; a partial one waits for the rest.
    let unsent = Buffer.alloc(0);
    upstream.on('data', (chunk) => {
      unsent = Buffer.concat([unsent, chunk]);
      let end = 0;
      while (unsent.length - end >= 5 && unsent.length - end >= 1 + unsent.readUInt32BE(end + 1)) {
        const length = unsent.readUInt32BE(end + 1);
        if (unsent[end] === 0x43 /* 'C': CommandComplete */) {
          const tag = unsent.toString('utf8', end + 5, end + 1 + length).replace(/\0$/, '');
          if (proxy.onCommandComplete?.(tag) === 'drop') return drop();
        }
        end += 1 + length;
      }
      client.write(unsent.subarray(0, end));
      unsent = unsent.subarray(end);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const proxy: FaultProxy = {
    port: (server.address() as net.AddressInfo).port,
    get connections() {
      return connections;
    },
    resetNext: 0,
    refuseNew: false,
    down: false,
    close: () =>
      new Promise((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
  return proxy;
}
