import type { ServerResponse } from 'node:http';
import type { FastifyReply } from 'fastify';
import type { RowSink } from '../../src/backend/row-stream.js';
import type { Column, QueryResult } from '../../src/backend/types.js';
import { SqlgateError } from '../../src/errors.js';
import { clientSignal } from '../../src/query/client-signal.js';
import { type StreamLimits, streamOptions } from '../../src/query/stream.js';
import { toSqlgateError } from '../../src/to-sqlgate-error.js';
import { exactRows, parseRowLine } from './exact-json.js';
import type { HranaBatch } from './hrana-requests.js';
import { compileHranaStmt, evalCond, execute, LIBSQL_BEGIN, type StreamTarget } from './hrana-stream.js';
import { fromValue, type HranaError, HranaProtocolError, toHranaError } from './hrana-values.js';

/**
 * Hrana 3 cursors over HTTP (`POST /v3/cursor`): one batch whose results stream back as NDJSON, a line per
 * entry, in constant memory on the gateway's streaming engine (src/query/stream.ts, row-stream.ts).
 *
 * Body: `{"baton": null | "...", "base_url": null}` first (the baton of the stream for the next request),
 * then per executed step `step_begin {step, cols}`, `row {row}` per row, `step_end {affected_row_count,
 * last_insert_rowid}`, or `step_error {step, error}` when the step failed (after its step_begin and some
 * rows, when it failed mid-stream). Skipped steps (condition false) produce no entries. An `error` entry
 * ends a cursor that cannot go on (the client went away, the stream timed out).
 * @see https://github.com/tursodatabase/libsql/blob/main/docs/HRANA_3_SPEC.md (Cursors)
 */

export const CURSOR_TYPE = 'application/x-ndjson';

const protoError = (e: unknown): HranaError =>
  e instanceof HranaProtocolError ? { message: e.message, code: e.code } : toHranaError(toSqlgateError(e));

const hranaCols = (cols: Column[]) =>
  cols.map((c) => ({ name: c.name, decltype: c.dbType === '' ? null : c.dbType }));

/** The cursor's response: NDJSON lines with backpressure, the stream limits and the client's departure. */
class CursorWriter {
  private readonly res: ServerResponse;
  /** Why the cursor must stop (client gone, idle timeout); undefined while it may go on. */
  stopped: SqlgateError | undefined;
  /** Rows and bytes of the current step (the stream limits hold per step). */
  rowCount = 0;
  bytes = 0;
  private readonly timer: NodeJS.Timeout | undefined;
  private readonly client: AbortSignal;
  private readonly listeners = new Set<() => void>();
  private readonly gone = () =>
    this.stop(new SqlgateError('STATEMENT_TIMEOUT', 'the cursor was cancelled because the client went away'));

  constructor(
    reply: FastifyReply,
    readonly limits: StreamLimits,
  ) {
    this.res = reply.raw;
    this.client = clientSignal(reply);
    if (this.client.aborted) this.gone();
    else this.client.addEventListener('abort', this.gone, { once: true });
    if (limits.idleTimeoutMs > 0) {
      const ms = limits.idleTimeoutMs;
      this.timer = setTimeout(
        () =>
          this.stop(
            new SqlgateError(
              'STATEMENT_TIMEOUT',
              `the cursor made no progress for ${ms} ms (limits.streamIdleTimeoutMs)`,
            ),
          ),
        ms,
      );
    }
    reply.hijack();
    for (const [name, value] of Object.entries(reply.getHeaders())) {
      if (value !== undefined && name !== 'content-length' && name !== 'content-type')
        this.res.setHeader(name, value);
    }
    this.res.writeHead(200, { 'content-type': CURSOR_TYPE, 'cache-control': 'no-store' });
  }

  /** Registers a callback for a stop (the running step aborts its statement); returns its removal. */
  onStop(fn: () => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  private stop(reason: SqlgateError): void {
    if (this.stopped) return;
    this.stopped = reason;
    for (const fn of this.listeners) fn();
  }

  /** Writes NDJSON text; false when the socket buffer is full (wait for `ready`). */
  write(text: string): boolean {
    if (this.stopped || this.res.destroyed) return false;
    this.timer?.refresh();
    return this.res.write(text);
  }

  line(entry: Record<string, unknown>): boolean {
    return this.write(`${JSON.stringify(entry)}\n`);
  }

  ready(): Promise<void> {
    if (this.stopped || !this.res.writableNeedDrain) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const off = this.onStop(resolve);
      this.res.once('drain', () => {
        off();
        this.timer?.refresh();
        resolve();
      });
    });
  }

  /** The closing `error` entry: written even after a stop, unless the socket is gone. */
  fail(error: HranaError): void {
    if (!this.res.destroyed) this.res.write(`${JSON.stringify({ type: 'error', error })}\n`);
  }

  end(): void {
    clearTimeout(this.timer);
    // The signal belongs to the socket, which a keep-alive client reuses for its next requests.
    this.client.removeEventListener('abort', this.gone);
    if (!this.res.destroyed) this.res.end();
  }
}

/** One step's RowSink: the gateway's NDJSON rows (array mode) become Hrana `row` entries. */
class StepSink implements RowSink {
  private readonly controller = new AbortController();
  readonly signal = this.controller.signal;
  cols: Column[] | null = null;
  /** Set when the stream limits ended the step early. */
  overLimit: SqlgateError | undefined;
  private readonly off: () => void;

  constructor(
    private readonly w: CursorWriter,
    private readonly step: number,
    private readonly wantRows: boolean,
  ) {
    this.off = w.onStop(() => this.controller.abort(w.stopped));
    if (w.stopped) this.controller.abort(w.stopped);
  }

  dispose(): void {
    this.off();
  }

  columns(columns: Column[]): void {
    if (this.cols) return;
    this.cols = columns;
    this.w.line({ type: 'step_begin', step: this.step, cols: hranaCols(columns) });
  }

  write(chunk: string | Buffer, rows: number): boolean {
    if (this.signal.aborted) return false;
    // The byte paths (PostgreSQL, MariaDB) hand over UTF-8 buffers; rows are cut on characters here.
    const text = typeof chunk === 'string' ? chunk : chunk.toString('utf8');
    const cols = this.cols ?? [];
    const { maxRows, maxBytes } = this.w.limits;
    if (!this.wantRows) return this.w.write('');
    let out = '';
    let at = 0;
    for (let n = 0; n < rows; n++) {
      const nl = text.indexOf('\n', at);
      const row = parseRowLine(text.slice(at, nl < 0 ? undefined : nl), cols);
      at = nl + 1;
      const line = `${JSON.stringify({ type: 'row', row: cols.map((c, i) => fromValue(row[i], c)) })}\n`;
      if (
        (maxRows > 0 && this.w.rowCount + 1 > maxRows) ||
        (maxBytes > 0 && this.w.bytes + line.length > maxBytes)
      ) {
        const which =
          maxRows > 0 && this.w.rowCount + 1 > maxRows
            ? `maxStreamRows (${maxRows})`
            : `maxStreamBytes (${maxBytes})`;
        this.overLimit = new SqlgateError(
          'RESULT_TOO_LARGE',
          `the cursor exceeds ${which}; narrow the query`,
        );
        this.w.write(out);
        this.controller.abort(this.overLimit);
        return false;
      }
      this.w.rowCount++;
      this.w.bytes += line.length;
      out += line;
    }
    return this.w.write(out);
  }

  ready(): Promise<void> {
    return this.signal.aborted ? Promise.resolve() : this.w.ready();
  }
}

/** Runs one step, streaming its rows; throws what failed it. */
async function runStep(target: StreamTarget, w: CursorWriter, i: number, batch: HranaBatch): Promise<void> {
  const src = batch.steps[i]?.stmt;
  if (!src) return;
  const wantRows = src.want_rows ?? true;
  const stmt = compileHranaStmt(target, src);
  if (!target.stream || (stmt.params.length === 0 && LIBSQL_BEGIN.test(stmt.sql))) {
    // libsql's BEGIN forms go through the dialect fallback (`execute`); they have no rows to stream.
    const r = await execute(target, stmt);
    target.observe(r);
    w.line({ type: 'step_begin', step: i, cols: hranaCols(r.columns) });
    if (wantRows) {
      for (const row of exactRows(r)) {
        w.line({ type: 'row', row: r.columns.map((c, k) => fromValue(row[k], c)) });
      }
    }
    w.line({
      type: 'step_end',
      affected_row_count: r.affectedRows,
      last_insert_rowid: idText(r.lastInsertId),
    });
    return;
  }
  // The stream limits hold per step, as for one /v1 stream.
  w.rowCount = 0;
  w.bytes = 0;
  const sink = new StepSink(w, i, wantRows);
  const started = performance.now();
  try {
    // A stopped statement may settle either way (MySQL rejects with its cancellation): the stop's reason wins.
    const summary = await target.stream(stmt, streamOptions(target.opts), sink).catch((e: unknown) => {
      throw sink.overLimit ?? w.stopped ?? e;
    });
    if (sink.overLimit) throw sink.overLimit;
    if (w.stopped) throw w.stopped;
    if (!sink.cols) sink.columns([]);
    w.line({
      type: 'step_end',
      affected_row_count: summary.affectedRows,
      last_insert_rowid: idText(summary.lastInsertId),
    });
    target.observe({
      command: summary.command,
      rowCount: summary.rowCount,
      durationMs: performance.now() - started,
    } as QueryResult);
  } finally {
    sink.dispose();
    // A COMMIT/ROLLBACK sent as SQL gets the dialect's after-end statements, as in a pipeline.
    await target.tm.sync().catch(() => undefined);
  }
}

const idText = (id: string | number | null | undefined) =>
  id === null || id === undefined ? null : String(id);

/**
 * Answers a cursor request: hijacks the reply, writes the header line with `baton`, runs the batch's
 * steps in order (conditions as in a pipeline batch), and ends the response. Resolves when it has ended.
 */
export async function streamCursor(
  reply: FastifyReply,
  target: StreamTarget,
  batch: HranaBatch,
  opts: { baton: string | null; limits: StreamLimits },
): Promise<void> {
  const w = new CursorWriter(reply, opts.limits);
  w.line({ baton: opts.baton, base_url: null });
  const outcomes: Array<'ok' | 'error' | null> = [];
  try {
    for (let i = 0; i < batch.steps.length; i++) {
      const cond = batch.steps[i]?.condition;
      if (cond && !evalCond(cond, outcomes, target)) {
        outcomes.push(null);
        continue;
      }
      try {
        await runStep(target, w, i, batch);
        outcomes.push('ok');
      } catch (e) {
        if (w.stopped) throw w.stopped;
        w.line({ type: 'step_error', step: i, error: protoError(e) });
        outcomes.push('error');
      }
      await w.ready();
      if (w.stopped) throw w.stopped;
    }
  } catch (e) {
    w.fail(protoError(e));
  } finally {
    w.end();
  }
}
