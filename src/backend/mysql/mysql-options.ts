import type mysql from 'mysql2';
import { SqlgateError } from '../../errors.js';

/** Prepared statements each connection keeps (LRU); the server allows 16382 in total by default. */
const MAX_PREPARED_STATEMENTS = 256;

/**
 * Connection options from a mysql:// URL. Only `ssl` is taken from its query string (JSON or `true`), so a
 * URL cannot switch on driver options the gateway relies on being off (multipleStatements, typeCast ...).
 */
export function connectionOptions(url: string, connectTimeoutMs: number): mysql.ConnectionOptions {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new SqlgateError('BAD_REQUEST', 'the MySQL url is not a valid URL');
  }
  const ssl = u.searchParams.get('ssl');
  const options: mysql.ConnectionOptions = {
    host: decodeURIComponent(u.hostname.replace(/^\[|\]$/g, '')) || '127.0.0.1',
    port: u.port ? Number(u.port) : 3306,
    user: decodeURIComponent(u.username),
    password: decodeURIComponent(u.password),
    database: decodeURIComponent(u.pathname.slice(1)) || undefined,
    connectTimeout: connectTimeoutMs,
    charset: 'utf8mb4',
    timezone: 'Z',
    supportBigNumbers: true,
    bigNumberStrings: true,
    dateStrings: true,
    decimalNumbers: false,
    jsonStrings: true,
    multipleStatements: false,
    namedPlaceholders: false,
    // Found (matched) rows, not changed rows, as PostgreSQL and SQLite count them.
    flags: ['FOUND_ROWS'],
    maxPreparedStatements: MAX_PREPARED_STATEMENTS,
    enableKeepAlive: true,
  };
  if (ssl !== null) {
    if (ssl === 'true') options.ssl = {};
    else {
      try {
        options.ssl = JSON.parse(ssl) as mysql.SslOptions;
      } catch {
        throw new SqlgateError(
          'BAD_REQUEST',
          'the MySQL url has an ssl parameter that is neither true nor JSON',
        );
      }
    }
  }
  return options;
}
