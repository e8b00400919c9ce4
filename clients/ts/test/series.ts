import type { Db } from './gateway.js';

/** `n` rows (n BIGINT 1..n, t TEXT 'r' || n) produced row by row, with `marker` in the text to find it running. */
export function seriesSql(db: Db, n: number, marker = ''): string {
  const tag = marker ? `/* ${marker} */ ` : '';
  switch (db) {
    case 'postgres':
      return `${tag}SELECT g::int8 AS n, 'r' || g AS t FROM (SELECT generate_series(1, ${n}) AS g) s`;
    case 'mysql':
      return `${tag}SELECT seq AS n, CONCAT('r', seq) AS t FROM seq_1_to_${n}`;
    case 'sqlite':
      return `${tag}WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < ${n}) SELECT n, 'r' || n AS t FROM s`;
  }
}

/** A statement that fails with a database error after `good` rows (of 3 * good). */
export function failingSql(db: Db, good: number): string {
  switch (db) {
    case 'postgres':
      return `SELECT g AS n, 1 / (${good + 1} - g) AS x FROM (SELECT generate_series(1, ${good * 3}) AS g) s`;
    case 'mysql':
      return `SELECT seq AS n, IF(seq > ${good}, (SELECT 1 UNION SELECT 2), seq) AS x FROM seq_1_to_${good * 3}`;
    case 'sqlite':
      return `WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < ${good * 3}) SELECT n, CASE WHEN n > ${good} THEN json_extract('not json', '$') ELSE n END AS x FROM s`;
  }
}

/** Statements with `marker` in their text still running on the server (PostgreSQL, MariaDB); null for SQLite. */
export function runningSql(db: Db, marker: string): string | null {
  switch (db) {
    case 'postgres':
      return `SELECT count(*)::int AS n FROM pg_stat_activity WHERE state = 'active' AND pid <> pg_backend_pid() AND query LIKE '%${marker}%' AND query NOT LIKE '%pg_stat_activity%'`;
    case 'mysql':
      return `SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE ID <> CONNECTION_ID() AND COMMAND = 'Query' AND INFO LIKE '%${marker}%' AND INFO NOT LIKE '%PROCESSLIST%'`;
    case 'sqlite':
      return null;
  }
}
