import mysql from 'mysql2';
import { KILL_GRACE_MS } from './mysql-raw.js';

/**
 * The control connection that stops statements: `KILL QUERY <thread id>` sent from a second connection of
 * the same user (who may kill their own threads without the PROCESS privilege). Opened on first use, kept,
 * and replaced when it fails or does not answer within the grace period. One per pool, outside `pool.max`.
 * @see https://mariadb.com/kb/en/kill/
 */
export class KillSwitch {
  private control: Promise<mysql.Connection> | null = null;

  constructor(private readonly options: mysql.ConnectionOptions) {}

  private connection(): Promise<mysql.Connection> {
    if (!this.control) {
      const conn = mysql.createConnection(this.options);
      const ready = new Promise<mysql.Connection>((resolve, reject) => {
        conn.connect((err) => (err ? reject(err) : resolve(conn)));
      });
      conn.on('error', () => {
        if (this.control === ready) this.control = null;
      });
      ready.catch(() => {
        if (this.control === ready) this.control = null;
      });
      this.control = ready;
    }
    return this.control;
  }

  /** Stops the statement running on `threadId`; a thread that is gone already counts as stopped. */
  async killQuery(threadId: number): Promise<void> {
    if (!Number.isSafeInteger(threadId)) return;
    for (let attempt = 0; attempt < 2; attempt++) {
      const current = this.connection();
      const conn = await current;
      try {
        await new Promise<void>((resolve, reject) => {
          // A control connection that does not answer is replaced rather than waited for.
          const timer = setTimeout(() => {
            if (this.control === current) this.control = null;
            conn.destroy();
            reject(new Error('KILL QUERY did not complete in time'));
          }, KILL_GRACE_MS);
          conn.query(`KILL QUERY ${threadId}`, (err) => {
            clearTimeout(timer);
            // ER_NO_SUCH_THREAD: the connection is gone already; nothing left to stop.
            if (err && err.errno !== 1094) reject(err);
            else resolve();
          });
        });
        return;
      } catch (err) {
        // A control connection that died since its last use: open a new one, once.
        if ((err as { fatal?: boolean }).fatal && attempt === 0) {
          if (this.control === current) this.control = null;
          continue;
        }
        throw err;
      }
    }
  }

  async close(): Promise<void> {
    const control = this.control;
    this.control = null;
    const conn = await control?.catch(() => null);
    if (conn) await new Promise<void>((resolve) => conn.end(() => resolve()));
  }
}
