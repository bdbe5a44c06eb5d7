// The MongoDB wire protocol, as much as the test stand-ins need: cutting a socket's bytes into
// messages, reading the command of an OP_MSG (or of the driver's first OP_QUERY handshake), and
// framing a reply the same way the request came.
import type net from 'node:net';
import { BSON, type Document } from 'mongodb';

const OP_REPLY = 1;
const OP_QUERY = 2004;
const OP_MSG = 2013;

export interface Request {
  requestId: number;
  opCode: number;
  command: Document;
}

/** Calls `onMessage` with each whole message that arrives on `socket`. */
export function readMessages(socket: net.Socket, onMessage: (message: Buffer) => void): void {
  let pending = Buffer.alloc(0);
  socket.on('data', (chunk) => {
    pending = Buffer.concat([pending, chunk]);
    while (pending.length >= 4 && pending.length >= pending.readInt32LE(0)) {
      const message = pending.subarray(0, pending.readInt32LE(0));
      pending = pending.subarray(message.length);
      onMessage(message);
    }
  });
}

/** The command of a message, or undefined for an opcode the stand-ins do not speak. */
export function parseRequest(message: Buffer): Request | undefined {
  const requestId = message.readInt32LE(4);
  const opCode = message.readInt32LE(12);
  if (opCode === OP_MSG) {
    // flagBits (u32), then sections: kind 0 is the command document; kind 1 (document sequences) is skipped.
    let command: Document = {};
    for (let at = 20; at < message.length;) {
      const kind = message[at++];
      const size = message.readInt32LE(at);
      if (kind === 0) command = BSON.deserialize(message.subarray(at, at + size));
      at += size;
    }
    return { requestId, opCode, command };
  }
  if (opCode === OP_QUERY) {
    // The driver's first handshake: flags, collection name (C string), skip, limit, query document.
    const at = message.indexOf(0, 20) + 1 + 8;
    return { requestId, opCode, command: BSON.deserialize(message.subarray(at, at + message.readInt32LE(at))) };
  }
  return undefined;
}

let nextId = 1;

function header(length: number, responseTo: number, opCode: number): Buffer {
  const bytes = Buffer.alloc(16);
  bytes.writeInt32LE(length, 0);
  bytes.writeInt32LE(nextId++, 4);
  bytes.writeInt32LE(responseTo, 8);
  bytes.writeInt32LE(opCode, 12);
  return bytes;
}

/** A reply to `request`, in the framing it came in (OP_MSG, or OP_REPLY to an OP_QUERY). */
export function frameReply(request: Request, reply: Document): Buffer {
  if (request.opCode === OP_MSG) {
    const body = Buffer.concat([Buffer.alloc(4), Buffer.from([0]), BSON.serialize(reply)]);
    return Buffer.concat([header(16 + body.length, request.requestId, OP_MSG), body]);
  }
  const fields = Buffer.alloc(20); // responseFlags, cursorID (8 bytes), startingFrom, numberReturned
  fields.writeInt32LE(1, 16);
  const body = Buffer.concat([fields, BSON.serialize(reply)]);
  return Buffer.concat([header(16 + body.length, request.requestId, OP_REPLY), body]);
}
