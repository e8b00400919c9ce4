import type pg from 'pg';

/**
 * Every private member of `pg` the PostgreSQL backend touches, in one file. The backend writes the
 * extended protocol itself (one buffer per round trip, rows decoded from the wire text) as a pg
 * "Submittable" on the client's connection, which needs members @types/pg does not describe and pg does
 * not promise to keep. They are listed here, checked on every new connection (assertPgClient) and, with
 * a fake server and no database, by test/unit/driver-internals.test.ts; pg, pg-pool and pg-protocol are
 * pinned exactly in package.json so an upgrade is a deliberate step that runs that test.
 *
 * Users outside this folder's statement path: postgres-stream.ts (issue #14) uses PgWire.execute/flush
 * and the same Submittable hooks, typed from this file. postgres-stream-bytes.ts also relies on one more
 * detail: while a stream runs it takes over the socket's single 'data' listener (pg-protocol's parser)
 * and hands every non-row message back to it; with any other listener count it keeps pg's own path
 * (correct, only slower), so that one is a fast path, not a correctness dependency.
 */

/** The versions the members below were checked against (package.json pins them exactly). */
export const PG_CHECKED_VERSIONS = { pg: '8.23.1', 'pg-pool': '3.14.0', 'pg-protocol': '1.16.1' } as const;

/** pg's Connection (`client.connection`) as the backend drives it: hand-written, @types/pg lacks it. */
export interface PgWire {
  /** Writes a Sync message (pg's serializer). */
  sync(): void;
  /** Writes a simple-protocol Query message. */
  query(text: string): void;
  /** Answers a CopyInResponse with CopyFail. */
  sendCopyFail(message: string): void;
  /** The socket: the backend writes its own protocol buffers here, and destroys it to kill a statement. */
  stream: { writable?: boolean; write(data: Buffer): boolean; destroy?: () => void };
  /** Event emitter: 'readyForQuery' after an ErrorResponse, 'end' when the socket closes. */
  once(event: string, listener: (...args: unknown[]) => void): unknown;
  removeListener(event: string, listener: (...args: unknown[]) => void): unknown;
  /** Execute of a portal (user: postgres-stream.ts). */
  execute(config: { portal: string; rows: number }): void;
  /** Flush message (user: postgres-stream.ts). */
  flush(): void;
}

/** The private members of pg's Client the backend reads. */
interface PgClientPrivates {
  /** False once the client errored or is ending: nothing can be sent on it. */
  _queryable: boolean;
  /** From BackendKeyData: what a CancelRequest names. */
  processID: number;
  secretKey: number;
  connectionParameters: { host: string; port: number | string };
  connection: PgWire;
}

/**
 * The methods pg's Client calls on the active Submittable (client.js `_handle*`), with what they receive.
 * A Submittable that lacks one makes pg throw inside its message handler, so all are implemented by
 * PgStatement and PgStreamQuery; the unit test checks pg still calls each of them.
 */
export const PG_SUBMITTABLE_HOOKS = [
  'submit', // (connection): write the round trip
  'handleRowDescription', // ({ fields: [{ name, dataTypeID, ... }] })
  'handleDataRow', // ({ fields: Array<string | null> }): text cells, no type parsers
  'handleCommandComplete', // ({ text }): the command tag
  'handlePortalSuspended', // (connection)
  'handleEmptyQuery', // (connection)
  'handleCopyInResponse', // (connection)
  'handleCopyData', // (msg, connection)
  'handleError', // (error, connection); pg then drops the query: the ReadyForQuery after it is only
  // the connection's 'readyForQuery' event, never handleReadyForQuery (PgStatement listens for it)
  'handleReadyForQuery', // (connection)
] as const;

/** pg's Connection methods the backend calls (see PgWire). */
export const PG_WIRE_METHODS = [
  'sync',
  'query',
  'sendCopyFail',
  'execute',
  'flush',
  'once',
  'removeListener',
] as const;

function privates(client: pg.ClientBase): PgClientPrivates {
  return client as unknown as PgClientPrivates;
}

/**
 * What is missing on a connected client, as the name of the first member that is not what the backend
 * needs; null when all are there.
 */
export function pgClientProblem(client: pg.ClientBase): string | null {
  const c = privates(client) as unknown as Record<string, unknown>;
  if (typeof c._queryable !== 'boolean') return 'Client._queryable (boolean)';
  if (typeof c.processID !== 'number') return 'Client.processID (number, from BackendKeyData)';
  if (typeof c.secretKey !== 'number') return 'Client.secretKey (number, from BackendKeyData)';
  const params = c.connectionParameters as Record<string, unknown> | undefined;
  if (typeof params?.host !== 'string') return 'Client.connectionParameters.host (string)';
  if (params.port === undefined) return 'Client.connectionParameters.port';
  const wire = c.connection as Record<string, unknown> | undefined;
  if (typeof wire !== 'object' || wire === null) return 'Client.connection (object)';
  for (const m of PG_WIRE_METHODS) {
    if (typeof wire[m] !== 'function') return `Client.connection.${m}() (function)`;
  }
  const stream = wire.stream as Record<string, unknown> | undefined;
  if (typeof stream?.write !== 'function') return 'Client.connection.stream.write() (function)';
  if (typeof stream.destroy !== 'function') return 'Client.connection.stream.destroy() (function)';
  return null;
}

/** The error a changed driver gets: it names the member, the checked versions and where they are used. */
export function pgInternalsError(member: string): Error {
  const v = PG_CHECKED_VERSIONS;
  return new Error(
    `pg's private member ${member} is not as sqlgate expects (checked against pg ${v.pg}, pg-pool ` +
      `${v['pg-pool']}, pg-protocol ${v['pg-protocol']}); see src/backend/postgres/pg-internals.ts`,
  );
}

const checked = new WeakSet<pg.ClientBase>();

/** Throws (pgInternalsError) unless every member above is there; once per client. */
export function assertPgClient(client: pg.ClientBase): void {
  if (checked.has(client)) return;
  const problem = pgClientProblem(client);
  if (problem) throw pgInternalsError(problem);
  checked.add(client);
}

/** pg's connection of a client (what a Submittable's submit receives). */
export function pgWire(client: pg.ClientBase): PgWire {
  return privates(client).connection;
}

/** Whether the client can still take a query (pg clears `_queryable` on error and end). */
export function pgQueryable(client: pg.ClientBase): boolean {
  return privates(client)._queryable;
}

/** Where and for which server process a CancelRequest goes. */
export function pgCancelKey(client: pg.ClientBase): {
  host: string;
  port: number;
  processID: number;
  secretKey: number;
} {
  const c = privates(client);
  return {
    host: c.connectionParameters.host,
    port: Number(c.connectionParameters.port),
    processID: c.processID,
    secretKey: c.secretKey,
  };
}

/** Writes protocol bytes the backend built itself; false when the socket is gone (pg reports that). */
export function pgWriteRaw(wire: PgWire, bytes: Buffer): boolean {
  if (!wire.stream.writable) return false;
  wire.stream.write(bytes);
  return true;
}

/** Destroys the socket under a connection; pg then fails whatever runs on it and ends the client. */
export function pgDestroySocket(wire: PgWire): void {
  wire.stream.destroy?.();
}
