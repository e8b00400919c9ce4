import { CompiledQuery, type Kysely, MysqlAdapter } from 'kysely';
import { PIN_SESSION_SQL } from './sqlgate-connection.js';

/**
 * Pins the connection `db` runs on to one gateway session until kysely releases it. Outside a transaction
 * SqlgateDialect holds no session, so inside `db.connection().execute(async (db) => …)` consecutive
 * statements may run on different pooled connections; call `await pinSession(db)` first when they must share
 * one (session variables, temporary tables, GET_LOCK). Costs one request; a no-op when already pinned or in
 * a transaction.
 */
// biome-ignore lint/suspicious/noExplicitAny: any database schema
export async function pinSession(db: Kysely<any>): Promise<void> {
  await db.executeQuery(CompiledQuery.raw(PIN_SESSION_SQL));
}

/**
 * kysely's MysqlAdapter, with the migration lock taken on a pinned session: kysely's lock is MySQL's
 * session-level GET_LOCK, which on unpinned pooled connections would be taken on one connection, "released"
 * on another, and stay held.
 */
export class SqlgateMysqlAdapter extends MysqlAdapter {
  /** Pins the migrator's connection, then takes kysely's GET_LOCK on it. */
  // biome-ignore lint/suspicious/noExplicitAny: kysely's own signature
  override async acquireMigrationLock(db: Kysely<any>, opt: Parameters<MysqlAdapter['acquireMigrationLock']>[1]) {
    await pinSession(db);
    await super.acquireMigrationLock(db, opt);
  }
}
