import type { ExplainDialect } from '../dialect.js';
import type { JsonValue } from '../types.js';

/**
 * PostgreSQL plans: `EXPLAIN (FORMAT JSON)` answers one row with one `json` cell, an array holding one
 * object per statement (`[{"Plan": {...}, "Planning Time": ...}]`); the plan is that array as it is.
 * ANALYZE really runs the statement, so it runs in a transaction that is rolled back (DDL is transactional
 * here; sequences advanced by nextval are not rolled back, as always in PostgreSQL).
 * @see https://www.postgresql.org/docs/15/sql-explain.html
 */
export const postgresExplain: ExplainDialect = {
  format: 'postgres',
  analyze: 'rollback',
  sql: (sql, analyze) =>
    analyze ? `EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) ${sql}` : `EXPLAIN (FORMAT JSON) ${sql}`,
  plan: (rows) => {
    const cell = rows[0]?.[0] ?? null;
    return typeof cell === 'string' ? (JSON.parse(cell) as JsonValue) : cell;
  },
};
