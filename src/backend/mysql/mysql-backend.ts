import { SqlgateError } from '../../errors.js';
import type { BackendConfig } from '../backend-config.js';
import type { AcquireOptions, PoolStats, ServerInfo, StorageBackend } from '../storage-backend.js';
import type { ExecOptions, QueryResult, Statement } from '../types.js';
import { TimestampCatalog } from './mysql-catalog.js';
import type { MysqlConnection } from './mysql-connection.js';
import { MysqlDialect } from './mysql-dialect.js';
import { MysqlPool } from './mysql-pool.js';
import { probeMysql } from './mysql-probe.js';
import { wasNotSent } from './mysql-raw.js';

/**
 * A MySQL or MariaDB database behind one mysql2 pool. Statements run through the binary (prepared
 * statement) protocol: params are bound server-side with explicit types, results arrive exact (FLOAT as
 * its 4 bytes, not MySQL's 6-digit text). Read-only principals need `readOnlyUrl` (a SELECT-only user):
 * a READ ONLY transaction is not airtight on MySQL, where DDL commits it implicitly.
 */
export class MysqlBackend implements StorageBackend {
  readonly driver = 'mysql';
  readonly dialect = new MysqlDialect();
  readonly name: string;
  private readonly pool: MysqlPool;
  private readOnlyPool: MysqlPool | undefined;
  private readonly catalog = new TimestampCatalog();
  private version: string | null = null;

  constructor(readonly config: BackendConfig) {
    this.name = config.name;
    if (!config.url) {
      throw new SqlgateError('BAD_REQUEST', `backend "${config.name}" (mysql) needs a url`);
    }
    this.pool = this.makePool(config.url, false);
  }

  private makePool(url: string, readOnly: boolean): MysqlPool {
    const c = this.config;
    return new MysqlPool(
      this.dialect,
      {
        backend: this.name,
        url,
        max: c.pool.max,
        acquireTimeoutMs: c.pool.acquireTimeoutMs,
        idleTimeoutMs: c.pool.idleTimeoutMs,
        connectTimeoutMs: c.connectTimeoutMs,
        readOnly,
      },
      this.catalog,
    );
  }

  async connect(): Promise<void> {
    const conn = await this.pool.acquire();
    try {
      this.version ??= await conn.version();
    } finally {
      await conn.releaseQuick();
    }
  }

  async disconnect(): Promise<void> {
    await Promise.allSettled([this.pool.close(), this.readOnlyPool?.close()]);
  }

  async ping(timeoutMs: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new SqlgateError('BACKEND_UNAVAILABLE', `MySQL did not answer within ${timeoutMs} ms`, {
              backend: this.name,
            }),
          ),
        timeoutMs,
      );
    });
    const stats = this.pool.stats();
    if (stats.idle === 0 && stats.inUse >= stats.max) {
      // Every pooled connection leased (sessions): ask the server on a connection of its own instead of
      // queueing behind them, which reported a healthy database as down.
      try {
        await Promise.race([probeMysql(this.config.url as string, timeoutMs), late]);
        return;
      } catch (err) {
        throw this.pool.services.mapError(err);
      } finally {
        clearTimeout(timer);
      }
    }
    const acquiring = this.pool.acquire();
    try {
      const conn = await Promise.race([acquiring, late]);
      try {
        await conn.ping(timeoutMs);
      } finally {
        await conn.releaseQuick();
      }
    } catch (err) {
      // A connection that arrives after the deadline goes straight back.
      acquiring.then((c) => c.releaseQuick()).catch(() => undefined);
      throw err;
    } finally {
      clearTimeout(timer);
    }
  }

  async serverInfo(): Promise<ServerInfo> {
    if (!this.version) {
      const conn = await this.pool.acquire();
      try {
        this.version = await conn.version();
      } finally {
        await conn.releaseQuick();
      }
    }
    return { version: this.version };
  }

  /**
   * One statement in autocommit on a pooled connection. When the connection turns out to be dead before
   * anything was sent (killed or timed out while idle), the statement runs on another one instead.
   */
  async execute(stmt: Statement, opts: ExecOptions): Promise<QueryResult> {
    for (let attempt = 0; ; attempt++) {
      const waitStarted = opts.timing ? performance.now() : 0;
      const conn = await this.pool.acquire();
      if (opts.timing) opts.timing.queueMs += performance.now() - waitStarted;
      try {
        return await conn.execute(stmt, opts);
      } catch (err) {
        if (attempt === 0 && wasNotSent(err)) continue;
        throw err;
      } finally {
        await conn.releaseQuick();
      }
    }
  }

  /**
   * A pinned connection. A read-only one comes from a second pool on `readOnlyUrl`, whose user the
   * database itself limits to reads; without it there is no airtight read-only mode on MySQL.
   */
  async acquire(opts: AcquireOptions = {}): Promise<MysqlConnection> {
    if (!opts.readOnly) return this.pool.acquire();
    if (!this.config.readOnlyUrl) {
      throw new SqlgateError(
        'FORBIDDEN',
        `read-only access to MySQL backend "${this.name}" needs a read-only credential: configure readOnlyUrl ` +
          '(a user with SELECT grants only); a READ ONLY transaction is not enough on MySQL, where DDL commits it',
        { backend: this.name },
      );
    }
    this.readOnlyPool ??= this.makePool(this.config.readOnlyUrl, true);
    return this.readOnlyPool.acquire();
  }

  poolStats(): PoolStats {
    return this.pool.stats();
  }
}
