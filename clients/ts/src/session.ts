import { SqlgateError } from './errors.js';
import type { Transport } from './http.js';
import { type Defaults, type IsolationLevel, Queryable } from './queryable.js';

/** Options of a session or transaction. */
export interface SessionOptions {
  /** Start a transaction at once (default true for transaction(), and for session()). */
  begin?: boolean;
  /** Isolation level of the transaction. */
  isolationLevel?: IsolationLevel;
  /** A read-only transaction. */
  readOnly?: boolean;
  /** PostgreSQL DEFERRABLE (with SERIALIZABLE, read-only). */
  deferrable?: boolean;
  /** Idle timeout of the session on the gateway, ms. */
  idleTimeoutMs?: number;
  /** Cancels opening the session. */
  signal?: AbortSignal;
}

/** What POST /v1/sessions answers. */
interface SessionInfo {
  id: string;
  backend: string;
  inTransaction: boolean;
  expiresAt: string;
}

/**
 * A pinned connection on the gateway (manual control). Requests run one at a time in call order; after
 * commit(), rollback() or close() every call fails with TRANSACTION_CLOSED before any request.
 */
export class Session extends Queryable {
  private closed = false;
  private n = 0;

  constructor(
    transport: Transport,
    defaults: Defaults,
    /** The gateway's session id. */
    readonly id: string,
    /** The backend the session runs on. */
    readonly backend: string,
  ) {
    super(transport, defaults);
  }

  /** Opens a session (POST /v1/sessions); a retryable refusal there (429/503) is retried. */
  static async open(t: Transport, d: Defaults, o: SessionOptions = {}): Promise<Session> {
    const { signal, ...rest } = o;
    const body: Record<string, unknown> = { begin: true, ...rest };
    if (d.backend) body.backend = d.backend;
    const info = await t.send<SessionInfo>({ method: 'POST', path: '/v1/sessions', body, signal, safe: true });
    return new Session(t, d, info.id, info.backend);
  }

  /** Whether commit/rollback/close already ended this session. */
  get isClosed(): boolean {
    return this.closed;
  }

  protected target(kind: 'execute' | 'batch') {
    this.check();
    return { path: `${this.path()}/${kind}`, safe: false, extra: {} };
  }

  private path() {
    return `/v1/sessions/${encodeURIComponent(this.id)}`;
  }

  private check() {
    if (this.closed) {
      throw new SqlgateError('TRANSACTION_CLOSED', 'this transaction/session has already ended', {
        class: 'TransactionError',
      });
    }
  }

  private post<T>(suffix: string, body?: unknown): Promise<T> {
    this.check();
    return this.transport.send<T>({ method: 'POST', path: this.path() + suffix, body: body ?? {}, safe: false });
  }

  /** Starts a transaction on a session opened with `begin: false`. */
  async begin(o: Omit<SessionOptions, 'begin' | 'idleTimeoutMs' | 'signal'> = {}): Promise<void> {
    await this.post('/begin', o);
  }

  /** Creates a savepoint; returns its name (generated when not given). */
  async createSavepoint(name?: string): Promise<string> {
    const r = await this.post<{ name: string }>('/savepoints', name === undefined ? {} : { name });
    return r.name;
  }

  /** Undoes everything after the savepoint (and keeps it). */
  async rollbackTo(name: string): Promise<void> {
    await this.post(`/savepoints/${encodeURIComponent(name)}/rollback`);
  }

  /** Forgets the savepoint, keeping the work after it. */
  async releaseSavepoint(name: string): Promise<void> {
    await this.post(`/savepoints/${encodeURIComponent(name)}/release`);
  }

  /**
   * Runs `fn` inside a savepoint: released when it returns, rolled back to (and released) when it throws;
   * the error is rethrown. Nests to any depth.
   */
  async savepoint<T>(fn: (tx: this) => Promise<T>): Promise<T> {
    const name = await this.createSavepoint(`sg_sp_${++this.n}`);
    let result: T;
    try {
      result = await fn(this);
    } catch (err) {
      if (!this.closed) {
        await this.rollbackTo(name);
        await this.releaseSavepoint(name);
      }
      throw err;
    }
    await this.releaseSavepoint(name);
    return result;
  }

  /** Commits; with `close` (default true) the session ends, whatever the outcome. */
  async commit(o: { close?: boolean } = {}): Promise<void> {
    const close = o.close ?? true;
    try {
      await this.post('/commit', { close });
    } finally {
      if (close) this.closed = true;
    }
  }

  /** Rolls back; with `close` (default true) the session ends. */
  async rollback(o: { close?: boolean } = {}): Promise<void> {
    const close = o.close ?? true;
    try {
      await this.post('/rollback', { close });
    } finally {
      if (close) this.closed = true;
    }
  }

  /** Closes the session (rolling back anything open); a second close is a no-op. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // A body, because the transport always sends Content-Type: application/json and the gateway refuses an
    // empty JSON body (BAD_REQUEST "the request body is empty").
    await this.transport.send({ method: 'DELETE', path: this.path(), body: {}, safe: false });
  }
}
