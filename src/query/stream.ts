import type { ServerResponse } from 'node:http';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Principal } from '../auth/principal.js';
import type { RowSink, StreamExecOptions, StreamSummary } from '../backend/row-stream.js';
import type { Connection } from '../backend/storage-backend.js';
import type { Column, ExecOptions, Statement } from '../backend/types.js';
import type { Config } from '../config.js';
import { SqlgateError, toErrorBody } from '../errors.js';
import { toSqlgateError } from '../to-sqlgate-error.js';
import { clientSignal } from './client-signal.js';

/**
 * Streaming execution: one statement's rows as NDJSON, in constant memory, shared by `POST /v1/execute`
 * and `POST /v1/sessions/{id}/execute` with `Accept: application/x-ndjson` (and meant for Hrana v3 cursors).
 *
 * The body is: one header line `{"columns": [...]}`, one line per row (an object or an array, encoded as
 * in a QueryResult), and one trailer line `{"done": true, "rowCount", "affectedRows", "lastInsertId",
 * "command", "durationMs"}`; a statement that fails after the header gets `{"done": false, "rowCount",
 * "durationMs", "error": {...}}` as its trailer instead. A failure before the header is an ordinary error
 * response with its HTTP status. docs/api.md ("Streaming results") says how a client tells a complete
 * stream from a cut one.
 *
 * Backpressure: the backend reads a bounded piece of rows (row-stream.ts), writes it here, and reads the
 * next only when the response's socket buffer has drained, so a slow reader holds the database back
 * instead of filling the gateway's memory. Every early end (client gone, limit, idle timeout) goes
 * through one AbortSignal the backend obeys by cancelling the statement.
 */

export const NDJSON = 'application/x-ndjson';

/** True when the request asks for a stream: an Accept header naming application/x-ndjson. */
export function wantsStream(request: FastifyRequest): boolean {
  const accept = request.headers.accept;
  return typeof accept === 'string' && accept.toLowerCase().includes(NDJSON);
}

/** The limits that hold for one stream. */
export interface StreamLimits {
  /** Most rows; more ends the stream with RESULT_TOO_LARGE. 0 = unlimited. */
  maxRows: number;
  /** Most bytes of row lines; more ends the stream with RESULT_TOO_LARGE. 0 = unlimited. */
  maxBytes: number;
  /** Longest wait for the database's next rows or for the client to read; then STATEMENT_TIMEOUT. 0 = none. */
  idleTimeoutMs: number;
}

/** The configured stream limits, tightened by the principal's own (a limit of 0 means none). */
export function streamLimits(limits: Config['limits'], principal: Principal): StreamLimits {
  const tighter = (global: number, own: number | undefined) =>
    own === undefined ? global : global === 0 ? own : Math.min(global, own);
  return {
    maxRows: tighter(limits.maxStreamRows, principal.limits?.maxStreamRows),
    maxBytes: tighter(limits.maxStreamBytes, principal.limits?.maxStreamBytes),
    idleTimeoutMs: limits.streamIdleTimeoutMs,
  };
}

/** Execute options as a stream takes them: no row/size caps (the stream's own limits apply). */
export function streamOptions(opts: ExecOptions): StreamExecOptions {
  return {
    rowMode: opts.rowMode,
    int64: opts.int64,
    columnTypes: opts.columnTypes,
    ...(opts.valueMode ? { valueMode: opts.valueMode } : {}),
    ...(opts.jsonNumbers ? { jsonNumbers: opts.jsonNumbers } : {}),
    timeoutMs: 0,
  };
}

/** Runs the statement on `conn`, refusing connections that cannot stream. */
export function streamOn(
  conn: Connection,
  stmt: Statement,
  opts: StreamExecOptions,
  sink: RowSink,
  backend: string,
): Promise<StreamSummary> {
  if (!conn.stream) {
    throw new SqlgateError('UNSUPPORTED_FEATURE', 'this backend cannot stream results', { backend });
  }
  return conn.stream(stmt, opts, sink);
}

/** What the caller of `streamResponse` provides. */
export interface StreamJob {
  limits: StreamLimits;
  /** Backend name, for errors and metrics. */
  backend: string;
  /** Runs the statement into the sink (acquiring and releasing its connection). */
  run(sink: RowSink): Promise<StreamSummary>;
  /** Called once when the statement ended without error (metrics). */
  observe?(result: { command: string; durationMs: number; rowCount: number }): void;
}

/**
 * Answers the request with the statement's NDJSON stream. Errors before the header propagate (the
 * ordinary error response); after it they become the trailer. Resolves when the response is finished.
 */
export async function streamResponse(request: FastifyRequest, reply: FastifyReply, job: StreamJob) {
  const started = performance.now();
  const sink = new ResponseSink(reply, job.limits, () => job.backend);
  let summary: StreamSummary;
  try {
    summary = await job.run(sink);
  } catch (err) {
    sink.stopTimer();
    const error = sink.reason ?? toSqlgateError(err);
    if (!sink.started) throw error;
    if (request.server.hasDecorator('metrics')) request.server.metrics.countError(error.code);
    request.log.info({ code: error.code, rows: sink.rowCount }, 'stream ended early');
    sink.end({
      done: false,
      rowCount: sink.rowCount,
      durationMs: performance.now() - started,
      error: toErrorBody(error, String(request.id)).error,
    });
    return;
  }
  sink.stopTimer();
  if (sink.reason) {
    // The backend finished just as the stream was stopped: the stop wins (the client may be gone).
    if (!sink.started) throw sink.reason;
    sink.end({
      done: false,
      rowCount: sink.rowCount,
      durationMs: performance.now() - started,
      error: toErrorBody(sink.reason, String(request.id)).error,
    });
    return;
  }
  const durationMs = performance.now() - started;
  if (!sink.started) sink.columns([]);
  job.observe?.({ command: summary.command, durationMs, rowCount: sink.rowCount });
  sink.end({
    done: true,
    rowCount: sink.rowCount,
    affectedRows: summary.affectedRows,
    lastInsertId: summary.lastInsertId,
    command: summary.command,
    durationMs,
  });
}

/** The RowSink over a Node response: counts, limits, idle timer, 'drain'. */
class ResponseSink implements RowSink {
  private readonly controller = new AbortController();
  readonly signal = this.controller.signal;
  /** Why the stream was stopped early (undefined: it was not). */
  reason: SqlgateError | undefined;
  started = false;
  rowCount = 0;
  private bytes = 0;
  private readonly res: ServerResponse;
  private get backend(): string {
    return this.backendName();
  }
  private readonly timer: NodeJS.Timeout | undefined;
  private waiting: { resolve: () => void } | null = null;
  private readonly client: AbortSignal;
  private readonly onClientGone = () =>
    this.stop(
      new SqlgateError('STATEMENT_TIMEOUT', 'the stream was cancelled because the client went away', {
        backend: this.backend,
      }),
    );

  constructor(
    private readonly reply: FastifyReply,
    private readonly limits: StreamLimits,
    private readonly backendName: () => string,
  ) {
    this.res = reply.raw;
    this.client = clientSignal(reply);
    if (this.client.aborted) this.onClientGone();
    else this.client.addEventListener('abort', this.onClientGone, { once: true });
    if (limits.idleTimeoutMs > 0) {
      const ms = limits.idleTimeoutMs;
      this.timer = setTimeout(() => {
        const what = this.waiting ? 'the client read nothing' : 'the database sent no rows';
        this.stop(
          new SqlgateError('STATEMENT_TIMEOUT', `${what} for ${ms} ms (limits.streamIdleTimeoutMs)`, {
            backend: this.backend,
          }),
        );
      }, ms);
    }
  }

  private stop(reason: SqlgateError): void {
    if (this.reason) return;
    this.reason = reason;
    this.controller.abort(reason);
    this.release();
  }

  private release(): void {
    const w = this.waiting;
    this.waiting = null;
    w?.resolve();
  }

  stopTimer(): void {
    clearTimeout(this.timer);
    this.client.removeEventListener('abort', this.onClientGone);
  }

  columns(columns: Column[]): void {
    if (this.started) return;
    this.started = true;
    this.reply.hijack();
    // Headers hooks set so far (request id, security headers) go out too; the rest is the stream's own.
    for (const [name, value] of Object.entries(this.reply.getHeaders())) {
      if (value !== undefined && name !== 'content-length') this.res.setHeader(name, value);
    }
    this.res.writeHead(200, {
      'content-type': `${NDJSON}; charset=utf-8`,
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
    });
    this.res.write(`${JSON.stringify({ columns })}\n`);
  }

  write(text: string | Buffer, rows: number): boolean {
    if (this.reason) return false;
    this.timer?.refresh();
    const { maxRows, maxBytes } = this.limits;
    let lines = rows;
    let piece = text;
    let over: string | undefined;
    if (maxRows > 0 && this.rowCount + rows > maxRows) {
      lines = maxRows - this.rowCount;
      piece = firstLines(text, lines);
      over = `maxStreamRows (${maxRows})`;
    }
    let bytes = typeof piece === 'string' ? Buffer.byteLength(piece) : piece.length;
    if (maxBytes > 0 && this.bytes + bytes > maxBytes) {
      [piece, lines, bytes] = withinBytes(piece, maxBytes - this.bytes);
      over = `maxStreamBytes (${maxBytes})`;
    }
    this.rowCount += lines;
    this.bytes += bytes;
    const more = piece.length > 0 ? this.res.write(piece) : true;
    if (over === undefined) return more;
    // The rows that fit were sent, as whole lines; the trailer says how many.
    this.stop(
      new SqlgateError(
        'RESULT_TOO_LARGE',
        `the stream exceeds ${over}; narrow the query or page through it`,
        {
          backend: this.backend,
        },
      ),
    );
    return false;
  }

  ready(): Promise<void> {
    if (this.reason || !this.res.writableNeedDrain) return Promise.resolve();
    return new Promise<void>((resolve) => {
      this.waiting = { resolve };
      this.res.once('drain', () => {
        this.timer?.refresh();
        this.release();
      });
    });
  }

  end(trailer: Record<string, unknown>): void {
    if (this.res.destroyed) return;
    this.res.end(`${JSON.stringify(trailer)}\n`);
  }
}

/** The first `n` lines of NDJSON text. */
function firstLines<T extends string | Buffer>(text: T, n: number): T {
  let at = -1;
  for (let i = 0; i < n; i++) {
    at = text.indexOf('\n', at + 1);
    if (at < 0) return text;
  }
  return text.slice(0, at + 1) as T;
}

/** The whole lines of `text` that fit in `budget` UTF-8 bytes: [text, lines, bytes]. */
function withinBytes(text: string | Buffer, budget: number): [string | Buffer, number, number] {
  if (typeof text !== 'string') {
    let end = 0;
    let lines = 0;
    for (;;) {
      const nl = text.indexOf(10, end);
      if (nl < 0 || nl + 1 > budget) break;
      end = nl + 1;
      lines++;
    }
    return [text.subarray(0, end), lines, end];
  }
  let end = 0;
  let lines = 0;
  let bytes = 0;
  while (end < text.length) {
    const nl = text.indexOf('\n', end);
    const next = nl < 0 ? text.length : nl + 1;
    const b = Buffer.byteLength(text.slice(end, next));
    if (bytes + b > budget) break;
    bytes += b;
    lines++;
    end = next;
  }
  return [text.slice(0, end), lines, bytes];
}
