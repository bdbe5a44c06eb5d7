// A STAND-IN, NOT A DATABASE. FerretDB v1 has no user management (it refuses `updateUser`), so the
// MongoDB password rotation's rollback can never run against it. This tiny MongoDB wire-protocol
// server plays only the server side of a rotation: one user whose password `updateUser` changes,
// and SCRAM-SHA-256 logins (saslStart/saslContinue) checked against that password, so the real
// driver code (src/engine/secrets/rotate.ts with the MongoDB engine's prepare/tryLogin and the
// official driver) runs unchanged. `refuseLogin` makes it refuse a password it has taken, which
// is how a test gets a change whose server-side step succeeds and whose proof fails. It records
// every command; everything else is refused.
import { createHash, createHmac, pbkdf2Sync, randomBytes, timingSafeEqual } from 'node:crypto';
import net from 'node:net';
import { frameReply, parseRequest, readMessages } from './wire-protocol.js';
import { Binary, type Document } from 'mongodb';

const ITERATIONS = 4096;

export interface UserServerOptions {
  user: string;
  password: string;
  /** Refuse a login with this password even when it is the user's (default: never). */
  refuseLogin?: (password: string) => boolean;
  /** Refuse every `updateUser` (as a server without user management does). */
  refuseUpdate?: boolean;
}

interface Conversation {
  clientFirstBare: string;
  serverFirst: string;
  nonce: string;
}

export class MongoUserServer {
  /** Every command received, in order (handshakes and SASL steps included). */
  readonly received: Document[] = [];
  /** The user's password as the server holds it now. */
  password: string;
  private readonly salt = randomBytes(16);
  private readonly sockets = new Set<net.Socket>();
  private readonly conversations = new Map<net.Socket, Conversation>();

  private constructor(
    private readonly server: net.Server,
    private readonly options: UserServerOptions,
  ) {
    this.password = options.password;
    server.on('connection', (socket) => this.serve(socket));
  }

  static async start(options: UserServerOptions): Promise<MongoUserServer> {
    const stand = new MongoUserServer(net.createServer(), options);
    await new Promise<void>((resolve) => stand.server.listen(0, '127.0.0.1', resolve));
    return stand;
  }

  get port(): number {
    return (this.server.address() as net.AddressInfo).port;
  }

  /** The `updateUser` commands received, with the password each one set. */
  updates(): Array<{ user: string; pwd: string; db: string }> {
    return this.received.filter((command) => 'updateUser' in command).map((command) => ({ user: command.updateUser, pwd: command.pwd, db: command.$db }));
  }

  async stop(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private serve(socket: net.Socket): void {
    this.sockets.add(socket);
    socket.on('close', () => {
      this.sockets.delete(socket);
      this.conversations.delete(socket);
    });
    socket.on('error', () => undefined);
    readMessages(socket, (message) => this.handle(socket, message));
  }

  private handle(socket: net.Socket, message: Buffer): void {
    const request = parseRequest(message);
    if (!request) {
      socket.destroy();
      return;
    }
    const { command } = request;
    this.received.push(command);
    const reply = this.answer(command, socket);
    socket.write(frameReply(request, reply));
  }

  private answer(command: Document, socket: net.Socket): Document {
    const name = Object.keys(command)[0];
    switch (name) {
      case 'hello':
      case 'isMaster':
      case 'ismaster':
        return {
          helloOk: true,
          isWritablePrimary: true,
          ismaster: true,
          maxBsonObjectSize: 16 * 1024 * 1024,
          maxMessageSizeBytes: 48_000_000,
          maxWriteBatchSize: 100_000,
          localTime: new Date(),
          logicalSessionTimeoutMinutes: 30,
          minWireVersion: 0,
          maxWireVersion: 21,
          ...(command.saslSupportedMechs ? { saslSupportedMechs: ['SCRAM-SHA-256'] } : {}),
          ok: 1,
        };
      case 'ping':
      case 'endSessions':
        return { ok: 1 };
      case 'buildInfo':
      case 'buildinfo':
        return { version: '7.0.0', versionArray: [7, 0, 0, 0], ok: 1 };
      case 'saslStart':
        return this.saslStart(command, socket);
      case 'saslContinue':
        return this.saslContinue(command, socket);
      case 'updateUser':
        if (this.options.refuseUpdate) return { ok: 0, code: 13, codeName: 'Unauthorized', errmsg: 'not authorized to change users (stand-in)' };
        if (command.updateUser !== this.options.user) return { ok: 0, code: 11, codeName: 'UserNotFound', errmsg: `User "${command.updateUser}" not found` };
        this.password = String(command.pwd);
        return { ok: 1 };
      default:
        return { ok: 0, code: 59, codeName: 'CommandNotFound', errmsg: `no such command: '${name}' (this stand-in plays only a password change)` };
    }
  }

  private authFailed(socket: net.Socket): Document {
    this.conversations.delete(socket);
    return { ok: 0, code: 18, codeName: 'AuthenticationFailed', errmsg: 'Authentication failed.' };
  }

  private saslStart(command: Document, socket: net.Socket): Document {
    if (command.mechanism !== 'SCRAM-SHA-256') return this.authFailed(socket);
    const clientFirst = Buffer.from((command.payload as Binary).buffer).toString('utf8');
    const clientFirstBare = clientFirst.replace(/^n,[^,]*,/, '');
    const fields = Object.fromEntries(clientFirstBare.split(',').map((field) => [field[0], field.slice(2)]));
    if (fields.n !== this.options.user) return this.authFailed(socket);
    const nonce = `${fields.r}${randomBytes(18).toString('base64')}`;
    const serverFirst = `r=${nonce},s=${this.salt.toString('base64')},i=${ITERATIONS}`;
    this.conversations.set(socket, { clientFirstBare, serverFirst, nonce });
    return { conversationId: 1, done: false, payload: new Binary(Buffer.from(serverFirst)), ok: 1 };
  }

  /** RFC 5802: the proof must come from the password the server holds now. */
  private saslContinue(command: Document, socket: net.Socket): Document {
    const conversation = this.conversations.get(socket);
    if (!conversation) return this.authFailed(socket);
    const clientFinal = Buffer.from((command.payload as Binary).buffer).toString('utf8');
    const withoutProof = clientFinal.replace(/,p=[^,]*$/, '');
    const proof = Buffer.from(clientFinal.match(/,p=([^,]*)$/)?.[1] ?? '', 'base64');
    if (!withoutProof.includes(`r=${conversation.nonce}`)) return this.authFailed(socket);
    const salted = pbkdf2Sync(this.password, this.salt, ITERATIONS, 32, 'sha256');
    const clientKey = createHmac('sha256', salted).update('Client Key').digest();
    const storedKey = createHash('sha256').update(clientKey).digest();
    const authMessage = `${conversation.clientFirstBare},${conversation.serverFirst},${withoutProof}`;
    const signature = createHmac('sha256', storedKey).update(authMessage).digest();
    const expected = Buffer.from(clientKey.map((byte, index) => byte ^ signature[index]));
    const refused = this.options.refuseLogin?.(this.password) ?? false;
    if (refused || proof.length !== expected.length || !timingSafeEqual(proof, expected)) return this.authFailed(socket);
    this.conversations.delete(socket);
    const serverKey = createHmac('sha256', salted).update('Server Key').digest();
    const serverSignature = createHmac('sha256', serverKey).update(authMessage).digest('base64');
    return { conversationId: 1, done: true, payload: new Binary(Buffer.from(`v=${serverSignature}`)), ok: 1 };
  }
}
