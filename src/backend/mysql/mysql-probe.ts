import mysql from 'mysql2';
import { connectionOptions } from './mysql-options.js';

/**
 * A readiness probe on a connection of its own, outside the pool: used by `ping` when every pooled
 * connection is leased (open sessions can hold them all), so /readyz tells "pool busy" from "database
 * down". Connects with the backend's own options (login, TLS), sends COM_PING and closes.
 */
export function probeMysql(url: string, timeoutMs: number): Promise<void> {
  const conn = mysql.createConnection(connectionOptions(url, timeoutMs));
  conn.on('error', () => undefined);
  return new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      conn.destroy();
      reject(Object.assign(new Error('ping timed out'), { code: 'ETIMEDOUT', fatal: true }));
    }, timeoutMs);
    conn.ping((err) => {
      clearTimeout(timer);
      conn.destroy();
      if (err) reject(err);
      else resolve();
    });
  });
}
