import mysql from 'mysql2';
import { SqlgateError } from '../../errors.js';
import type { Dialect } from '../dialect.js';
import type { PoolStats } from '../storage-backend.js';
import { WaitQueue } from '../wait-queue.js';
import { TimestampCatalog } from './mysql-catalog.js';
import { type ConnectionOwner, MysqlConnection } from './mysql-connection.js';
import { mapMysqlError } from './mysql-errors.js';
import { KillSwitch } from './mysql-kill.js';
import { connectionOptions } from './mysql-options.js';
import {
  ConnState,
  internalQuery,
  type RawConnection,
  rawIsDead,
  type StatementServices,
} from './mysql-raw.js';
import {
  assertMysqlConnection,
  assertMysqlPackets,
  assertMysqlPool,
  mysql2PoolCounts,
} from './mysql2-internals.js';

/** Options shared by every connection; the URL gives host, port, user, password and database. */
export interface MysqlPoolOptions {
  backend: string;
  url: string;
  max: number;
  acquireTimeoutMs: number;
  idleTimeoutMs: number;
  connectTimeoutMs: number;
  /** A pool on a read-only credential: privilege errors are read-only violations. */
  readOnly: boolean;
}

/** Session settings of every connection, set again after each reset. */
const SESSION_SQL = "SET NAMES utf8mb4, time_zone = '+00:00', session_track_state_change = ON";
const SESSION_SQL_NO_TRACKING = "SET NAMES utf8mb4, time_zone = '+00:00'";

/**
 * One mysql2 pool with what it lacks: a bounded wait for a connection (OVERLOADED after acquireTimeoutMs),
 * session setup and reset of each connection, dead-connection checks, and a second ("control") connection
 * that stops statements with KILL QUERY.
 */
export class MysqlPool implements ConnectionOwner {
  private readonly pool: mysql.Pool;
  private readonly options: mysql.ConnectionOptions;
  private readonly states = new WeakMap<RawConnection, ConnState>();
  private readonly leased = new Set<RawConnection>();
  private readonly waiters = new WaitQueue<void>();
  private available: number;
  private closing = false;
  /** False when the server lacks session_track_state_change: every release then resets. */
  private stateTracking = true;
  private readonly kill: KillSwitch;
  readonly services: StatementServices;

  constructor(
    private readonly dialect: Dialect,
    private readonly o: MysqlPoolOptions,
    private readonly catalog: TimestampCatalog,
  ) {
    this.options = connectionOptions(o.url, o.connectTimeoutMs);
    this.kill = new KillSwitch(this.options);
    this.available = o.max;
    this.pool = mysql.createPool({
      ...this.options,
      connectionLimit: o.max,
      // mysql2 closes idle connections (after idleTimeout) only while maxIdle < connectionLimit.
      maxIdle: o.max > 1 ? o.max - 1 : o.max,
      idleTimeout: o.idleTimeoutMs,
      waitForConnections: true,
      queueLimit: 0,
    });
    assertMysqlPool(this.pool);
    // A connection that dies while idle in the pool emits 'error'; mysql2 drops it, nothing else to do.
    this.pool.on('connection', (c) => c.on('error', () => undefined));
    const backend = o.backend;
    this.services = {
      backend,
      killQuery: (threadId) => this.kill.killQuery(threadId),
      timestampColumns: (raw, state, tables) => this.timestampColumns(raw, state, tables),
      knownTimestampColumns: (schema, table) => this.catalog.get(schema, table),
      schemaChanged: () => this.catalog.clear(),
      mapError: (err) => {
        const mapped = mapMysqlError(err, backend);
        if (o.readOnly && mapped.code === 'FORBIDDEN') {
          return new SqlgateError(
            'READ_ONLY_VIOLATION',
            `the read-only credential may not do this: ${mapped.message}`,
            mapped.details,
            { cause: mapped.cause },
          );
        }
        return mapped;
      },
    };
  }

  get max(): number {
    return this.o.max;
  }

  private takePermit(): Promise<void> {
    if (this.available > 0) {
      this.available--;
      return Promise.resolve();
    }
    const timeoutMs = this.o.acquireTimeoutMs;
    return this.waiters.wait(
      timeoutMs,
      () =>
        new SqlgateError('OVERLOADED', `no MySQL connection became free within ${timeoutMs} ms`, {
          backend: this.o.backend,
          retryAfter: 1,
        }),
    );
  }

  private givePermit(): void {
    if (!this.waiters.handOff()) this.available++;
  }

  private getRaw(): Promise<RawConnection> {
    return new Promise((resolve, reject) => {
      this.pool.getConnection((err, conn) => {
        if (err) reject(this.unavailable(err));
        else resolve(conn as unknown as RawConnection);
      });
    });
  }

  private unavailable(err: unknown): SqlgateError {
    const mapped = mapMysqlError(err, this.o.backend);
    if (mapped.code === 'BACKEND_UNAVAILABLE') return mapped;
    return new SqlgateError(
      'BACKEND_UNAVAILABLE',
      `could not connect to MySQL: ${mapped.message}`,
      mapped.details,
      { cause: err },
    );
  }

  /** First use of a new connection: session settings, and the limits the backend plans chunks with. */
  private async init(raw: RawConnection): Promise<ConnState> {
    const state = new ConnState();
    const dead = () => {
      state.dead = true;
    };
    raw.on('error', dead);
    raw.on('end', dead);
    this.states.set(raw, state);
    assertMysqlConnection(raw);
    await this.setSession(raw, state);
    // Binary protocol (values []), so the first connection also checks mysql2's Execute command class.
    const rows = await internalQuery(raw, state, 'SELECT @@max_allowed_packet', [], this.services);
    assertMysqlPackets();
    state.maxAllowedPacket = Number(rows[0]?.[0] ?? state.maxAllowedPacket);
    return state;
  }

  private async setSession(raw: RawConnection, state: ConnState): Promise<void> {
    try {
      await internalQuery(
        raw,
        state,
        this.stateTracking ? SESSION_SQL : SESSION_SQL_NO_TRACKING,
        null,
        this.services,
      );
    } catch (err) {
      // ER_UNKNOWN_SYSTEM_VARIABLE: a server without the session state tracker.
      if (!(err instanceof SqlgateError) || err.details.dbCode !== 1193) throw err;
      this.stateTracking = false;
      await internalQuery(raw, state, SESSION_SQL_NO_TRACKING, null, this.services);
    }
    state.dirty = false;
  }

  /** A leased connection; waits up to acquireTimeoutMs for a free slot, then OVERLOADED. */
  async acquire(): Promise<MysqlConnection> {
    if (this.closing) {
      throw new SqlgateError('BACKEND_UNAVAILABLE', 'the backend is shutting down', {
        backend: this.o.backend,
      });
    }
    await this.takePermit();
    try {
      // A connection that died while idle (server restart, KILL) is dropped before anything is sent on it.
      for (let attempt = 0; attempt <= this.o.max; attempt++) {
        const raw = await this.getRaw();
        let state = this.states.get(raw);
        if (!state) {
          try {
            state = await this.init(raw);
          } catch (err) {
            raw.destroy();
            throw err instanceof SqlgateError && err.code === 'INTERNAL' ? err : this.unavailable(err);
          }
        }
        if (rawIsDead(raw, state)) {
          raw.destroy();
          continue;
        }
        this.leased.add(raw);
        return new MysqlConnection(this.dialect, raw, state, this, this.services, this.o.readOnly);
      }
      throw new SqlgateError('BACKEND_UNAVAILABLE', 'no live MySQL connection could be opened', {
        backend: this.o.backend,
      });
    } catch (err) {
      this.givePermit();
      throw err;
    }
  }

  async giveBack(raw: RawConnection, state: ConnState, fullReset: boolean): Promise<void> {
    if (!this.leased.has(raw)) return;
    if (!rawIsDead(raw, state) && (fullReset || state.needsReset || !this.stateTracking)) {
      try {
        await this.resetSession(raw, state);
      } catch {
        state.dead = true;
      }
    }
    // Destroyed while the reset ran: its slot is already free.
    if (!this.leased.delete(raw)) return;
    if (rawIsDead(raw, state) || this.closing) raw.destroy();
    else raw.release();
    this.givePermit();
  }

  discard(raw: RawConnection, state: ConnState): void {
    state.dead = true;
    const pending = state.abortPending;
    state.abortPending = null;
    pending?.(
      new SqlgateError('BACKEND_UNAVAILABLE', 'the MySQL connection was closed', { backend: this.o.backend }),
    );
    raw.destroy();
    if (this.leased.delete(raw)) this.givePermit();
  }

  async resetSession(raw: RawConnection, state: ConnState): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      state.abortPending = reject;
      raw.reset((err) => {
        state.abortPending = null;
        if (err) reject(this.services.mapError(err));
        else resolve();
      });
    });
    state.status = 0x2;
    await this.setSession(raw, state);
  }

  private async timestampColumns(
    raw: RawConnection,
    state: ConnState,
    tables: Array<[string, string]>,
  ): Promise<Map<string, Set<string>>> {
    const found = new Map<string, Set<string>>();
    for (const [schema, table] of tables) found.set(TimestampCatalog.key(schema, table), new Set());
    const [sql, params] = TimestampCatalog.query(tables);
    let rows: unknown[][] = [];
    try {
      rows = await internalQuery(raw, state, sql, params, this.services);
    } catch (err) {
      // Without catalog access the columns stay DATETIME; a lost connection is still an error.
      if (rawIsDead(raw, state)) throw err;
    }
    for (const [schema, table, column] of rows as string[][]) {
      found.get(TimestampCatalog.key(String(schema), String(table)))?.add(String(column));
    }
    for (const [schema, table] of tables) {
      this.catalog.set(schema, table, found.get(TimestampCatalog.key(schema, table)) as Set<string>);
    }
    return found;
  }

  stats(): PoolStats {
    const counts = mysql2PoolCounts(this.pool);
    const inUse = this.leased.size;
    return {
      total: counts.all,
      idle: counts.free,
      inUse,
      waiting: this.waiters.length,
      max: this.o.max,
    };
  }

  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    this.waiters.rejectAll(
      new SqlgateError('BACKEND_UNAVAILABLE', 'the backend is shutting down', { backend: this.o.backend }),
    );
    for (const raw of [...this.leased]) {
      const state = this.states.get(raw);
      if (state) this.discard(raw, state);
      else raw.destroy();
    }
    await Promise.allSettled([
      new Promise<void>((resolve) => this.pool.end(() => resolve())),
      this.kill.close(),
    ]);
  }
}
