import type { DatabaseConnection, Driver, TransactionSettings } from 'kysely';
import type { Client } from '../client.js';
import { SqlgateError } from '../errors.js';
import type { IsolationLevel } from '../queryable.js';
import { type KyselyQueryOptions, SqlgateConnection } from './sqlgate-connection.js';

const ISOLATION: Record<string, IsolationLevel> = {
  'read uncommitted': 'READ UNCOMMITTED',
  'read committed': 'READ COMMITTED',
  'repeatable read': 'REPEATABLE READ',
  serializable: 'SERIALIZABLE',
};

const conn = (c: DatabaseConnection) => c as SqlgateConnection;

function sessionOf(c: DatabaseConnection) {
  const s = conn(c).session;
  if (!s) {
    throw new SqlgateError('TRANSACTION_CLOSED', 'no transaction is open on this kysely connection', {
      class: 'TransactionError',
    });
  }
  return s;
}

/**
 * kysely Driver over the gateway. Connections are cheap handles; a transaction opens a gateway session
 * (BEGIN with the isolation level and access mode) and savepoints use the session's savepoint endpoints,
 * which quote the names kysely passes.
 */
export class SqlgateDriver implements Driver {
  constructor(
    private readonly client: Client,
    private readonly options: KyselyQueryOptions,
  ) {}

  /** Nothing to set up: no request is sent until the first query. */
  async init(): Promise<void> {}

  /** A connection handle; it holds no gateway session until beginTransaction. */
  async acquireConnection(): Promise<DatabaseConnection> {
    return new SqlgateConnection(this.client, this.options);
  }

  /** Opens a session with BEGIN; 'snapshot' (SQL Server's) is refused with UNSUPPORTED_FEATURE. */
  async beginTransaction(c: DatabaseConnection, settings: TransactionSettings): Promise<void> {
    let isolationLevel: IsolationLevel | undefined;
    if (settings.isolationLevel) {
      isolationLevel = ISOLATION[settings.isolationLevel];
      if (!isolationLevel) {
        throw new SqlgateError('UNSUPPORTED_FEATURE', `isolation level "${settings.isolationLevel}" is not supported`, {
          class: 'NotSupportedError',
        });
      }
    }
    const readOnly = settings.accessMode ? settings.accessMode === 'read only' : undefined;
    const o = { ...(isolationLevel ? { isolationLevel } : {}), ...(readOnly === undefined ? {} : { readOnly }) };
    const pinned = conn(c).pinned ? conn(c).session : undefined;
    if (pinned) await pinned.begin(o);
    else conn(c).session = await this.client.session({ begin: true, ...o });
  }

  /** Commits and closes the session (it is closed even when the commit fails). */
  async commitTransaction(c: DatabaseConnection): Promise<void> {
    const s = sessionOf(c);
    if (conn(c).pinned) return s.commit({ close: false });
    try {
      await s.commit();
    } finally {
      conn(c).session = undefined;
    }
  }

  /** Rolls back and closes the session; a no-op when a failed commit already ended it. */
  async rollbackTransaction(c: DatabaseConnection): Promise<void> {
    const s = conn(c).session;
    if (!s || s.isClosed) return;
    if (conn(c).pinned) return s.rollback({ close: false });
    try {
      await s.rollback();
    } finally {
      conn(c).session = undefined;
    }
  }

  /** SAVEPOINT name. */
  async savepoint(c: DatabaseConnection, name: string): Promise<void> {
    await sessionOf(c).createSavepoint(name);
  }

  /** ROLLBACK TO SAVEPOINT name. */
  async rollbackToSavepoint(c: DatabaseConnection, name: string): Promise<void> {
    await sessionOf(c).rollbackTo(name);
  }

  /** RELEASE SAVEPOINT name. */
  async releaseSavepoint(c: DatabaseConnection, name: string): Promise<void> {
    await sessionOf(c).releaseSavepoint(name);
  }

  /** Closes a pinned session, or one left open (kysely ended without commit/rollback), rolling it back. */
  async releaseConnection(c: DatabaseConnection): Promise<void> {
    const s = conn(c).session;
    conn(c).session = undefined;
    conn(c).pinned = false;
    if (s) await s.close();
  }

  /** Nothing to tear down: the client holds no connections. */
  async destroy(): Promise<void> {}
}
