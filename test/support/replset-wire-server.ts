// A STAND-IN, NOT A DATABASE. No real MongoDB replica set can run on these machines (there is no
// mongod here, and FerretDB has no replica sets), so the failover tests that need a replica set
// talk to this: a tiny MongoDB wire-protocol server that answers only the replica-set commands
// `storage failover` sends (hello/isMaster, ping, buildInfo, endSessions, replSetGetStatus,
// replSetStepDown) and refuses everything else. It plays the member the store's URL points at
// (connect with directConnection=true) and simulates the rest of the set: members with optimes,
// a step-down that closes every connection and, after a short delay, makes a caught-up secondary
// primary. It records every command it receives so tests can check what was sent. Every other
// MongoDB test, including the standalone refusal, runs against the real FerretDB server.
import net from 'node:net';
import { frameReply, parseRequest, readMessages } from './wire-protocol.js';
import { Long, Timestamp, type Document } from 'mongodb';

const STATES: Record<string, number> = { PRIMARY: 1, SECONDARY: 2, RECOVERING: 3, STARTUP2: 5, ARBITER: 7, DOWN: 8 };

export interface SimMember {
  name: string;
  state: 'PRIMARY' | 'SECONDARY' | 'RECOVERING' | 'STARTUP2' | 'ARBITER' | 'DOWN';
  /** Seconds behind the primary's last write (0 for the primary). */
  lagSeconds?: number;
  /** 0: the set cannot reach it. */
  health?: 0 | 1;
  /** Priority 0: never elected (reported in hello's `passives`). */
  passive?: boolean;
}

export interface ReplSetScenario {
  setName?: string;
  /** The members; the first PRIMARY is the one the URL points at unless `self` names another. */
  members: SimMember[];
  self?: string;
  /** After a step-down, how long the election takes (ms); `null`: nobody is ever elected. */
  electAfterMs?: number | null;
  /** The primary answers replSetStepDown with mongod's "no electable secondaries caught up" error. */
  refuseStepDown?: boolean;
}

interface Member extends Required<Omit<SimMember, 'passive'>> {
  passive: boolean;
}

export class ReplSetWireServer {
  /** Every command received, in order (handshakes included), as the driver sent it. */
  readonly received: Document[] = [];
  private readonly members: Member[];
  private readonly self: string;
  private readonly sockets = new Set<net.Socket>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly lastWrite = new Date(Date.now() - 1000);
  private term = 3;

  private constructor(
    private readonly server: net.Server,
    private readonly scenario: ReplSetScenario,
  ) {
    this.members = scenario.members.map((member) => ({ lagSeconds: 0, health: 1, passive: false, ...member }));
    this.self = scenario.self ?? this.members.find((member) => member.state === 'PRIMARY')?.name ?? this.members[0].name;
    server.on('connection', (socket) => this.serve(socket));
  }

  static async start(scenario: ReplSetScenario): Promise<ReplSetWireServer> {
    const server = net.createServer();
    const stand = new ReplSetWireServer(server, scenario);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return stand;
  }

  get port(): number {
    return (this.server.address() as net.AddressInfo).port;
  }

  /** A store URL for this member: directConnection, so the driver does not try to reach the (imaginary) other members. */
  url(database: string): string {
    return `mongodb://127.0.0.1:${this.port}/${database}?directConnection=true`;
  }

  /** The commands received with this name (e.g. 'replSetStepDown'). */
  commands(name: string): Document[] {
    return this.received.filter((command) => Object.keys(command)[0] === name);
  }

  async stop(): Promise<void> {
    for (const timer of this.timers) clearTimeout(timer);
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private serve(socket: net.Socket): void {
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
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
    if (reply) socket.write(frameReply(request, reply));
  }

  private answer(command: Document, socket: net.Socket): Document | undefined {
    const name = Object.keys(command)[0];
    switch (name) {
      case 'hello':
      case 'isMaster':
      case 'ismaster':
        return this.hello();
      case 'ping':
      case 'endSessions':
        return { ok: 1 };
      case 'buildInfo':
      case 'buildinfo':
        return { version: '7.0.0', versionArray: [7, 0, 0, 0], ok: 1 };
      case 'replSetGetStatus':
        return this.status();
      case 'replSetStepDown':
        return this.stepDown(command, socket);
      default:
        return { ok: 0, code: 59, codeName: 'CommandNotFound', errmsg: `no such command: '${name}' (this stand-in answers only the replica-set commands)` };
    }
  }

  private member(name: string): Member {
    return this.members.find((member) => member.name === name)!;
  }

  private hello(): Document {
    const me = this.member(this.self);
    const primary = this.members.find((member) => member.state === 'PRIMARY');
    return {
      helloOk: true,
      isWritablePrimary: me.state === 'PRIMARY',
      ismaster: me.state === 'PRIMARY',
      secondary: me.state === 'SECONDARY',
      setName: this.scenario.setName ?? 'h_rs',
      setVersion: 1,
      hosts: this.members.filter((member) => !member.passive && member.state !== 'ARBITER').map((member) => member.name),
      passives: this.members.filter((member) => member.passive).map((member) => member.name),
      ...(primary ? { primary: primary.name } : {}),
      me: me.name,
      maxBsonObjectSize: 16 * 1024 * 1024,
      maxMessageSizeBytes: 48_000_000,
      maxWriteBatchSize: 100_000,
      localTime: new Date(),
      logicalSessionTimeoutMinutes: 30,
      minWireVersion: 0,
      maxWireVersion: 21,
      ok: 1,
    };
  }

  private status(): Document {
    const primary = this.members.find((member) => member.state === 'PRIMARY');
    return {
      set: this.scenario.setName ?? 'h_rs',
      date: new Date(),
      myState: STATES[this.member(this.self).state],
      term: Long.fromNumber(this.term),
      members: this.members.map((member, index) => {
        const optimeDate = new Date(this.lastWrite.getTime() - member.lagSeconds * 1000);
        return {
          _id: index,
          name: member.name,
          health: member.health,
          state: STATES[member.state],
          stateStr: member.state,
          optime: { ts: new Timestamp({ t: Math.floor(optimeDate.getTime() / 1000), i: 1 }), t: Long.fromNumber(this.term) },
          optimeDate,
          syncSourceHost: member.state === 'SECONDARY' && primary ? primary.name : '',
          ...(member.health === 0 ? { lastHeartbeatMessage: 'Error connecting to ' + member.name + ' :: caused by :: Connection refused' } : {}),
          ...(member.name === this.self ? { self: true } : {}),
        };
      }),
      ok: 1,
    };
  }

  /** Like mongod: refuse a bad request, refuse when no electable secondary is caught up, else step down and drop every connection. */
  private stepDown(command: Document, socket: net.Socket): Document | undefined {
    const me = this.member(this.self);
    const stepDownSecs = Number(command.replSetStepDown);
    const catchUpSecs = Number(command.secondaryCatchUpPeriodSecs ?? 10);
    if (me.state !== 'PRIMARY') return { ok: 0, code: 10107, codeName: 'NotWritablePrimary', errmsg: "not primary so can't step down" };
    if (!(stepDownSecs > catchUpSecs))
      return { ok: 0, code: 2, codeName: 'BadValue', errmsg: 'stepdown period must be longer than secondaryCatchUpPeriodSecs' };
    const electable = this.members.find((member) => member.state === 'SECONDARY' && member.health === 1 && !member.passive && member.lagSeconds <= 10);
    if (!electable || this.scenario.refuseStepDown)
      return { ok: 0, code: 262, codeName: 'ExceededTimeLimit', errmsg: 'No electable secondaries caught up as of ' + new Date().toISOString() };
    me.state = 'SECONDARY';
    electable.lagSeconds = 0;
    if (this.scenario.electAfterMs !== null) {
      const timer = setTimeout(() => {
        this.term++;
        electable.state = 'PRIMARY';
        this.timers.delete(timer);
      }, this.scenario.electAfterMs ?? 300);
      this.timers.add(timer);
    }
    // mongod closes connections as it steps down: the driver sees a network error, not a reply.
    for (const open of this.sockets) open.destroy();
    socket.destroy();
    return undefined;
  }
}
