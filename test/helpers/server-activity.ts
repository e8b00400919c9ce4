import mysql from 'mysql2/promise';
import pg from 'pg';
import { type Driver, MYSQL_URL, PG_URL } from './backends.js';

/**
 * Statements still running on the test server with `marker` in their text, seen from a connection of its
 * own (pg_stat_activity / PROCESSLIST, other connections only). SQLite has no server: 0, and the tests
 * check its pool's one worker being free instead.
 */
export async function runningStatements(driver: Driver, marker: string): Promise<number> {
  if (driver === 'postgres') {
    const c = new pg.Client({ connectionString: PG_URL });
    await c.connect();
    try {
      const r = await c.query(
        "SELECT count(*)::int AS n FROM pg_stat_activity WHERE state = 'active' AND pid <> pg_backend_pid() AND query LIKE $1",
        [`%${marker}%`],
      );
      return r.rows[0].n as number;
    } finally {
      await c.end();
    }
  }
  if (driver === 'mysql') {
    const c = await mysql.createConnection(MYSQL_URL);
    try {
      const [rows] = await c.query(
        'SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE ID <> CONNECTION_ID() AND INFO LIKE ?',
        [`%${marker}%`],
      );
      return Number((rows as Array<{ n: number }>)[0]?.n);
    } finally {
      await c.end();
    }
  }
  return 0;
}
