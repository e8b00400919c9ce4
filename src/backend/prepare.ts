import type { Dialect } from './dialect.js';
import { compileStatement } from './sql-lexer.js';
import type { ParamValue, Statement } from './types.js';
import { decodeParams } from './value-mapper.js';

/**
 * The client's `{sql, params}` -> a backend Statement: params decoded losslessly, `:name` placeholders
 * compiled to the dialect's native ones, one statement only, param count checked.
 */
export function prepareStatement(
  dialect: Dialect,
  sql: string,
  params: unknown[] | Record<string, unknown> | undefined,
): Statement {
  const decoded = decodeParams(params);
  const compiled = compileStatement<ParamValue>(sql, decoded, dialect.lexer, (i) => dialect.placeholder(i));
  return { sql: compiled.sql, params: compiled.params };
}
