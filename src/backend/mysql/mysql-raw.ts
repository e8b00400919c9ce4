import { SqlgateError } from '../../errors.js';
import type { MysqlParam } from './mysql-values.js';
import { mysql2Gone, type RawConnection, watchEofStatus } from './mysql2-internals.js';

/**
 * The mysql2 connection as this backend sees it: small hand-written interfaces for the members it uses (so
 * tests can fake them), the state it keeps per physical connection, and the statements it runs for itself.
 */

/** SERVER_STATUS_IN_TRANS, SERVER_STATUS_AUTOCOMMIT, SERVER_SESSION_STATE_CHANGED. */
export const STATUS = { IN_TRANS: 0x1, AUTOCOMMIT: 0x2, SESSION_STATE_CHANGED: 0x4000 } as const;

/** How long a killed statement may take to end before its connection is closed instead. */
export const KILL_GRACE_MS = 5_000;

/** The mysql2 members this backend uses; every private one is listed in mysql2-internals.ts. */
export type { RawCommand, RawConnection, RawPacket } from './mysql2-internals.js';

/** What mysql2 reports for a statement without a result set (an OK packet). */
export interface OkHeader {
  affectedRows: number | string;
  insertId: number | string;
  serverStatus?: number;
}

/** Per physical connection, kept across leases. */
export class ConnState {
  /** Server status flags of the last OK/EOF packet; autocommit, no transaction until told otherwise. */
  status: number = STATUS.AUTOCOMMIT;
  /** Session state changed (SET, temp table, user variable, lock ...): a full reset is due on release. */
  dirty = false;
  dead = false;
  maxAllowedPacket = 16 * 1024 * 1024;
  /** Set while a statement runs: ends it when the connection is destroyed under it. */
  abortPending: ((err: SqlgateError) => void) | null = null;

  get inTransaction(): boolean {
    return (this.status & STATUS.IN_TRANS) !== 0;
  }

  /** Anything that would leak into the next user of the connection. */
  get needsReset(): boolean {
    return this.dirty || (this.status & (STATUS.IN_TRANS | STATUS.AUTOCOMMIT)) !== STATUS.AUTOCOMMIT;
  }
}

/** Whether mysql2 already knows the socket is gone (nothing can be sent). */
export function rawIsDead(raw: RawConnection, state: ConnState): boolean {
  return state.dead || mysql2Gone(raw);
}

/** Services a statement needs from its backend. */
export interface StatementServices {
  backend: string;
  /** `KILL QUERY <threadId>` on another connection. */
  killQuery(threadId: number): Promise<void>;
  /** DATETIME columns that carry the TIMESTAMP marker, per `schema.table`; null when the catalog was not asked. */
  timestampColumns(
    raw: RawConnection,
    state: ConnState,
    tables: Array<[string, string]>,
  ): Promise<Map<string, Set<string>>>;
  knownTimestampColumns(schema: string, table: string): Set<string> | undefined;
  /** Called after DDL: cached catalog facts may be stale. */
  schemaChanged(): void;
  /** Maps driver errors; connections with a read-only credential report privilege errors as read-only ones. */
  mapError(err: unknown): SqlgateError;
}

/** A marker on errors raised before anything reached the server, so the caller may retry elsewhere. */
export const NOT_SENT = Symbol('sqlgate.mysql.notSent');

export function notSent(backend: string): SqlgateError {
  const err = new SqlgateError('BACKEND_UNAVAILABLE', 'the MySQL connection was lost', { backend });
  (err as unknown as Record<symbol, boolean>)[NOT_SENT] = true;
  return err;
}

export function wasNotSent(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as Record<symbol, unknown>)[NOT_SENT] === true;
}

/**
 * A statement the gateway runs for itself (session setup, catalog look-ups): text or binary protocol,
 * rows as arrays of driver values, no limits. Updates the connection's status flags like any statement.
 */
export function internalQuery(
  raw: RawConnection,
  state: ConnState,
  sql: string,
  values: MysqlParam[] | null,
  services: StatementServices,
): Promise<unknown[][]> {
  return new Promise((resolve, reject) => {
    if (rawIsDead(raw, state)) {
      reject(notSent(services.backend));
      return;
    }
    const cmd = values
      ? raw.execute({ sql, values, rowsAsArray: true })
      : raw.query({ sql, rowsAsArray: true });
    const rows: unknown[][] = [];
    let error: unknown = null;
    const lost = (err?: unknown) => {
      state.dead = true;
      state.abortPending = null;
      reject(err ? services.mapError(err) : notSent(services.backend));
    };
    raw.once('error', lost);
    state.abortPending = (err) => {
      raw.removeListener('error', lost);
      reject(err);
    };
    cmd.on('result', (r: unknown) => {
      if (Array.isArray(r)) rows.push(r);
      else if ((r as OkHeader).serverStatus !== undefined)
        state.status = (r as OkHeader).serverStatus as number;
    });
    cmd.on('error', (err: unknown) => {
      error = err;
    });
    cmd.on('end', () => {
      raw.removeListener('error', lost);
      state.abortPending = null;
      if (error) reject(services.mapError(error));
      else resolve(rows);
    });
    // Last, with every listener in place: a changed driver rejects here (the pool then drops the connection).
    watchEofStatus(cmd, values !== null, (flags) => {
      state.status = flags;
    });
  });
}
