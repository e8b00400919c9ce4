import type { ExplainDialect } from '../dialect.js';
import type { JsonValue } from '../types.js';

/**
 * SQLite plans: `EXPLAIN QUERY PLAN` answers one row per plan node (`id`, `parent`, `notused`, `detail`);
 * the plan is those rows as `{id, parent, detail}` objects (a tree by `parent`).
 *
 * SQLite has no ANALYZE form that reports what a run did. For `explain: "analyze"` the gateway runs the
 * statement itself after the plan (`analyzeByRunning`) and reports the run's row count and time. That run is
 * in a READ ONLY transaction (`PRAGMA query_only`) that is rolled back: a rollback would undo a write to the
 * database file, but not what a PRAGMA changes on the connection, so only reads are analyzed. Per-loop
 * counts (sqlite3_stmt_scanstatus) would need SQLite built with SQLITE_ENABLE_STMT_SCANSTATUS, which
 * better-sqlite3 is not, and better-sqlite3 exposes no sqlite3_stmt_status for the VM step counters.
 * @see https://www.sqlite.org/eqp.html
 * @see https://www.sqlite.org/c3ref/stmt_scanstatus.html
 */
export const sqliteExplain: ExplainDialect = {
  format: 'sqlite',
  analyze: 'read-only',
  analyzeByRunning: true,
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
