import type { Client } from '../client.js';
import type { Session, SessionOptions } from '../session.js';

/** Options of withTransaction: those of `client.transaction()`. */
export type WithTransactionOptions = Omit<SessionOptions, 'begin'>;

/**
 * Runs `fn` in one database transaction with a drizzle instance bound to it, on all three proxy drivers
 * (drizzle's own `db.transaction` is not supported by pg-proxy/mysql-proxy, and sqlite-proxy's would send
 * BEGIN over pooled autocommit requests). `bind` builds that instance from the transaction's session, e.g.
 * `(s) => drizzle(pgProxy(s), { schema })`. Commits when `fn` returns, rolls back when it throws (the error
 * is rethrown), closes the session always. `tx.savepoint(async () => …)` nests: queries of the bound
 * instance inside it are undone if it throws.
 */
export function withTransaction<Db, R>(
  client: Client,
  bind: (session: Session) => Db,
  fn: (db: Db, tx: Session) => Promise<R>,
  options?: WithTransactionOptions,
): Promise<R> {
  return client.transaction((tx) => fn(bind(tx), tx), options);
}
