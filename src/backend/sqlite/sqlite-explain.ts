import type { ExplainDialect } from '../dialect.js';
import type { JsonValue } from '../types.js';

/**
 * SQLite plans: `EXPLAIN QUERY PLAN` answers one row per plan node (`id`, `parent`, `notused`, `detail`);
 * the plan is those rows as `{id, parent, detail}` objects (a tree by `parent`). SQLite has no ANALYZE
 * form that reports what a run did, so `explain: "analyze"` is not offered.
 * @see https://www.sqlite.org/eqp.html
 */
export const sqliteExplain: ExplainDialect = {
  format: 'sqlite',
  analyze: 'none',
  sql: (sql) => `EXPLAIN QUERY PLAN ${sql}`,
  plan: (rows) =>
    rows.map(
      (r): JsonValue => ({
        id: toNumber(r[0]),
        parent: toNumber(r[1]),
        detail: r[3] ?? null,
      }),
    ),
};

/** Node ids are small integers; BIGINT-encoded ones (strings) are turned back into numbers. */
function toNumber(v: JsonValue | undefined): JsonValue {
  return typeof v === 'string' && /^-?\d+$/.test(v) ? Number(v) : (v ?? null);
}
