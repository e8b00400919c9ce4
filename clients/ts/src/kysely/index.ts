export { type KyselyQueryOptions, PIN_SESSION_SQL, SqlgateConnection } from './sqlgate-connection.js';
export {
  SQLGATE_KYSELY_DIALECTS,
  SqlgateDialect,
  type SqlgateDialectConfig,
  type SqlgateKyselyDialect,
} from './sqlgate-dialect.js';
export { SqlgateDriver } from './sqlgate-driver.js';
export { pinSession, SqlgateMysqlAdapter } from './pin-session.js';
