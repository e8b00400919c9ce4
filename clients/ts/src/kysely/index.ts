export { type KyselyQueryOptions, SqlgateConnection } from './sqlgate-connection.js';
export {
  SQLGATE_KYSELY_DIALECTS,
  SqlgateDialect,
  type SqlgateDialectConfig,
  type SqlgateKyselyDialect,
} from './sqlgate-dialect.js';
export { SqlgateDriver } from './sqlgate-driver.js';
