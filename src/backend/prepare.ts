import { SqlgateError } from '../errors.js';
import type { Dialect } from './dialect.js';
import { compileStatement } from './sql-lexer.js';
import type { ParamValue, Statement } from './types.js';
import { decodeParams } from './value-mapper.js';

/**
 * The client's `{sql, params}` -> a backend Statement: params decoded losslessly, `:name` placeholders
 * compiled to the dialect's native ones, one statement only, param count checked, no NUL in the SQL.
 */
export function prepareStatement(
  dialect: Dialect,
  sql: string,
  params: unknown[] | Record<string, unknown> | undefined,
): Statement {
  if (sql.includes('\0')) {
    // PostgreSQL's protocol cannot carry it (the server drops the connection's message), SQLite stops
    // reading at it, MySQL takes it: refused everywhere, the same way.
    throw new SqlgateError('BAD_REQUEST', 'sql contains a NUL character (\\u0000), which no backend accepts');
  }
  const decoded = decodeParams(params);
  const compiled = compileStatement<ParamValue>(sql, decoded, dialect.lexer, (i) => dialect.placeholder(i));
  return { sql: compiled.sql, params: compiled.params };
}
