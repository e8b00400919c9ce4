import { Worker } from 'node:worker_threads';
import { ERROR_CODES, type ErrorCode, SqlgateError } from '../../errors.js';
import type { Dialect } from '../dialect.js';
import type { RowSink, StreamExecOptions, StreamSummary } from '../row-stream.js';
import { fromWire, type WireResult } from '../rows-json.js';
import type { Connection, TxStatus } from '../storage-backend.js';
import type { ExecOptions, ParamValue, QueryResult, Statement } from '../types.js';
import { DEADLINE_GRACE_MS } from './sqlite-deadline.js';
import { mapSqliteError } from './sqlite-errors.js';
import { WorkerStream } from './sqlite-stream.js';
import type { StreamMessage } from './sqlite-stream-worker.js';
import { toWireParam, type WireParam } from './sqlite-types.js';
import type {
  WireParamSets,
  WireRuns,
  WorkerExecOptions,
  WorkerInit,
  WorkerRequest,
  WorkerResponse,
} from './sqlite-worker.js';

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/**
 * The build runs the compiled .js worker directly. Under vitest/tsx the sources are .ts: the worker then
 * starts from a small bootstrap that registers tsx's loader before importing the .ts entry (a worker's
 * `--import` flag does not apply to its own entry module).
 */
function spawnWorker(init: WorkerInit): Worker {
  if (!import.meta.url.endsWith('.ts')) {
    return new Worker(new URL('./sqlite-worker.js', import.meta.url), { workerData: init });
  }
  const tsxApi = import.meta.resolve('tsx/esm/api');
  const entry = new URL('./sqlite-worker.ts', import.meta.url).href;
  const bootstrap = `import(${JSON.stringify(tsxApi)}).then((m) => { m.register(); return import(${JSON.stringify(entry)}); });`;
  return new Worker(bootstrap, { eval: true, workerData: init });
}

interface Pending {
  resolve: (r: WorkerResponse) => void;
  reject: (e: Error) => void;
}

/** SQL that may leave per-connection state behind (checked by word, so a false match only costs a reset). */
const CONNECTION_STATE = /\b(?:pragma|temp|temporary)\b/i;

/** Hands the connection back to its pool; `clean` is false when a full reset is needed first. */
export interface ConnectionOwner {
  giveBack(conn: SqliteConnection, fullReset: boolean): Promise<void>;
  forget(conn: SqliteConnection): void;
}

/**
 * One SQLite connection living in its own worker thread. A statement that overruns its timeout, or whose
 * client went away, is abandoned by terminating the worker (better-sqlite3 has no sqlite3_interrupt): the
 * caller gets STATEMENT_TIMEOUT at once and the pool opens a fresh connection. Termination only takes
 * effect when the thread next runs JavaScript, so a statement that produces rows stops at the next row,
 * but one long single step (an aggregate, a big UPDATE) runs to its end in the background and keeps its
 * locks until then; other writers see LOCK_TIMEOUT meanwhile. docs/transactions.md states this limit.
 */
export class SqliteConnection implements Connection {
  private readonly worker: Worker;
  private readonly pending = new Map<number, Pending>();
  private readonly streams = new Map<number, WorkerStream>();
  private seq = 0;
  private inTransaction = false;
  /** A statement may have changed per-connection state (a PRAGMA, a temporary object): reset on release. */
  private stateChanged = false;
  private closed = false;
  private readonly exited: Promise<void>;

  /** The worker enforces statement deadlines inside SQLite (sqlite-deadline.ts). */
  private readonly deadlineInSqlite: boolean;

  /** Opened SQLITE_OPEN_READONLY: no SQL can make it write (see the worker's statement check too). */
  readonly readOnlyEnforced: boolean;

  private constructor(
    readonly dialect: Dialect,
    private readonly backendName: string,
    private readonly owner: ConnectionOwner,
    init: WorkerInit,
  ) {
    this.readOnlyEnforced = init.readonly;
    this.deadlineInSqlite = init.deadlineExtension !== null;
    this.worker = spawnWorker(init);
    this.worker.on('message', (msg: WorkerResponse | StreamMessage) => {
      const stream = this.streams.get(msg.id);
      if (stream) return stream.onMessage(msg);
      if ('stream' in msg) return;
      const p = this.pending.get(msg.id);
      if (!p) return;
      this.pending.delete(msg.id);
      this.inTransaction = msg.inTransaction;
      p.resolve(msg);
    });
    this.worker.on('error', (err) => this.fail(err));
    this.exited = new Promise((resolve) => this.worker.once('exit', () => resolve()));
    this.exited.then(() => this.fail(new Error('the SQLite worker exited')));
  }

  static async open(
    dialect: Dialect,
    backendName: string,
    owner: ConnectionOwner,
    init: WorkerInit,
  ): Promise<SqliteConnection> {
    const conn = new SqliteConnection(dialect, backendName, owner, init);
    try {
      await conn.call({ op: 'version' });
    } catch (err) {
      await conn.terminate();
      throw err;
    }
    return conn;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  private fail(err: Error): void {
    const wasOpen = !this.closed;
    this.closed = true;
    this.inTransaction = false;
    if (wasOpen) this.owner.forget(this);
    for (const p of this.pending.values()) {
      p.reject(
        new SqlgateError(
          'BACKEND_UNAVAILABLE',
          `SQLite connection lost: ${err.message}`,
          { backend: this.backendName },
          { cause: err },
        ),
      );
    }
    this.pending.clear();
    const lost = new SqlgateError('BACKEND_UNAVAILABLE', `SQLite connection lost: ${err.message}`, {
      backend: this.backendName,
    });
    for (const s of this.streams.values()) s.onLost(lost);
    this.streams.clear();
  }

  /** Sends one request; kills the worker when the timeout fires or the signal aborts. */
  private call(
    req: DistributiveOmit<WorkerRequest, 'id'>,
    timeoutMs = 0,
    signal?: AbortSignal,
  ): Promise<WorkerResponse> {
    if (this.closed) {
      return Promise.reject(
        new SqlgateError('BACKEND_UNAVAILABLE', 'the SQLite connection is closed', {
          backend: this.backendName,
        }),
      );
    }
    if ('sql' in req && CONNECTION_STATE.test(req.sql)) this.stateChanged = true;
    const id = ++this.seq;
    return new Promise<WorkerResponse>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const abort = (code: ErrorCode, message: string) => {
        this.pending.delete(id);
        reject(new SqlgateError(code, message, { backend: this.backendName }));
        void this.destroy();
      };
      const onAbort = () =>
        abort('STATEMENT_TIMEOUT', 'the statement was cancelled because the client went away');
      const done = () => {
        if (timer) clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
      };
      this.pending.set(id, {
        resolve: (r) => {
          done();
          resolve(r);
        },
        reject: (e) => {
          done();
          reject(e);
        },
      });
      if (timeoutMs > 0) {
        // With the deadline inside SQLite the worker answers STATEMENT_TIMEOUT itself and stays; this timer
        // is then only the backstop for a worker that does not come back.
        timer = setTimeout(
          () => abort('STATEMENT_TIMEOUT', `the statement ran longer than ${timeoutMs} ms and was stopped`),
          this.deadlineInSqlite ? timeoutMs + DEADLINE_GRACE_MS : timeoutMs,
        );
      }
      if (signal) {
        if (signal.aborted) return onAbort();
        signal.addEventListener('abort', onAbort, { once: true });
      }
      this.worker.postMessage({ ...req, id } as WorkerRequest);
    });
  }

  /** @param sql the client statement the response is for (names a file in ATTACH / VACUUM INTO errors). */
  private unwrap(
    res: WorkerResponse,
    sql?: string,
  ): NonNullable<Extract<WorkerResponse, { ok: true }>['result']> | undefined {
    if (res.ok) return res.result;
    const e = res.error;
    const details = e.kind !== 'internal' && e.index !== undefined ? { statementIndex: e.index } : {};
    if (e.kind === 'sqlite') throw mapSqliteError(e, this.backendName, sql).with(details);
    if (e.kind === 'gateway' && e.code in ERROR_CODES) {
      throw new SqlgateError(e.code as ErrorCode, e.message, { backend: this.backendName, ...details });
    }
    throw new SqlgateError(
      'INTERNAL',
      'the SQLite worker failed',
      { backend: this.backendName },
      { cause: new Error(e.message) },
    );
  }

  private static wire(opts: ExecOptions): WorkerExecOptions {
    const { signal: _s, ...rest } = opts;
    return rest;
  }

  async execute(stmt: Statement, opts: ExecOptions): Promise<QueryResult> {
    // Arrays that cross to the worker are built with push: a preallocated (holey) array takes V8's slow
    // serialization path, measured 3× slower for 50,000 values.
    const params: WireParam[] = [];
    try {
      for (let i = 0; i < stmt.params.length; i++) {
        params.push(toWireParam(stmt.params[i] as ParamValue, `params[${i}]`));
      }
    } catch (err) {
      // What SQLite cannot bind fails after what the statement itself would fail on (syntax, read-only),
      // as when the worker bound it: the worker prepares the statement and runs no set.
      this.unwrap(await this.call({ op: 'prepare', sql: stmt.sql }, opts.timeoutMs, opts.signal), stmt.sql);
      throw this.paramError(err, undefined);
    }
    const res = await this.call(
      { op: 'execute', sql: stmt.sql, params, opts: SqliteConnection.wire(opts) },
      opts.timeoutMs,
      opts.signal,
    );
    return fromWire(this.unwrap(res, stmt.sql) as WireResult);
  }

  /** Streams the statement's rows chunk by chunk, each acknowledged (sqlite-stream.ts). */
  async stream(stmt: Statement, opts: StreamExecOptions, sink: RowSink): Promise<StreamSummary> {
    if (this.closed) {
      throw new SqlgateError('BACKEND_UNAVAILABLE', 'the SQLite connection is closed', {
        backend: this.backendName,
      });
    }
    const params: WireParam[] = [];
    try {
      for (let i = 0; i < stmt.params.length; i++) {
        params.push(toWireParam(stmt.params[i] as ParamValue, `params[${i}]`));
      }
    } catch (err) {
      this.unwrap(await this.call({ op: 'prepare', sql: stmt.sql }), stmt.sql);
      throw this.paramError(err, undefined);
    }
    const id = ++this.seq;
    const stream = new WorkerStream(
      {
        backend: this.backendName,
        send: (req) => this.worker.postMessage(req),
        unwrap: (res) => {
          this.unwrap(res, stmt.sql);
        },
        setInTransaction: (tx) => {
          this.inTransaction = tx;
        },
        destroy: () => this.destroy(),
      },
      id,
      sink,
    );
    this.streams.set(id, stream);
    const wire: WorkerExecOptions = {
      rowMode: opts.rowMode,
      int64: opts.int64,
      columnTypes: opts.columnTypes,
      ...(opts.valueMode ? { valueMode: opts.valueMode } : {}),
      ...(opts.jsonNumbers ? { jsonNumbers: opts.jsonNumbers } : {}),
      maxRows: 0,
      maxResponseBytes: 0,
    };
    stream.start({ id, op: 'stream', sql: stmt.sql, params, opts: wire });
    try {
      return await stream.done;
    } finally {
      this.streams.delete(id);
    }
  }

  /**
   * All sets go to the worker in one message as one flat array of primitives (WireParamSets), and a
   * statement without rows comes back as columns (WireRuns); the QueryResults are built here, which costs
   * a fraction of cloning them. A set whose params cannot be bound ends the batch there: the sets before it
   * run first, so the error reported is the first one in set order, as if each set ran alone.
   */
  async executeMany(sql: string, paramSets: ParamValue[][], opts: ExecOptions): Promise<QueryResult[]> {
    if (paramSets.length === 0) return [];
    const { sets, failed } = encodeParamSets(paramSets);
    const res = await this.call(
      { op: 'many', sql, sets, opts: SqliteConnection.wire(opts) },
      opts.timeoutMs,
      opts.signal,
    );
    const result = this.unwrap(res, sql) as WireRuns | WireResult[];
    if (failed) throw this.paramError(failed.error, failed.index);
    if (Array.isArray(result)) return result.map(fromWire);
    const { command, affectedRows, durationMs, lastInsertRowids, lastInsertIds } = result;
    const asString = opts.int64 === 'string';
    const out: QueryResult[] = [];
    for (let i = 0; i < sets.count; i++) {
      let lastInsertId: string | number | null = null;
      if (lastInsertIds) {
        lastInsertId = lastInsertIds[i] as string | number | null;
      } else if (lastInsertRowids) {
        // Within ±(2^53-1) (the worker checked), so the number is exact and String() gives its digits.
        const id = lastInsertRowids[i] as number;
        if (!Number.isNaN(id)) lastInsertId = asString ? String(id) : id;
      }
      out.push({
        columns: [],
        rows: [],
        rowCount: 0,
        affectedRows: affectedRows[i] as number,
        lastInsertId,
        command,
        durationMs: durationMs[i] as number,
      });
    }
    return out;
  }

  private paramError(err: unknown, statementIndex: number | undefined): SqlgateError {
    const details = statementIndex === undefined ? {} : { statementIndex };
    if (err instanceof SqlgateError) return err.with({ backend: this.backendName, ...details });
    return new SqlgateError(
      'INTERNAL',
      'the SQLite worker failed',
      { backend: this.backendName },
      { cause: err },
    );
  }

  async run(sql: string): Promise<void> {
    this.unwrap(await this.call({ op: 'run', sql }));
  }

  async version(): Promise<string> {
    return this.unwrap(await this.call({ op: 'version' })) as string;
  }

  txStatus(): TxStatus {
    return this.inTransaction ? 'active' : 'idle';
  }

  async reset(): Promise<void> {
    this.unwrap(await this.call({ op: 'reset' }));
    this.stateChanged = false;
  }

  async release(): Promise<void> {
    if (this.closed) return;
    await this.owner.giveBack(this, true);
  }

  /**
   * Back to the pool after an autocommit statement: a reset only when a transaction was left open or the
   * statement may have changed the connection's state (PRAGMA, TEMP objects), so the next user never sees it.
   */
  async releaseQuick(): Promise<void> {
    if (this.closed) return;
    await this.owner.giveBack(this, this.inTransaction || this.stateChanged);
  }

  async destroy(): Promise<void> {
    if (!this.closed) this.fail(new Error('destroyed'));
    await this.terminate();
  }

  private async terminate(): Promise<void> {
    await this.worker.terminate();
  }
}

/**
 * Flattens parameter sets for the worker. Stops at the first set with a param SQLite cannot bind:
 * `failed` names it, and only the sets before it are sent.
 */
function encodeParamSets(paramSets: ParamValue[][]): {
  sets: WireParamSets;
  failed?: { index: number; error: unknown };
} {
  const width = paramSets[0]?.length ?? 0;
  let uniform = true;
  for (const set of paramSets) if (set.length !== width) uniform = false;
  // Packed (built with push), not preallocated: see `execute`.
  const params: WireParam[] = [];
  for (let i = 0; i < paramSets.length; i++) {
    const set = paramSets[i] as ParamValue[];
    const start = params.length;
    try {
      for (let j = 0; j < set.length; j++) params.push(toWireParam(set[j] as ParamValue, `params[${j}]`));
    } catch (error) {
      params.length = start;
      return { sets: wireSets(paramSets, params, i, width, uniform), failed: { index: i, error } };
    }
  }
  return { sets: wireSets(paramSets, params, paramSets.length, width, uniform) };
}

function wireSets(
  paramSets: ParamValue[][],
  params: WireParam[],
  count: number,
  width: number,
  uniform: boolean,
): WireParamSets {
  if (uniform) return { params, count, width };
  return { params, count, width, lengths: paramSets.slice(0, count).map((s) => s.length) };
}
