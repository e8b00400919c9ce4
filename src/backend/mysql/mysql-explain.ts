import type { ExplainDialect } from '../dialect.js';
import type { JsonValue } from '../types.js';

/**
 * MySQL / MariaDB plans: `EXPLAIN FORMAT=JSON` answers one row with the plan as JSON text
 * (`{"query_block": {...}}`), parsed here. ANALYZE uses MariaDB's `ANALYZE FORMAT=JSON` (the statement runs
 * and the plan carries `r_rows`, `r_total_time_ms`); MySQL servers call it `EXPLAIN ANALYZE` and answer a
 * syntax error to this form. A rollback cannot undo everything on MySQL (DDL and non-transactional engines
 * commit at once), so ANALYZE runs in a READ ONLY transaction that is rolled back: reads only.
 * @see https://mariadb.com/kb/en/explain-format-json/
 * @see https://mariadb.com/kb/en/analyze-format-json/
 */
export const mysqlExplain: ExplainDialect = {
  format: 'mysql',
  analyze: 'read-only',
  sql: (sql, analyze) => (analyze ? `ANALYZE FORMAT=JSON ${sql}` : `EXPLAIN FORMAT=JSON ${sql}`),
  plan: (rows) => {
    const cell = rows[0]?.[0] ?? null;
    return typeof cell === 'string' ? (JSON.parse(cell) as JsonValue) : cell;
  },
};
