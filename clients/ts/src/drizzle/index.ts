export {
  type MysqlProxyCallback,
  mysqlProxy,
  type PgProxyCallback,
  type ProxyResult,
  pgProxy,
  type SqliteBatchCallback,
  type SqliteMethod,
  type SqliteProxyCallback,
  type SqliteResult,
  sqliteBatch,
  sqliteProxy,
} from './proxies.js';
export type { Target } from './shape.js';
export { type WithTransactionOptions, withTransaction } from './transaction.js';
