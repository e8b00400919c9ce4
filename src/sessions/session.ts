import type { BeginOptions } from '../backend/dialect.js';
import type { RowSink, StreamExecOptions, StreamSummary } from '../backend/row-stream.js';
import { leadingKeyword } from '../backend/sql-lexer.js';
import type { Connection, StorageBackend, TxStatus } from '../backend/storage-backend.js';
import { TransactionManager } from '../backend/transaction-manager.js';
import type { ExecOptions, QueryResult, Statement } from '../backend/types.js';
import { SqlgateError } from '../errors.js';
import { type BatchContext, type BatchInput, type BatchOutcome, runBatch } from '../query/batch.js';

/** Why a session ended; shown in the SESSION_EXPIRED message of later requests. */
export type CloseReason =
  | 'closed by the client'
  | 'committed and closed'
  | 'commit failed, rolled back and closed'
  | 'rolled back and closed'
  | 'idle timeout'
  | 'maximum lifetime reached'
  | 'connection lost'
  | 'server shutdown';

export type SessionState = 'open' | 'closing' | 'closed';

/** Most requests that may wait on one session; more is a client bug (or abuse) and gets OVERLOADED. */
export const MAX_QUEUED_PER_SESSION = 64;
/** Longest wait for a rollback/reset/release before the connection is destroyed instead. */
export const DISPOSE_TIMEOUT_MS = 10_000;

/** In a failed (PostgreSQL-aborted) transaction, only these can run; everything else is refused early. */
const ALLOWED_WHEN_FAILED = new Set(['ROLLBACK', 'ABORT', 'COMMIT', 'END']);

export interface SessionInit {
  id: string;
  principalId: string;
  backend: StorageBackend;
  conn: Connection;
  idleTimeoutMs: number;
  maxLifetimeMs: number;
  now: number;
  /** Called (inside the session's queue) when the connection died under a request. */
  onLost: (session: Session) => void;
}

/** What GET /v1/sessions/{id} reports. */
export interface SessionInfo {
  id: string;
  backend: string;
  /** `busy` while a request runs on the session, `ready` otherwise. */
  status: 'ready' | 'busy';
  /** The database's own view: `failed` is a PostgreSQL transaction aborted by an error. */
  transactionStatus: TxStatus;
  inTransaction: boolean;
  /** Savepoints made through the API that are still open, outermost first. */
  savepoints: string[];
  createdAt: string;
  lastActivityAt: string;
  /** When the session expires unless used: the earlier of idle timeout and maximum lifetime. */
  expiresAt: string;
  idleTimeoutMs: number;
  /** Requests queued behind the one running. */
  queued: number;
}

async function bounded<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * One interactive session: a pinned connection, its TransactionManager and a FIFO queue, so requests on
 * the session run one at a time in arrival order. The state it reports is read from the database
 * (`Connection.txStatus()`) after every call, so SQL `BEGIN`/`COMMIT` sent by the client is understood.
 * Operations other than `enqueue`, `info` and `dispose` must run inside `enqueue`.
 */
export class Session {
  readonly id: string;
  readonly principalId: string;
  readonly backend: StorageBackend;
  readonly conn: Connection;
  readonly tm: TransactionManager;
  readonly createdAt: number;
  readonly idleTimeoutMs: number;
  readonly maxLifetimeMs: number;
  lastActivityAt: number;
  state: SessionState = 'open';
  closeReason: CloseReason | undefined;
  /** Requests queued or running. */
  pending = 0;
  private running = false;
  private tail: Promise<void> = Promise.resolve();
  private disposed: Promise<{ rolledBack: boolean }> | undefined;
  private readonly onLost: (session: Session) => void;

  constructor(init: SessionInit) {
    this.id = init.id;
    this.principalId = init.principalId;
    this.backend = init.backend;
    this.conn = init.conn;
    this.tm = new TransactionManager(init.conn);
    this.createdAt = init.now;
    this.lastActivityAt = init.now;
    this.idleTimeoutMs = init.idleTimeoutMs;
    this.maxLifetimeMs = init.maxLifetimeMs;
    this.onLost = init.onLost;
  }

  /** The earlier of the idle deadline and the lifetime deadline (epoch ms). */
  get expiresAt(): number {
    return Math.min(this.lastActivityAt + this.idleTimeoutMs, this.createdAt + this.maxLifetimeMs);
  }

  get busy(): boolean {
    return this.pending > 0;
  }

  /** The error a request on an ended session gets. */
  goneError(): SqlgateError {
    return new SqlgateError(
      'SESSION_EXPIRED',
      `the session has ended (${this.closeReason ?? 'closed'}); anything uncommitted was rolled back`,
      { backend: this.backend.name },
    );
  }

  /**
   * Runs `fn` after every request queued before it (FIFO). The session must still be open when `fn`'s
   * turn comes, otherwise it fails with SESSION_EXPIRED. After `fn`, the session checks its connection.
   */
  enqueue<T>(fn: () => Promise<T>): Promise<T> {
    if (this.state !== 'open') return Promise.reject(this.goneError());
    if (this.pending >= MAX_QUEUED_PER_SESSION) {
      return Promise.reject(
        new SqlgateError(
          'OVERLOADED',
          `${MAX_QUEUED_PER_SESSION} requests are already waiting on this session; requests on one session run one at a time`,
          { retryAfter: 1 },
        ),
      );
    }
    this.pending++;
    const run = async (): Promise<T> => {
      try {
        if (this.state !== 'open') throw this.goneError();
        this.running = true;
        this.lastActivityAt = Date.now();
        try {
          const result = await fn();
          await this.afterCall(undefined);
          return result;
        } catch (err) {
          await this.afterCall(err);
          throw err;
        }
      } finally {
        this.running = false;
        this.pending--;
        this.lastActivityAt = Date.now();
      }
    };
    const p = this.tail.then(run, run);
    this.tail = p.then(
      () => undefined,
      () => undefined,
    );
    return p;
  }

  /** Resolves once every request queued so far has finished; false when that took longer than `ms`. */
  async drain(ms: number): Promise<boolean> {
    try {
      await bounded(this.tail, ms);
      return true;
    } catch {
      return false;
    }
  }

  private async afterCall(err: unknown): Promise<void> {
    if (this.state !== 'open') return;
    const lost =
      this.conn.isClosed === true ||
      (err instanceof SqlgateError && err.code === 'BACKEND_UNAVAILABLE' && this.conn.isClosed !== false);
    if (lost) {
      this.onLost(this);
      return;
    }
    try {
      await this.tm.sync();
    } catch {
      // Restoring per-transaction settings failed; the reset on release clears them anyway.
    }
  }

  info(): SessionInfo {
    const tx = this.conn.txStatus();
    return {
      id: this.id,
      backend: this.backend.name,
      status: this.running ? 'busy' : 'ready',
      transactionStatus: tx,
      inTransaction: tx !== 'idle',
      savepoints: [...this.tm.openSavepoints],
      createdAt: new Date(this.createdAt).toISOString(),
      lastActivityAt: new Date(this.lastActivityAt).toISOString(),
      expiresAt: new Date(this.expiresAt).toISOString(),
      idleTimeoutMs: this.idleTimeoutMs,
      queued: Math.max(0, this.pending - (this.running ? 1 : 0)),
    };
  }

  // ---- operations: call inside enqueue ----

  async execute(stmt: Statement, opts: ExecOptions): Promise<QueryResult> {
    this.refuseWhenFailed(stmt);
    return this.conn.execute(stmt, opts);
  }

  /** Streams one statement's rows into `sink` (src/query/stream.ts), on the session's connection. */
  async stream(stmt: Statement, opts: StreamExecOptions, sink: RowSink): Promise<StreamSummary> {
    this.refuseWhenFailed(stmt);
    if (!this.conn.stream) {
      throw new SqlgateError('UNSUPPORTED_FEATURE', 'this backend cannot stream results', {
        backend: this.backend.name,
      });
    }
    return this.conn.stream(stmt, opts, sink);
  }

  private refuseWhenFailed(stmt: Statement): void {
    if (this.conn.txStatus() === 'failed' && !ALLOWED_WHEN_FAILED.has(leadingKeyword(stmt.sql))) {
      throw new SqlgateError(
        'TRANSACTION_ABORTED',
        'the transaction has failed; roll back, or roll back to a savepoint, before running anything else',
        { backend: this.backend.name },
      );
    }
  }

  /** A batch inside the session: in an open transaction it is wrapped in a savepoint (see runBatch). */
  batch(input: BatchInput, ctx: BatchContext): Promise<BatchOutcome> {
    return runBatch(this.conn, input, ctx, this.tm);
  }

  /** Starts a transaction on an idle session (after a commit with `close: false`, or `begin: false`). */
  async begin(opts: BeginOptions): Promise<void> {
    if (this.tm.state !== 'idle') {
      throw new SqlgateError(
        'INVALID_TRANSACTION_STATE',
        'a transaction is already open; commit or roll back first, or use a savepoint',
      );
    }
    await this.tm.begin(opts);
  }

  async savepoint(name?: string): Promise<string> {
    if (!this.conn.dialect.capabilities.savepoints) {
      throw new SqlgateError('UNSUPPORTED_FEATURE', `${this.conn.dialect.name} has no savepoints`);
    }
    return this.tm.savepoint(name);
  }

  rollbackTo(name: string): Promise<void> {
    return this.tm.rollbackTo(name);
  }

  releaseSavepoint(name: string): Promise<void> {
    return this.tm.releaseSavepoint(name);
  }

  commit(): Promise<void> {
    return this.tm.commit();
  }

  /** Rolls back the open transaction; a no-op when none is open (so it is safe in cleanup paths). */
  async rollback(): Promise<{ rolledBack: boolean }> {
    if (this.tm.state === 'idle') return { rolledBack: false };
    await this.tm.rollback();
    return { rolledBack: true };
  }

  /**
   * Rolls back anything open, then resets and releases the connection (destroying it when that fails or
   * hangs). Idempotent; safe on a dead connection.
   */
  dispose(): Promise<{ rolledBack: boolean }> {
    this.disposed ??= (async () => {
      let rolledBack = false;
      try {
        if (this.conn.isClosed !== true && this.conn.txStatus() !== 'idle') {
          rolledBack = true;
          await bounded(this.tm.rollback(), DISPOSE_TIMEOUT_MS);
        }
      } catch {
        // release resets (or destroys) the connection, which rolls back on the server as well
      }
      try {
        await bounded(this.conn.release(), DISPOSE_TIMEOUT_MS);
      } catch {
        await this.conn.destroy().catch(() => undefined);
      }
      return { rolledBack };
    })();
    return this.disposed;
  }
}
