import { constants as fsConstants } from 'node:fs';
import { access } from 'node:fs/promises';
import { SqlgateError } from '../../errors.js';
import type { BackendConfig } from '../backend-config.js';
import type {
  AcquireOptions,
  Connection,
  PoolStats,
  ServerInfo,
  StorageBackend,
} from '../storage-backend.js';
import type { ExecOptions, QueryResult, Statement } from '../types.js';
import { WaitQueue } from '../wait-queue.js';
import { type ConnectionOwner, SqliteConnection } from './sqlite-connection.js';
import { deadlineExtensionPath } from './sqlite-deadline.js';
import { SqliteDialect } from './sqlite-dialect.js';
import { ScratchDatabases, type ScratchRequester } from './sqlite-scratch.js';

/**
 * A pool of worker-thread connections to one SQLite file. WAL lets readers run beside the one writer;
 * writers queue on SQLite's own lock for busy_timeout, then fail with LOCK_TIMEOUT. `:memory:` databases
 * are private to a connection, so their pool holds exactly one.
 */
class SqlitePool implements ConnectionOwner {
  private readonly idle: SqliteConnection[] = [];
  private readonly all = new Set<SqliteConnection>();
  private readonly waiters = new WaitQueue<SqliteConnection>();
  private opening = 0;
  private closing = false;

  constructor(
    private readonly backend: SqliteBackend,
    private readonly readonly: boolean,
    readonly max: number,
  ) {}

  private open(): Promise<SqliteConnection> {
    const c = this.backend.config;
    return SqliteConnection.open(this.backend.dialect, this.backend.name, this, {
      filename: c.database ?? ':memory:',
      readonly: this.readonly,
      busyTimeoutMs: c.busyTimeoutMs,
      deadlineExtension: deadlineExtensionPath(),
    });
  }

  async acquire(): Promise<SqliteConnection> {
    if (this.closing)
      throw new SqlgateError('BACKEND_UNAVAILABLE', 'the backend is shutting down', {
        backend: this.backend.name,
      });
    const ready = this.idle.pop();
    if (ready) return ready;
    if (this.all.size + this.opening < this.max) {
      this.opening++;
      try {
        const conn = await this.open();
        this.all.add(conn);
        return conn;
      } catch (err) {
        throw err instanceof SqlgateError
          ? err
          : new SqlgateError(
              'BACKEND_UNAVAILABLE',
              'could not open the SQLite database',
              { backend: this.backend.name },
              { cause: err },
            );
      } finally {
        this.opening--;
      }
    }
    const timeoutMs = this.backend.config.pool.acquireTimeoutMs;
    return this.waiters.wait(
      timeoutMs,
      () =>
        new SqlgateError('OVERLOADED', `no SQLite connection became free within ${timeoutMs} ms`, {
          backend: this.backend.name,
          retryAfter: 1,
        }),
    );
  }

  async giveBack(conn: SqliteConnection, fullReset: boolean): Promise<void> {
    if (fullReset) {
      try {
        await conn.reset();
      } catch {
        await conn.destroy();
        return;
      }
    }
    if (conn.isClosed) return;
    if (!this.waiters.handOff(conn)) this.idle.push(conn);
  }

  forget(conn: SqliteConnection): void {
    this.all.delete(conn);
    const i = this.idle.indexOf(conn);
    if (i >= 0) this.idle.splice(i, 1);
    // A waiter may now get a fresh connection in the freed slot.
    const waiter = this.closing ? undefined : this.waiters.take();
    if (waiter) this.acquire().then(waiter.resolve, waiter.reject);
  }

  stats(): PoolStats {
    return {
      total: this.all.size,
      idle: this.idle.length,
      inUse: this.all.size - this.idle.length,
      waiting: this.waiters.length,
      max: this.max,
    };
  }

  async close(): Promise<void> {
    this.closing = true;
    this.waiters.rejectAll(
      new SqlgateError('BACKEND_UNAVAILABLE', 'the backend is shutting down', { backend: this.backend.name }),
    );
    await Promise.all([...this.all].map((c) => c.destroy()));
    this.all.clear();
    this.idle.length = 0;
  }
}

export class SqliteBackend implements StorageBackend {
  readonly driver = 'sqlite';
  readonly dialect = new SqliteDialect();
  readonly name: string;
  private readonly pool: SqlitePool;
  private readOnlyPool: SqlitePool | undefined;
  private scratch: ScratchDatabases | undefined;

  constructor(readonly config: BackendConfig) {
    this.name = config.name;
    const memory = !config.database || config.database === ':memory:';
    this.pool = new SqlitePool(this, false, memory ? 1 : config.pool.max);
  }

  get inMemory(): boolean {
    return !this.config.database || this.config.database === ':memory:';
  }

  async connect(): Promise<void> {
    const conn = await this.pool.acquire();
    await conn.releaseQuick();
  }

  async disconnect(): Promise<void> {
    await this.pool.close();
    await this.readOnlyPool?.close();
    await this.scratch?.close();
  }

  /** A private, fresh `:memory:` database for one session (`backends.<name>.scratch`; sqlite-scratch.ts). */
  acquireScratch(who: ScratchRequester): Promise<Connection> {
    this.scratch ??= new ScratchDatabases(
      this.name,
      this.dialect,
      this.config.scratch,
      this.config.busyTimeoutMs,
    );
    return this.scratch.acquire(who);
  }

  async ping(timeoutMs: number): Promise<void> {
    const stats = this.poolStats();
    if (stats.idle === 0 && stats.inUse >= stats.max) {
      // Every connection held (sessions): the database is a file, so check it is still there and usable
      // rather than queueing behind them, which reported a healthy database as down.
      if (this.config.database && this.config.database !== ':memory:') {
        await access(this.config.database, fsConstants.R_OK).catch((err: unknown) => {
          throw new SqlgateError(
            'BACKEND_UNAVAILABLE',
            'the SQLite database file is not accessible',
            {
              backend: this.name,
            },
            { cause: err },
          );
        });
      }
      return;
    }
    const conn = await this.pool.acquire();
    try {
      await conn.execute(
        { sql: 'SELECT 1', params: [] },
        {
          rowMode: 'array',
          int64: 'string',
          timeoutMs,
          maxRows: 1,
          maxResponseBytes: 1024,
        },
      );
    } finally {
      await conn.releaseQuick();
    }
  }

  async serverInfo(): Promise<ServerInfo> {
    const conn = await this.pool.acquire();
    try {
      return { version: `SQLite ${await conn.version()}` };
    } finally {
      await conn.releaseQuick();
    }
  }

  async execute(stmt: Statement, opts: ExecOptions): Promise<QueryResult> {
    const waitStarted = opts.timing ? performance.now() : 0;
    const conn = await this.pool.acquire();
    if (opts.timing) opts.timing.queueMs += performance.now() - waitStarted;
    try {
      return await conn.execute(stmt, opts);
    } finally {
      await conn.releaseQuick();
    }
  }

  /**
   * A pinned connection. Read-only ones are opened with SQLITE_OPEN_READONLY, which no SQL (not even
   * `PRAGMA query_only = OFF`) can undo; an in-memory database cannot be shared that way and refuses.
   */
  async acquire(opts: AcquireOptions = {}): Promise<SqliteConnection> {
    if (!opts.readOnly) return this.pool.acquire();
    if (this.inMemory) {
      throw new SqlgateError(
        'UNSUPPORTED_FEATURE',
        'read-only connections need a file database, not :memory:',
        {
          backend: this.name,
        },
      );
    }
    this.readOnlyPool ??= new SqlitePool(this, true, this.config.pool.max);
    return this.readOnlyPool.acquire();
  }

  poolStats(): PoolStats {
    return this.pool.stats();
  }
}
