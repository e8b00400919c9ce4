import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import net from 'node:net';
import path from 'node:path';
import mysql from 'mysql2';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  decodeRowsWith,
  MYSQL2_CHECKED_VERSION,
  MYSQL2_CONNECTION_METHODS,
  MYSQL2_PACKET_METHODS,
  mysql2CommandProblem,
  mysql2ConnectionProblem,
  mysql2PacketProblem,
  mysql2PoolCounts,
  mysql2PoolProblem,
  type RawCommand,
  watchEofStatus,
} from '../../src/backend/mysql/mysql2-internals.js';
import {
  assertPgClient,
  PG_CHECKED_VERSIONS,
  PG_SUBMITTABLE_HOOKS,
  type PgWire,
  pgCancelKey,
  pgClientProblem,
  pgDestroySocket,
  pgQueryable,
  pgWire,
  pgWriteRaw,
} from '../../src/backend/postgres/pg-internals.js';

/**
 * The private driver members the backends use (pg-internals.ts, mysql2-internals.ts), checked on the
 * installed drivers without a database: pg against a scripted fake server on loopback, mysql2 on its own
 * classes. A driver upgrade that changes one fails here, naming the member.
 */

const root = path.resolve(import.meta.dirname, '../..');
const installed = (pkg: string): string =>
  JSON.parse(readFileSync(path.join(root, 'node_modules', pkg, 'package.json'), 'utf8')).version;

describe('driver versions', () => {
  it('package.json pins pg and mysql2 exactly, at the versions the adapters were checked against', () => {
    const deps = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')).dependencies;
    expect(deps.pg, 'package.json "pg" must be an exact version').toBe(PG_CHECKED_VERSIONS.pg);
    expect(deps.mysql2, 'package.json "mysql2" must be an exact version').toBe(MYSQL2_CHECKED_VERSION);
    for (const [pkg, v] of Object.entries(PG_CHECKED_VERSIONS)) {
      expect(installed(pkg), `installed ${pkg}: re-check pg-internals.ts, then update it`).toBe(v);
    }
    expect(installed('mysql2'), 'installed mysql2: re-check mysql2-internals.ts').toBe(
      MYSQL2_CHECKED_VERSION,
    );
  });
});

/** One backend message: type byte, Int32 length, body. */
function msg(type: string, body: Buffer = Buffer.alloc(0)): Buffer {
  const head = Buffer.alloc(5);
  head.write(type, 0, 'latin1');
  head.writeInt32BE(body.length + 4, 1);
  return Buffer.concat([head, body]);
}
const cstr = (s: string) => Buffer.from(`${s}\0`);
const i16 = (n: number) => Buffer.from([(n >> 8) & 0xff, n & 0xff]);
const i32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeInt32BE(n);
  return b;
};
const ready = msg('Z', Buffer.from('I'));
const SYNC = Buffer.from([0x53, 0, 0, 0, 4]);

/**
 * A PostgreSQL server that speaks just enough: trust auth with BackendKeyData 4242/77, then for every Sync
 * or Query the client sends, the next scripted answer.
 */
function fakePgServer(script: Buffer[][]): net.Server {
  return net.createServer((sock) => {
    let buf = Buffer.alloc(0);
    let started = false;
    sock.on('data', (chunk) => {
      buf = Buffer.concat([buf, chunk]);
      for (;;) {
        if (!started) {
          if (buf.length < 4 || buf.length < buf.readInt32BE(0)) return;
          buf = buf.subarray(buf.readInt32BE(0));
          started = true;
          sock.write(Buffer.concat([msg('R', i32(0)), msg('K', Buffer.concat([i32(4242), i32(77)])), ready]));
          continue;
        }
        if (buf.length < 5 || buf.length < 1 + buf.readInt32BE(1)) return;
        const type = String.fromCharCode(buf[0] as number);
        buf = buf.subarray(1 + buf.readInt32BE(1));
        if (type === 'S' || type === 'Q') sock.write(Buffer.concat(script.shift() ?? [ready]));
      }
    });
    sock.on('error', () => undefined);
  });
}

const rowDescription = msg(
  'T',
  Buffer.concat([i16(1), cstr('n'), i32(0), i16(0), i32(23), i16(4), i32(-1), i16(0)]),
);
const dataRow = msg('D', Buffer.concat([i16(2), i32(2), Buffer.from('42'), i32(-1)]));
const errorResponse = msg(
  'E',
  Buffer.concat([cstr('SERROR'), cstr('C42601'), cstr('Msyntax error'), Buffer.from([0])]),
);

/** A Submittable that records which hooks pg calls, with what. */
class Probe {
  calls: Array<[string, unknown]> = [];
  done: Promise<void>;
  private end!: () => void;
  constructor(private readonly onCopyIn?: (w: PgWire) => void) {
    this.done = new Promise((r) => {
      this.end = r;
    });
  }
  submit(connection: PgWire): null {
    this.calls.push(['submit', typeof connection.sync]);
    pgWriteRaw(connection, SYNC);
    return null;
  }
  handleRowDescription(m: { fields: Array<{ name: string; dataTypeID: number }> }) {
    this.calls.push(['handleRowDescription', m.fields.map((f) => [f.name, f.dataTypeID])]);
  }
  handleDataRow(m: { fields: Array<string | null> }) {
    this.calls.push(['handleDataRow', m.fields]);
  }
  handleCommandComplete(m: { text: string }) {
    this.calls.push(['handleCommandComplete', m.text]);
  }
  handlePortalSuspended() {
    this.calls.push(['handlePortalSuspended', null]);
  }
  handleEmptyQuery() {
    this.calls.push(['handleEmptyQuery', null]);
  }
  handleCopyInResponse(connection: PgWire) {
    this.calls.push(['handleCopyInResponse', typeof connection.sendCopyFail]);
    this.onCopyIn?.(connection);
  }
  handleCopyData(m: { chunk: Buffer }) {
    this.calls.push(['handleCopyData', m.chunk.toString()]);
  }
  handleError(err: { code?: string }, connection: PgWire) {
    this.calls.push(['handleError', err.code]);
    // pg drops the active query on an ErrorResponse: the ReadyForQuery after it is only an event.
    connection.once('readyForQuery', () => {
      this.calls.push(['readyForQuery event', null]);
      this.end();
    });
  }
  handleReadyForQuery() {
    this.calls.push(['handleReadyForQuery', null]);
    this.end();
  }
}

describe('pg internals (pg-internals.ts) on a fake server', () => {
  const server = fakePgServer([
    [rowDescription, dataRow, msg('C', cstr('SELECT 1')), ready],
    [errorResponse, ready],
    [msg('I'), msg('s'), msg('d', Buffer.from('copy')), ready],
    [msg('G', Buffer.concat([Buffer.from([0]), i16(0)]))],
    [errorResponse, ready],
  ]);
  let client: pg.Client;
  let port = 0;

  beforeAll(async () => {
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    port = (server.address() as net.AddressInfo).port;
    client = new pg.Client({ host: '127.0.0.1', port, user: 'x', database: 'x' });
    await client.connect();
  });
  afterAll(async () => {
    await client.end().catch(() => undefined);
    await new Promise((r) => server.close(r));
  });

  it('a connected client has every member the backend reads', () => {
    expect(pgClientProblem(client)).toBeNull();
    expect(() => assertPgClient(client)).not.toThrow();
    expect(pgQueryable(client)).toBe(true);
    expect(pgCancelKey(client)).toEqual({ host: '127.0.0.1', port, processID: 4242, secretKey: 77 });
  });

  it('pg calls each Submittable hook with the message fields the statement code reads', async () => {
    const a = new Probe();
    client.query(a as unknown as pg.Submittable);
    await a.done;
    expect(a.calls).toEqual([
      ['submit', 'function'],
      ['handleRowDescription', [['n', 23]]],
      ['handleDataRow', ['42', null]],
      ['handleCommandComplete', 'SELECT 1'],
      ['handleReadyForQuery', null],
    ]);

    const b = new Probe();
    client.query(b as unknown as pg.Submittable);
    await b.done;
    expect(b.calls).toEqual([
      ['submit', 'function'],
      ['handleError', '42601'],
      ['readyForQuery event', null],
    ]);

    const c = new Probe();
    client.query(c as unknown as pg.Submittable);
    await c.done;
    expect(c.calls.map(([name]) => name)).toEqual([
      'submit',
      'handleEmptyQuery',
      'handlePortalSuspended',
      'handleCopyData',
      'handleReadyForQuery',
    ]);

    const d = new Probe((w) => {
      w.sendCopyFail('not supported');
      w.sync();
    });
    client.query(d as unknown as pg.Submittable);
    await d.done;
    expect(d.calls.map(([name, arg]) => [name, arg])).toEqual([
      ['submit', 'function'],
      ['handleCopyInResponse', 'function'],
      ['handleError', '42601'],
      ['readyForQuery event', null],
    ]);
    const seen = new Set([...a.calls, ...b.calls, ...c.calls, ...d.calls].map(([name]) => name));
    for (const hook of PG_SUBMITTABLE_HOOKS) expect(seen.has(hook), `pg never called ${hook}`).toBe(true);
  });

  it('destroying the socket ends the client and clears _queryable', async () => {
    const ended = new Promise((r) => client.once('end', r));
    client.on('error', () => undefined);
    pgDestroySocket(pgWire(client));
    await ended;
    expect(pgQueryable(client)).toBe(false);
  });

  it('a missing member is named in the error', () => {
    const fake = Object.assign(Object.create(client), { _queryable: undefined });
    expect(pgClientProblem(fake)).toBe('Client._queryable (boolean)');
    expect(() => assertPgClient(fake)).toThrow(/pg's private member Client\._queryable .*pg 8\.23\.1/);
    const noFlush = Object.assign(Object.create(client), {
      _queryable: true,
      connection: Object.assign(Object.create(pgWire(client)), { flush: undefined }),
    });
    expect(pgClientProblem(noFlush)).toBe('Client.connection.flush() (function)');
  });
});

/** mysql2's own classes (not exported: reached through its package folder, as the driver loads them). */
const mysql2Require = createRequire(path.join(root, 'node_modules/mysql2/index.js'));
const Execute = mysql2Require('./lib/commands/execute.js');
const Query = mysql2Require('./lib/commands/query.js');
const Packet = mysql2Require('./lib/packets/packet.js');

describe('mysql2 internals (mysql2-internals.ts)', () => {
  it('Query and Execute have the state machine members the statement code hooks', () => {
    const exec = new Execute({ sql: 'SELECT 1', values: [] }) as RawCommand;
    const query = new Query({ sql: 'SELECT 1' }) as RawCommand;
    expect(mysql2CommandProblem(exec, true)).toBeNull();
    expect(mysql2CommandProblem(query, false)).toBeNull();
    // Both commands share one row state, which is what the EOF hook compares `next` with.
    expect(Execute.prototype.row).toBe(Query.prototype.row);
    // mysql2 builds the row parser through buildParserFromFields and hands it every row packet.
    expect(String(Execute.prototype.fieldsEOF)).toContain('this.buildParserFromFields(');
    expect(String(Query.prototype.row)).toContain('this._rowParser.next(packet');
    expect(String(Query.prototype.row)).toContain("this.emit('result', row");
  });

  it('the row decoder replaces the parser, and the EOF hook reports the status flags', () => {
    const exec = new Execute({ sql: 'SELECT 1', values: [] }) as RawCommand;
    const decoder = { next: () => 'taken' };
    decodeRowsWith(exec, decoder);
    const Parser = (exec.buildParserFromFields as (f: unknown, c: unknown) => new () => unknown)([], {});
    expect(new Parser()).toBe(decoder);

    const flags: number[] = [];
    watchEofStatus(exec, true, (f) => flags.push(f));
    // An EOF packet: 0xfe, warnings (2), status flags 0x0003 (IN_TRANS | AUTOCOMMIT).
    const body = Buffer.from([0, 0, 0, 0, 0xfe, 0, 0, 0x03, 0]);
    const eof = new Packet(0, body, 0, body.length);
    exec.next = Execute.prototype.row;
    (exec as unknown as { done(): null }).done = () => null;
    exec.execute(eof, {});
    expect(flags).toEqual([3]);
  });

  it('Packet has every method the row readers call', () => {
    const p = new Packet(0, Buffer.alloc(16), 0, 16);
    expect(mysql2PacketProblem(p)).toBeNull();
    for (const m of MYSQL2_PACKET_METHODS) expect(typeof Packet.prototype[m], `Packet.${m}`).toBe('function');
    expect(mysql2PacketProblem({ ...p, buffer: p.buffer, offset: 0 })).toBe('Packet.isEOF() (function)');
  });

  it('a connection and a pool have the private state the backend reads', async () => {
    const pool = mysql.createPool({ host: '127.0.0.1', port: 9, connectionLimit: 2 });
    expect(mysql2PoolProblem(pool)).toBeNull();
    expect(mysql2PoolCounts(pool)).toEqual({ all: 0, free: 0 });
    await new Promise((r) => pool.end(r));

    // A connection over a stream that never answers: the object exists without a server.
    const { PassThrough } = await import('node:stream');
    const conn = mysql.createConnection({ stream: new PassThrough() as unknown as net.Socket });
    conn.on('error', () => undefined);
    const PoolConnection = mysql.PoolConnection as unknown as { prototype: Record<string, unknown> };
    expect(
      mysql2ConnectionProblem(
        Object.assign(Object.create(conn), { release: PoolConnection.prototype.release }),
      ),
    ).toBeNull();
    for (const m of MYSQL2_CONNECTION_METHODS) {
      const where = m === 'release' ? PoolConnection.prototype : (conn as unknown as Record<string, unknown>);
      expect(typeof where[m], `Connection.${m}`).toBe('function');
    }
    expect(mysql2ConnectionProblem({})).toBe('Connection.execute() (function)');
    conn.destroy();
  });
});
