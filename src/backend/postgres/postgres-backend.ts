import { debuglog } from 'node:util';
import pg from 'pg';
import { SqlgateError } from '../../errors.js';
import type { BackendConfig } from '../backend-config.js';
import type {
  AcquireOptions,
  PoolStats,
  ReplicaStats,
  ServerInfo,
  StorageBackend,
} from '../storage-backend.js';
import type { ExecOptions, QueryResult, Statement } from '../types.js';
import { assertPgClient } from './pg-internals.js';
import { type ClientState, PgConnection, type PgContext } from './postgres-connection.js';
import { PostgresDialect } from './postgres-dialect.js';
import { mapPgError } from './postgres-errors.js';
import { probePostgres } from './postgres-probe.js';
import { PgReadOnlyConnection } from './postgres-read-only.js';
import {
  guardMainLogin,
  loginActsOutsideDatabase,
  type ReadOnlyGuardConnection,
} from './postgres-read-only-guard.js';
import { fallsBackToPrimary, mayReadFromReplica, ReplicaRouter } from './postgres-replicas.js';
import { STATEMENT_CACHE_SIZE, StatementCache, StatementUsage } from './postgres-statement-cache.js';
import { BUILTIN_TYPES, PG_TYPE_LOOKUP_SQL, type PgType, typeFromCatalog } from './postgres-types.js';

/** Pool events have no request to log against; `NODE_DEBUG=sqlgate` shows them. */
const debug = debuglog('sqlgate');

/**
 * Every value stays the server's text in pg: the gateway decodes results itself (postgres-statement.ts),
 * and the few internal queries want text. Set per pool, never through the global pg.types.
 */
const RAW_TEXT: pg.CustomTypesConfig = {
  getTypeParser: (() => (value: string) => value) as unknown as pg.CustomTypesConfig['getTypeParser'],
};

const OPS_OPTIONS: ExecOptions = {
  rowMode: 'array',
  int64: 'string',
  timeoutMs: 0,
  maxRows: 10,
  maxResponseBytes: 1 << 16,
};

/**
 * PostgreSQL through node-postgres: one pg.Pool per backend (plus one for read-only principals, made on
 * first use). Statements run on the extended protocol with the gateway's own result decoding; see
 * postgres-connection.ts for timeouts and cancellation and postgres-types.ts for the type mapping.
 */
export class PostgresBackend implements StorageBackend, PgContext {
  readonly driver = 'postgres';
  readonly dialect = new PostgresDialect();
  readonly name: string;
  private readonly pool: pg.Pool;
  private readOnlyPool: pg.Pool | undefined;
  /** Streaming read replicas (`replicas` in the config), when listed. */
  private readonly replicas: ReplicaRouter | undefined;
  private readonly states = new WeakMap<pg.PoolClient, ClientState>();
  /** Types found in pg_type (enums, extension types, rarer built-ins), by OID. */
  private readonly catalog = new Map<number, PgType>();
  readonly usage: StatementUsage;
  /** Pinned connections, destroyed by disconnect. */
  private readonly pinned = new Set<PgConnection>();
  private version: string | undefined;
  private closed = false;
  /** Acquires of the main pool that timed out but still sit in pg-pool's queue (not counted as waiting). */
  private abandonedWaiters = 0;
  /** Whether the main login can act outside the database (see `acquire`); asked once. */
  private privileged: boolean | undefined;

  constructor(readonly config: BackendConfig) {
    this.name = config.name;
    this.usage = new StatementUsage(1024, config.statementCacheSize ?? STATEMENT_CACHE_SIZE);
    if (!config.url) {
      throw new SqlgateError('BAD_REQUEST', `backend "${config.name}": a postgres backend needs "url"`);
    }
    this.pool = this.makePool(config.url, false);
    if (config.replicas?.length) {
      const maxLag = config.replicaMaxLagMs ?? 5000;
      this.replicas = new ReplicaRouter(config.replicas, maxLag, (u) => this.makePool(u, false), this.name);
    }
  }

  private makePool(url: string, readOnly: boolean): pg.Pool {
    const connectTimeoutMs = this.config.connectTimeoutMs;
    /** The pool's own wait has no timeout (acquire() times it); connecting does. */
    class GatewayClient extends pg.Client {
      constructor(options?: pg.ClientConfig) {
        super({ ...options, connectionTimeoutMillis: connectTimeoutMs });
      }
    }
    const pool = new pg.Pool({
      connectionString: url,
      Client: GatewayClient,
      max: this.config.pool.max,
      idleTimeoutMillis: this.config.pool.idleTimeoutMs,
      connectionTimeoutMillis: 0,
      application_name: 'sqlgate',
      keepAlive: true,
      types: RAW_TEXT,
      // Belt and braces on top of the least-privilege login.
      ...(readOnly ? { options: '-c default_transaction_read_only=on' } : {}),
    });
    pool.on('connect', (client) => {
      const state: ClientState = {
        lost: false,
        timeoutMs: undefined,
        statements: new StatementCache(this.usage.cacheSize),
      };
      this.states.set(client, state);
      // A checked-out client has no pool listener: without this, a dead socket would crash the process.
      client.on('error', (err) => {
        state.lost = true;
        debug('backend %s: connection error: %s', this.name, (err as Error).message);
      });
    });
    // An idle client died (server restart, pg_terminate_backend): the pool has already dropped it.
    pool.on('error', (err) => {
      debug('backend %s: idle connection lost: %s', this.name, err.message);
    });
    return pool;
  }

  state(client: pg.PoolClient): ClientState {
    let s = this.states.get(client);
    if (!s) {
      s = { lost: false, timeoutMs: undefined, statements: new StatementCache(this.usage.cacheSize) };
      this.states.set(client, s);
    }
    return s;
  }

  typeOf(oid: number): PgType | undefined {
    return BUILTIN_TYPES.get(oid) ?? this.catalog.get(oid);
  }

  async resolveTypes(client: pg.PoolClient, oids: number[]): Promise<void> {
    const missing = oids.filter((o) => !this.typeOf(o));
    if (missing.length === 0) return;
    try {
      const res = await client.query<string[]>({
        text: PG_TYPE_LOOKUP_SQL,
        values: [`{${missing.join(',')}}`],
        rowMode: 'array',
      });
      const rows = res.rows.map(([oid, typname, typtype, elem, elemTyptype, delim]) => ({
        oid: Number(oid),
        typname: String(typname),
        typtype: String(typtype),
        elem: Number(elem),
        elemTyptype: elemTyptype ?? null,
        delim: String(delim ?? ','),
      }));
      // Scalars first, so an array met in the same lookup finds its element type.
      rows.sort((a, b) => Number(a.elem !== 0) - Number(b.elem !== 0));
      for (const row of rows)
        this.catalog.set(
          row.oid,
          typeFromCatalog(row, (o) => this.typeOf(o)),
        );
    } catch (err) {
      // Columns of these types stay text, typed OTHER; the statement itself succeeded.
      debug('backend %s: type lookup failed: %s', this.name, (err as Error).message);
    }
  }

  /** The pool on `readOnlyUrl`, opened on first use; its sessions also default to read-only. */
  private get readOnlyPoolLazy(): pg.Pool {
    this.readOnlyPool ??= this.makePool(this.config.readOnlyUrl as string, true);
    return this.readOnlyPool;
  }

  /** A client from `pool` within the acquire timeout: OVERLOADED when the pool is full, else unavailable. */
  private async checkout(pool: pg.Pool): Promise<pg.PoolClient> {
    if (this.closed) {
      throw new SqlgateError('BACKEND_UNAVAILABLE', 'the backend is shutting down', { backend: this.name });
    }
    const timeoutMs = this.config.pool.acquireTimeoutMs;
    const pending = pool.connect();
    let timer: NodeJS.Timeout | undefined;
    const timedOut = Symbol('timeout');
    const timeout = new Promise<typeof timedOut>((resolve) => {
      timer = setTimeout(() => resolve(timedOut), timeoutMs);
    });
    try {
      const got = await Promise.race([pending, timeout]);
      if (got !== timedOut) return this.checked(got);
    } catch (err) {
      if (err instanceof SqlgateError) throw err;
      throw mapPgError(err, this.name, true);
    } finally {
      clearTimeout(timer);
    }
    // Give the client back whenever it does arrive; until then pg-pool still counts it as a waiter.
    const counted = pool === this.pool;
    if (counted) this.abandonedWaiters++;
    pending.then(
      (c) => {
        if (counted) this.abandonedWaiters--;
        c.release();
      },
      () => {
        if (counted) this.abandonedWaiters--;
      },
    );
    if (pool.totalCount >= this.config.pool.max) {
      throw new SqlgateError('OVERLOADED', `no PostgreSQL connection became free within ${timeoutMs} ms`, {
        backend: this.name,
        retryAfter: 1,
      });
    }
    throw new SqlgateError(
      'BACKEND_UNAVAILABLE',
      `connecting to PostgreSQL took longer than ${timeoutMs} ms`,
      { backend: this.name },
    );
  }

  /**
   * A new client whose pg internals (pg-internals.ts) are not as this backend drives them is destroyed
   * and refused loudly (INTERNAL, naming the member), so a driver upgrade cannot fall back silently.
   */
  private checked(client: pg.PoolClient): pg.PoolClient {
    try {
      assertPgClient(client);
      return client;
    } catch (err) {
      client.release(true);
      throw new SqlgateError('INTERNAL', (err as Error).message, { backend: this.name }, { cause: err });
    }
  }

  /**
   * A connection from the main pool, or for a read-only caller from the `readOnlyUrl` pool when one is
   * configured (then `readOnlyEnforced`; without it the caller guards the connection itself).
   */
  private async borrow(readOnly = false): Promise<PgConnection> {
    const enforced = readOnly && this.config.readOnlyUrl !== undefined;
    // A read-only principal without its own credential reads from a replica when one is usable (the
    // same login there, so the same privilege check and read-only guard apply).
    const replica = readOnly && !enforced ? this.replicas?.pick() : undefined;
    if (replica) {
      try {
        const client = await this.checkout(replica.pool);
        this.replicas?.note(replica.target, false);
        return new PgConnection(this, client, false);
      } catch {
        this.replicas?.markDown(replica.target);
        this.replicas?.note(replica.target, true);
      }
    }
    const client = await this.checkout(enforced ? this.readOnlyPoolLazy : this.pool);
    return new PgConnection(this, client, enforced);
  }

  async connect(): Promise<void> {
    const conn = await this.borrow();
    try {
      this.version = await this.fetchVersion(conn);
    } finally {
      await conn.releaseQuick();
    }
  }

  private async fetchVersion(conn: PgConnection): Promise<string> {
    const res = await conn.execute({ sql: 'SHOW server_version', params: [] }, OPS_OPTIONS);
    const text = String((res.rows[0] as string[] | undefined)?.[0] ?? '');
    return `PostgreSQL ${text.split(' ')[0]}`;
  }

  async disconnect(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([...this.pinned].map((c) => c.destroy()));
    this.pinned.clear();
    await Promise.allSettled([this.pool.end(), this.readOnlyPool?.end(), this.replicas?.close()]);
  }

  async ping(timeoutMs: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const work = (async () => {
      // Every pooled connection taken (sessions): ask the database on a connection of its own instead of
      // queueing behind them, which reported a healthy database as down.
      if (this.poolSaturated()) return probePostgres(this.config.url as string, timeoutMs);
      const conn = await this.borrow();
      try {
        await conn.execute({ sql: 'SELECT 1', params: [] }, { ...OPS_OPTIONS, timeoutMs });
      } finally {
        await conn.releaseQuick();
      }
    })();
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new SqlgateError('BACKEND_UNAVAILABLE', `PostgreSQL did not answer within ${timeoutMs} ms`, {
              backend: this.name,
            }),
          ),
        timeoutMs,
      );
    });
    work.catch(() => {});
    try {
      await Promise.race([work, late]);
    } catch (err) {
      if (err instanceof SqlgateError && err.code === 'BACKEND_UNAVAILABLE') throw err;
      throw new SqlgateError(
        'BACKEND_UNAVAILABLE',
        'PostgreSQL did not answer the ping',
        { backend: this.name },
        { cause: err },
      );
    } finally {
      clearTimeout(timer);
    }
  }

  async serverInfo(): Promise<ServerInfo> {
    if (!this.version) {
      const conn = await this.borrow();
      try {
        this.version = await this.fetchVersion(conn);
      } finally {
        await conn.releaseQuick();
      }
    }
    return { version: this.version };
  }

  /**
   * One autocommit statement on a pooled connection. A pooled connection found dead before the statement
   * was sent is discarded and the statement goes to another one; once sent, a lost connection is reported
   * (BACKEND_UNAVAILABLE, once: the dead client is dropped from the pool) and never retried.
   */
  async execute(stmt: Statement, opts: ExecOptions): Promise<QueryResult> {
    const replica = this.replicas && mayReadFromReplica(stmt.sql) ? this.replicas.pick() : undefined;
    if (replica) {
      try {
        const result = await this.executeOn(replica.pool, stmt, opts);
        this.replicas?.note(replica.target, false);
        return result;
      } catch (err) {
        // Refused as a write, a recovery conflict, or the replica is unreachable: the replica changed
        // nothing, so the primary runs the statement (postgres-replicas.ts).
        if (!fallsBackToPrimary(err) || opts.signal?.aborted) throw err;
        if (err instanceof SqlgateError && err.code === 'BACKEND_UNAVAILABLE') {
          this.replicas?.markDown(replica.target);
        }
        this.replicas?.note(replica.target, true);
      }
    }
    return this.executeOn(this.pool, stmt, opts);
  }

  /** `execute` on one pool (the primary's or a replica's). */
  private async executeOn(pool: pg.Pool, stmt: Statement, opts: ExecOptions): Promise<QueryResult> {
    for (let attempt = 0; ; attempt++) {
      const waitStarted = opts.timing ? performance.now() : 0;
      const conn = new PgConnection(this, await this.checkout(pool), false);
      if (opts.timing) opts.timing.queueMs += performance.now() - waitStarted;
      try {
        return await conn.execute(stmt, opts);
      } catch (err) {
        if (attempt === 0 && conn.retrySafe && !opts.signal?.aborted) continue;
        throw err;
      } finally {
        await conn.releaseQuick();
      }
    }
  }

  /**
   * A pinned connection. For a read-only caller: on the `readOnlyUrl` pool when configured; otherwise the
   * main login wrapped so that every statement runs inside a READ ONLY transaction — refused (FORBIDDEN)
   * when that login is a superuser or may run server programs / write server files, because
   * `COPY ... TO PROGRAM` and `lo_export` work inside a read-only transaction. Either way the connection is
   * a PgReadOnlyConnection, which refuses and detects the writes READ ONLY lets through.
   */
  async acquire(
    opts: AcquireOptions = {},
  ): Promise<PgConnection | PgReadOnlyConnection | ReadOnlyGuardConnection> {
    const conn = await this.borrow(opts.readOnly);
    conn.forgetStatements();
    this.pinned.add(conn);
    conn.onEnd = () => this.pinned.delete(conn);
    if (!opts.readOnly) return conn;
    // Large objects and notifications get past READ ONLY and SELECT-only grants alike (postgres-read-only.ts).
    const checked = new PgReadOnlyConnection(conn, this.name);
    if (conn.readOnlyEnforced) return checked;
    try {
      this.privileged ??= await loginActsOutsideDatabase(conn);
      return guardMainLogin(checked, this.name, this.privileged);
    } catch (err) {
      await conn.release();
      throw err;
    }
  }

  /** No idle connection and no room for a new one: an acquire would wait. */
  private poolSaturated(): boolean {
    return this.pool.idleCount === 0 && this.pool.totalCount >= this.config.pool.max;
  }

  replicaStats(): ReplicaStats[] {
    return this.replicas?.stats() ?? [];
  }

  poolStats(): PoolStats {
    const total = this.pool.totalCount;
    const idle = this.pool.idleCount;
    return {
      total,
      idle,
      inUse: total - idle,
      waiting: Math.max(0, this.pool.waitingCount - this.abandonedWaiters),
      max: this.config.pool.max,
    };
  }
}
