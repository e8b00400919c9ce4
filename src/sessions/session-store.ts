import { EventEmitter } from 'node:events';
import type { Principal } from '../auth/principal.js';
import type { BeginOptions } from '../backend/dialect.js';
import type { PoolStats, StorageBackend } from '../backend/storage-backend.js';
import type { Config } from '../config.js';
import { SqlgateError } from '../errors.js';
import { acquireFor } from '../query/read-only.js';
import { acquireScratch } from './scratch.js';
import { type CloseReason, Session } from './session.js';
import { newSessionId, sessionIdOwner } from './session-id.js';

/** The part of the backend registry the store needs (the real one is `app.backends`). */
export interface BackendLookup {
  get(name: string | undefined): StorageBackend;
  all(): StorageBackend[];
}

/** Minimal logger (pino-compatible) so the store runs without Fastify in unit tests. */
export interface StoreLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export interface SessionStoreOptions {
  config: Config['sessions'];
  backends: BackendLookup;
  log?: StoreLogger;
  /** How often the reaper looks for expired sessions and old tombstones; default 250 ms. */
  reaperIntervalMs?: number;
  /** How long a shutdown or expiry waits for a running request before destroying the connection. */
  drainTimeoutMs?: number;
}

export interface OpenRequest {
  backend?: string;
  /** Start a transaction right away (default true); false = a pinned connection the client drives with SQL. */
  begin?: boolean;
  isolationLevel?: BeginOptions['isolationLevel'];
  readOnly?: boolean;
  deferrable?: boolean;
  /** This session's idle timeout, 1 s up to `sessions.maxLifetimeMs`; default `sessions.idleTimeoutMs`. */
  idleTimeoutMs?: number;
  /** A fresh private database for this session instead of the backend's (SQLite; src/sessions/scratch.ts). */
  scratch?: boolean;
}

interface Tombstone {
  principalId: string;
  reason: CloseReason;
  at: number;
}

/** Bounds the tombstone map whatever the churn; the oldest are dropped first. */
const MAX_TOMBSTONES = 100_000;

/**
 * Point-in-time numbers for the metrics plugin.
 * Hook for /metrics (prom-client): read `store.metrics()` in a collect() callback for the gauges
 * (`openSessions`, `pools[*]`), and the monotonic `*Total` fields for counters. The store also emits
 * `'open'` (Session) and `'close'` ({ session, reason, rolledBack }) events for anything event-driven.
 */
export interface SessionMetrics {
  /** Sessions open now (gauge). */
  openSessions: number;
  /** Open sessions per backend name (gauge). */
  openByBackend: Record<string, number>;
  /** Sessions ever opened (counter). */
  openedTotal: number;
  /** Sessions ended by the idle timeout or the maximum lifetime (counter). */
  reapedTotal: number;
  /** Sessions ended for any reason (counter). */
  closedTotal: number;
  /** Session opens refused with TOO_MANY_SESSIONS (counter). */
  rejectedTotal: number;
  /** Pool in-use / idle / waiting per backend (gauges), from `StorageBackend.poolStats()`. */
  pools: Record<string, PoolStats>;
}

export interface SessionStoreEvents {
  open: [session: Session];
  close: [event: { session: Session; reason: CloseReason; rolledBack: boolean }];
}

/**
 * Every open session: ids, ownership, limits, the idle/lifetime reaper and tombstones. A session is
 * visible only to the principal that opened it; anyone else gets SESSION_NOT_FOUND, exactly as for an
 * id that never existed.
 */
export class SessionStore extends EventEmitter<SessionStoreEvents> {
  private readonly live = new Map<string, Session>();
  private readonly tombstones = new Map<string, Tombstone>();
  /** Open sessions plus opens in progress, per principal (so concurrent opens cannot overshoot). */
  private readonly perPrincipal = new Map<string, number>();
  private opening = 0;
  private timer: NodeJS.Timeout | undefined;
  private shuttingDown = false;
  private readonly closing = new Set<Promise<unknown>>();
  private readonly config: Config['sessions'];
  private readonly backends: BackendLookup;
  private readonly log: StoreLogger | undefined;
  private readonly reaperIntervalMs: number;
  private readonly drainTimeoutMs: number;
  private counters = { opened: 0, reaped: 0, closed: 0, rejected: 0 };

  constructor(opts: SessionStoreOptions) {
    super();
    this.config = opts.config;
    this.backends = opts.backends;
    this.log = opts.log;
    this.reaperIntervalMs = opts.reaperIntervalMs ?? 250;
    this.drainTimeoutMs = opts.drainTimeoutMs ?? 30_000;
  }

  /** Starts the reaper (an unref'd interval: it never keeps the process alive). */
  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => this.reap(Date.now()), this.reaperIntervalMs);
    this.timer.unref();
  }

  get size(): number {
    return this.live.size;
  }

  /** Opens a session for `principal`: checks limits, pins a connection, optionally begins a transaction. */
  async open(principal: Principal, req: OpenRequest = {}): Promise<Session> {
    if (this.shuttingDown) {
      throw new SqlgateError('BACKEND_UNAVAILABLE', 'the server is shutting down', { retryAfter: 1 });
    }
    const idleTimeoutMs = req.idleTimeoutMs ?? this.config.idleTimeoutMs;
    if (idleTimeoutMs < 1000 || idleTimeoutMs > this.config.maxLifetimeMs) {
      throw new SqlgateError(
        'BAD_REQUEST',
        `idleTimeoutMs must be between 1000 and ${this.config.maxLifetimeMs} (sessions.maxLifetimeMs)`,
      );
    }
    const backend = this.backends.get(req.backend);
    const begin = req.begin ?? true;
    if (!begin && (req.isolationLevel || req.readOnly !== undefined || req.deferrable !== undefined)) {
      throw new SqlgateError(
        'BAD_REQUEST',
        '"isolationLevel", "readOnly" and "deferrable" need "begin": true (or POST .../begin later)',
      );
    }
    this.reserve(principal);
    let session: Session;
    let conn: Awaited<ReturnType<StorageBackend['acquire']>> | undefined;
    try {
      // A read-only principal gets a connection that cannot write; with begin: false only a read-only
      // credential can guarantee that (acquireFor refuses otherwise).
      conn = req.scratch
        ? await acquireScratch(principal, backend)
        : await acquireFor(principal, backend, { clientDrivesTransactions: !begin });
      session = new Session({
        id: newSessionId(this.config.replica),
        principalId: principal.id,
        backend,
        conn,
        idleTimeoutMs,
        maxLifetimeMs: this.config.maxLifetimeMs,
        now: Date.now(),
        onLost: (s) => void this.end(s, 'connection lost', true),
      });
      if (begin) {
        const opts: BeginOptions = {};
        if (req.isolationLevel) opts.isolationLevel = req.isolationLevel;
        if (req.readOnly !== undefined) opts.readOnly = req.readOnly;
        if (req.deferrable !== undefined) opts.deferrable = req.deferrable;
        await session.tm.begin(opts);
      }
      if (this.shuttingDown) throw new SqlgateError('BACKEND_UNAVAILABLE', 'the server is shutting down');
    } catch (err) {
      this.opening--;
      this.unreserve(principal.id);
      await conn?.release().catch(() => undefined);
      throw err;
    }
    this.opening--;
    this.live.set(session.id, session);
    this.counters.opened++;
    this.emit('open', session);
    return session;
  }

  private reserve(principal: Principal): void {
    const mine = this.perPrincipal.get(principal.id) ?? 0;
    const perPrincipal = Math.min(
      this.config.maxPerPrincipal,
      principal.limits?.maxSessions ?? Number.POSITIVE_INFINITY,
    );
    if (this.live.size + this.opening >= this.config.maxOpen) {
      this.counters.rejected++;
      throw new SqlgateError(
        'TOO_MANY_SESSIONS',
        `${this.config.maxOpen} sessions are open on this server (sessions.maxOpen); close one or retry later`,
        { retryAfter: 1 },
      );
    }
    if (mine >= perPrincipal) {
      this.counters.rejected++;
      throw new SqlgateError(
        'TOO_MANY_SESSIONS',
        `you have ${mine} open sessions, the most allowed; close one or retry later`,
        { retryAfter: 1 },
      );
    }
    this.perPrincipal.set(principal.id, mine + 1);
    this.opening++;
  }

  private unreserve(principalId: string): void {
    const n = (this.perPrincipal.get(principalId) ?? 1) - 1;
    if (n <= 0) this.perPrincipal.delete(principalId);
    else this.perPrincipal.set(principalId, n);
  }

  /**
   * The principal's open session; SESSION_EXPIRED for one that ended within `sessions.tombstoneMs`,
   * SESSION_NOT_FOUND for anything else (including another principal's session).
   */
  get(id: string, principal: Principal): Session {
    const owner = sessionIdOwner(id, this.config.replica);
    if (owner.kind === 'invalid') throw notFound();
    if (owner.kind === 'foreign') {
      // Signed by another replica of this deployment: the balancer could not reach its owner (down or
      // removed by its health check), and a session cannot move, so say so with a retryable code.
      throw new SqlgateError(
        'BACKEND_UNAVAILABLE',
        `the session belongs to replica ${owner.owner}, which did not receive this request (is it down?)`,
      );
    }
    const session = this.live.get(id);
    if (session && session.principalId === principal.id) {
      if (session.state !== 'open') throw session.goneError();
      return session;
    }
    const tomb = this.tombstones.get(id);
    if (tomb && tomb.principalId === principal.id) {
      throw new SqlgateError(
        'SESSION_EXPIRED',
        `the session has ended (${tomb.reason}); anything uncommitted was rolled back`,
      );
    }
    throw notFound();
  }

  /** Runs `fn` on the principal's session in its FIFO queue. */
  run<T>(id: string, principal: Principal, fn: (session: Session) => Promise<T>): Promise<T> {
    let session: Session;
    try {
      session = this.get(id, principal);
    } catch (err) {
      return Promise.reject(err);
    }
    return session.enqueue(() => fn(session));
  }

  /**
   * Runs `fn` in the session's queue and then closes the session there, whatever `fn`'s outcome (commit
   * or rollback with `close: true`, DELETE). Requests queued after it get SESSION_EXPIRED, naming
   * `failedReason` when `fn` failed (a commit that failed did not commit).
   */
  runAndClose<T>(
    id: string,
    principal: Principal,
    reason: CloseReason,
    fn: (session: Session) => Promise<T>,
    failedReason: CloseReason = reason,
  ): Promise<{ result: T; rolledBack: boolean }> {
    return this.run(id, principal, async (session) => {
      let result: T;
      try {
        result = await fn(session);
      } catch (err) {
        this.retire(session, failedReason);
        await this.finish(session, failedReason);
        throw err;
      }
      // Retired before anything queued behind can start; the release happens within this turn.
      this.retire(session, reason);
      const { rolledBack } = await this.finish(session, reason);
      return { result, rolledBack };
    });
  }

  /** Ends a session from outside its queue (reaper, shutdown) or from inside it (`inQueue`). */
  end(session: Session, reason: CloseReason, inQueue = false): Promise<{ rolledBack: boolean }> {
    if (session.state !== 'open') return Promise.resolve({ rolledBack: false });
    this.retire(session, reason);
    const done = (async () => {
      if (!inQueue && !(await session.drain(this.drainTimeoutMs))) {
        // A request is still running past the drain timeout: kill the connection under it.
        this.log?.warn({ session: session.id, backend: session.backend.name }, 'session did not drain');
        await session.conn.destroy().catch(() => undefined);
      }
      return this.finish(session, reason);
    })();
    this.closing.add(done);
    void done.finally(() => this.closing.delete(done));
    return done;
  }

  /** Removes the session from the live map, leaves a tombstone and frees its limit slots. */
  private retire(session: Session, reason: CloseReason): void {
    if (session.state !== 'open') return;
    session.state = 'closing';
    session.closeReason = reason;
    this.live.delete(session.id);
    this.unreserve(session.principalId);
    this.tombstones.set(session.id, { principalId: session.principalId, reason, at: Date.now() });
    if (this.tombstones.size > MAX_TOMBSTONES) {
      const oldest = this.tombstones.keys().next().value as string;
      this.tombstones.delete(oldest);
    }
  }

  private async finish(session: Session, reason: CloseReason): Promise<{ rolledBack: boolean }> {
    const out = await session.dispose();
    if (session.state !== 'closed') {
      session.state = 'closed';
      this.counters.closed++;
      if (reason === 'idle timeout' || reason === 'maximum lifetime reached') this.counters.reaped++;
      this.log?.info(
        { session: session.id, backend: session.backend.name, reason, rolledBack: out.rolledBack },
        'session ended',
      );
      this.emit('close', { session, reason, rolledBack: out.rolledBack });
    }
    return out;
  }

  /** One reaper pass: expire idle and overage sessions, forget old tombstones. Public for tests. */
  reap(now: number): void {
    for (const session of this.live.values()) {
      if (session.state !== 'open') continue;
      if (now >= session.createdAt + session.maxLifetimeMs) {
        void this.end(session, 'maximum lifetime reached');
      } else if (!session.busy && now >= session.lastActivityAt + session.idleTimeoutMs) {
        void this.end(session, 'idle timeout');
      }
    }
    const cutoff = now - this.config.tombstoneMs;
    for (const [id, t] of this.tombstones) {
      // Insertion order is end order, so the first young one ends the scan.
      if (t.at > cutoff) break;
      this.tombstones.delete(id);
    }
  }

  /**
   * Shutdown: refuses new sessions, stops the reaper, and rolls back and releases every open session
   * (waiting for running requests up to the drain timeout). Runs from the app's onClose hook, before the
   * backends disconnect.
   */
  async closeAll(): Promise<void> {
    this.shuttingDown = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    const ends = [...this.live.values()].map((s) => this.end(s, 'server shutdown'));
    await Promise.allSettled([...ends, ...this.closing]);
  }

  metrics(): SessionMetrics {
    const openByBackend: Record<string, number> = {};
    for (const s of this.live.values()) {
      openByBackend[s.backend.name] = (openByBackend[s.backend.name] ?? 0) + 1;
    }
    const pools: Record<string, PoolStats> = {};
    for (const b of this.backends.all()) pools[b.name] = b.poolStats();
    return {
      openSessions: this.live.size,
      openByBackend,
      openedTotal: this.counters.opened,
      reapedTotal: this.counters.reaped,
      closedTotal: this.counters.closed,
      rejectedTotal: this.counters.rejected,
      pools,
    };
  }
}

function notFound(): SqlgateError {
  return new SqlgateError('SESSION_NOT_FOUND', 'no such session');
}
