/**
 * The raw drivers, used three ways: as the in-process baseline, to set up benchmark tables, and to probe
 * whether a server is reachable. Each returns { query(sql, params) -> rows, exec(sql), close() } with the
 * driver's default options: the baseline is what an application using the driver directly would do.
 */
import { connect } from 'node:net';

export const PG_URL = process.env.SQLGATE_BENCH_PG_URL ?? 'postgres://sqlgate@127.0.0.1:5432/test';
export const MYSQL_URL = process.env.SQLGATE_BENCH_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/test';

/** Resolves true when something accepts TCP connections at the URL's host:port. */
export function reachable(url, timeoutMs = 1500) {
  const u = new URL(url);
  return new Promise((resolve) => {
    const socket = connect({ host: u.hostname, port: Number(u.port) });
    const done = (ok) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

export async function openRaw({ driver, url, file, pool = 1 }) {
  switch (driver) {
    case 'postgres': {
      const { default: pg } = await import('pg');
      const p = new pg.Pool({ connectionString: url, max: pool });
      return {
        query: async (sql, params = []) => (await p.query(sql, params)).rows,
        exec: async (sql) => {
          await p.query(sql);
        },
        close: () => p.end(),
      };
    }
    case 'mysql': {
      const mysql = await import('mysql2/promise');
      const p = mysql.createPool({ uri: url, connectionLimit: pool });
      return {
        query: async (sql, params = []) => (await p.query(sql, params))[0],
        exec: async (sql) => {
          await p.query(sql);
        },
        close: () => p.end(),
      };
    }
    case 'sqlite': {
      const { default: Database } = await import('better-sqlite3');
      const db = new Database(file);
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = NORMAL');
      db.pragma('busy_timeout = 5000');
      const cache = new Map();
      const prep = (sql) => {
        let s = cache.get(sql);
        if (!s) {
          s = db.prepare(sql);
          cache.set(sql, s);
        }
        return s;
      };
      return {
        // Synchronous underneath; wrapped in a promise like the others (an app would await it the same way).
        query: async (sql, params = []) => {
          const s = prep(sql);
          if (s.reader) return s.all(...params);
          s.run(...params);
          return [];
        },
        exec: async (sql) => {
          db.exec(sql);
        },
        close: async () => db.close(),
        db,
      };
    }
    default:
      throw new Error(`unknown driver ${driver}`);
  }
}
