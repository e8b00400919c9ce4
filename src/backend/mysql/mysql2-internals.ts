import type { EventEmitter } from 'node:events';
import { SqlgateError } from '../../errors.js';
import type { MysqlParam } from './mysql-values.js';

/**
 * Every private member of `mysql2` the MySQL/MariaDB backend touches, in one file. The backend decodes
 * binary rows straight from mysql2's packets into JSON text (no row objects), reads the EOF packet's status
 * flags that mysql2 drops, and reads the pool's and connection's private state; none of it is mysql2's
 * public API. The members are listed here, checked when a connection is first used and when a command
 * class is first seen (fail loudly, never fall back), and checked without a database by
 * test/unit/driver-internals.test.ts. mysql2 is pinned exactly in package.json.
 *
 * Users outside the statement path: mysql-stream.ts (issue #14) hooks the same command members
 * (`execute`, `next`, prototype `row`, `buildParserFromFields`) through watchEofStatus and
 * decodeRowsWith below, and reads the packet methods listed here (mysql-stream-bytes.ts).
 */

/** The version the members below were checked against (package.json pins it exactly). */
export const MYSQL2_CHECKED_VERSION = '3.24.6';

/** A mysql2 command (lib/commands/command.js): an event emitter driven packet by packet. */
export interface RawCommand extends EventEmitter {
  /** The state machine's current state: a prototype method such as `row` (null before the first packet). */
  next: unknown;
  /** Feeds one packet to the state machine; the backend wraps it to see every packet go by. */
  execute(packet: RawPacket | null, connection: unknown): boolean;
  /** Execute commands only: the row parser class for a result set's fields (replaced to decode rows here). */
  buildParserFromFields?: (fields: unknown, connection: unknown) => new () => unknown;
}

/** A mysql2 packet (lib/packets/packet.js) as the state hook reads it. */
export interface RawPacket {
  isEOF(): boolean;
  eofStatusFlags(): number;
}

/** The mysql2 packet members the row readers use (its `Packet` class). */
export interface RowPacket {
  buffer: Buffer;
  offset: number;
  readInt8(): number;
  readSInt8(): number;
  readInt16(): number;
  readSInt16(): number;
  readInt32(): number;
  readSInt32(): number;
  readFloat(): number;
  readDouble(): number;
  readLengthCodedNumber(): number | null;
  readLengthCodedString(encoding: string): string | null;
  readLengthCodedBuffer(): Buffer | null;
  readDateTimeString(decimals: number, timeSep: string | null, columnType: number): string;
  readTimeString(): string;
  parseGeometryValue(): unknown;
  parseVector(): unknown;
}

/** The members of a mysql2 (pool) connection this backend uses; hand-written so tests can fake them. */
export interface RawConnection extends EventEmitter {
  threadId: number | null;
  execute(options: { sql: string; values: MysqlParam[]; rowsAsArray: boolean }): RawCommand;
  query(options: { sql: string; rowsAsArray: boolean }): RawCommand;
  reset(callback: (err: Error | null) => void): void;
  unprepare(sql: string): void;
  release(): void;
  destroy(): void;
  /** Private: set once the connection failed or is closing (then nothing can be sent). */
  readonly _fatalError?: unknown;
  readonly _protocolError?: unknown;
  readonly _closing?: boolean;
  readonly stream?: { destroyed?: boolean };
}

/** Packet methods the readers and the state hook call. */
export const MYSQL2_PACKET_METHODS = [
  'isEOF',
  'eofStatusFlags',
  'readInt8',
  'readSInt8',
  'readInt16',
  'readSInt16',
  'readInt32',
  'readSInt32',
  'readFloat',
  'readDouble',
  'readLengthCodedNumber',
  'readLengthCodedString',
  'readLengthCodedBuffer',
  'readDateTimeString',
  'readTimeString',
  'parseGeometryValue',
  'parseVector',
] as const;

/** Connection methods the backend calls (pause/resume/prepare: mysql-stream.ts). */
export const MYSQL2_CONNECTION_METHODS = [
  'execute',
  'query',
  'reset',
  'unprepare',
  'release',
  'destroy',
  'pause',
  'resume',
  'prepare',
] as const;

/** The error a changed driver gets: it names the member, the checked version and this file. */
export function mysql2InternalsError(member: string): SqlgateError {
  return new SqlgateError(
    'INTERNAL',
    `mysql2's private member ${member} is not as sqlgate expects (checked against mysql2 ` +
      `${MYSQL2_CHECKED_VERSION}); see src/backend/mysql/mysql2-internals.ts`,
  );
}

type Loose = Record<string, unknown>;

/** The first member of a (pool) connection that is not as the backend needs; null when all are there. */
export function mysql2ConnectionProblem(conn: unknown): string | null {
  const c = conn as Loose;
  for (const m of MYSQL2_CONNECTION_METHODS) {
    if (typeof c[m] !== 'function') return `Connection.${m}() (function)`;
  }
  for (const m of ['_fatalError', '_protocolError'] as const) {
    if (!(m in c)) return `Connection.${m} (null until the connection fails)`;
  }
  if (typeof c.stream !== 'object' || c.stream === null) return 'Connection.stream (socket)';
  if (!('threadId' in c)) return 'Connection.threadId';
  return null;
}

/** The first member of a command's class that is not as the backend needs; null when all are there. */
export function mysql2CommandProblem(cmd: unknown, binary: boolean): string | null {
  const c = cmd as Loose;
  const name = binary ? 'Execute' : 'Query';
  if (!('next' in c)) return `${name}.next (state machine state)`;
  if (typeof c.execute !== 'function') return `${name}.execute() (packet hook)`;
  const proto = Object.getPrototypeOf(cmd) as Loose | null;
  if (typeof proto?.row !== 'function') return `${name}.prototype.row (row state)`;
  if (binary && typeof c.buildParserFromFields !== 'function') return `${name}.buildParserFromFields()`;
  return null;
}

/** The first packet method missing; null when all are there. */
export function mysql2PacketProblem(packet: unknown): string | null {
  const p = packet as Loose;
  for (const m of MYSQL2_PACKET_METHODS) {
    if (typeof p[m] !== 'function') return `Packet.${m}() (function)`;
  }
  if (!Buffer.isBuffer(p.buffer)) return 'Packet.buffer (Buffer)';
  if (typeof p.offset !== 'number') return 'Packet.offset (number)';
  return null;
}

/** The first pool member missing; null when all are there. */
export function mysql2PoolProblem(pool: unknown): string | null {
  const p = pool as Loose;
  for (const m of ['_allConnections', '_freeConnections'] as const) {
    if (typeof (p[m] as Loose | undefined)?.length !== 'number') return `Pool.${m}.length (number)`;
  }
  return null;
}

function assert(problem: string | null): void {
  if (problem) throw mysql2InternalsError(problem);
}

const checkedProtos = new WeakSet<object>();
const checkedConnections = new WeakSet<object>();
let packetChecked = false;
/** Set when a packet lacked a member; read by assertMysqlPackets (never thrown inside mysql2's parser). */
let packetProblem: string | null = null;

/** Throws (mysql2InternalsError) unless the connection is as listed; once per connection. */
export function assertMysqlConnection(conn: RawConnection): void {
  if (checkedConnections.has(conn)) return;
  assert(mysql2ConnectionProblem(conn));
  checkedConnections.add(conn);
}

/** Throws unless the pool is as listed (its counts feed /metrics and poolStats). */
export function assertMysqlPool(pool: unknown): void {
  assert(mysql2PoolProblem(pool));
}

/**
 * Throws if a packet seen by watchEofStatus lacked a member (the pool calls it once a new connection ran
 * its first statements, so the first connection fails instead of rows being read wrongly).
 */
export function assertMysqlPackets(): void {
  assert(packetProblem);
}

/** Throws unless the command's class is as listed; once per class. */
export function assertMysqlCommand(cmd: RawCommand, binary: boolean): void {
  const proto = Object.getPrototypeOf(cmd) as object;
  if (checkedProtos.has(proto)) return;
  assert(mysql2CommandProblem(cmd, binary));
  checkedProtos.add(proto);
}

/**
 * Calls `onStatus` with the status flags of the EOF packet that ends a result set, which mysql2 reads
 * but does not report (it reports those of OK packets only).
 */
export function watchEofStatus(cmd: RawCommand, binary: boolean, onStatus: (flags: number) => void): void {
  assertMysqlCommand(cmd, binary);
  const rowState = (Object.getPrototypeOf(cmd) as { row: unknown }).row;
  const handle = cmd.execute;
  cmd.execute = function (this: RawCommand, packet, connection) {
    if (packet) {
      if (!packetChecked) {
        packetProblem = mysql2PacketProblem(packet);
        packetChecked = true;
      }
      if (packetProblem === null && this.next === rowState && packet.isEOF())
        onStatus(packet.eofStatusFlags());
    }
    return handle.call(this, packet, connection);
  };
}

/**
 * Makes an Execute command hand every binary row packet to `decoder.next` instead of mysql2's row parser;
 * mysql2 then emits whatever that returns as the row ('result' event).
 */
export function decodeRowsWith<T>(cmd: RawCommand, decoder: { next(packet: RowPacket): T }): void {
  assertMysqlCommand(cmd, true);
  // mysql2 instantiates what this returns (`new Parser()`); a class whose constructor returns the decoder.
  class RowDecoder {
    constructor() {
      // biome-ignore lint/correctness/noConstructorReturn: mysql2 takes the decoder from `new`.
      return decoder;
    }
  }
  cmd.buildParserFromFields = () => RowDecoder;
}

/** Whether mysql2 already knows the socket is gone (its private failure/closing flags). */
export function mysql2Gone(raw: RawConnection): boolean {
  return !!raw._fatalError || !!raw._protocolError || raw._closing === true || raw.stream?.destroyed === true;
}

/** The pool's connection counts (private queues; checked at start by assertMysqlPool). */
export function mysql2PoolCounts(pool: unknown): { all: number; free: number } {
  const p = pool as { _allConnections: { length: number }; _freeConnections: { length: number } };
  return { all: p._allConnections.length, free: p._freeConnections.length };
}
