import { fromBody, SqlgateError } from './errors.js';
import type { Call, Transport } from './http.js';
import { type Column, insertId, rowDecoder } from './result.js';
import type { DecodeOptions } from './values.js';

/** What the trailer of a complete stream says (the QueryResult fields a stream has). */
export interface StreamSummary {
  /** Rows sent, equal to the rows the iterator gave. */
  rowCount: number;
  /** Rows changed (a streamed INSERT ... RETURNING, for instance). */
  affectedRows: number;
  /** Generated id, in the int64 mode. */
  lastInsertId: bigint | number | string | null;
  /** The statement's leading keyword. */
  command: string;
  /** Time the gateway spent, ms. */
  durationMs: number;
}

const NDJSON = 'application/x-ndjson';

const cut = (message: string, rows: number, cause?: unknown) =>
  new SqlgateError('STREAM_INCOMPLETE', `the stream was cut: ${message}`, {
    class: 'ConnectionError',
    info: { rowsReceived: rows },
    cause,
  });

/**
 * The rows of one statement as they arrive (`Accept: application/x-ndjson`), decoded as execute decodes
 * them. `columns` is known before the first row. Iterate once with `for await`; `break` (or `cancel()`,
 * or the call's AbortSignal) aborts the HTTP request, and the gateway then stops the query. A stream is
 * only complete when the gateway's trailer says so: an error trailer is thrown as its coded SqlgateError,
 * a body that ends without one as STREAM_INCOMPLETE.
 */
export class RowStream<Row = Record<string, unknown>> implements AsyncIterable<Row> {
  /** Column metadata, in order (from the stream's first line). */
  readonly columns: Column[];
  private sum: StreamSummary | undefined;
  private started = false;
  private cancelled = false;

  /** @internal */
  constructor(
    private readonly lines: LineReader,
    private readonly ctl: AbortController,
    private readonly o: DecodeOptions,
    arrayRows: boolean,
    columns: Column[],
  ) {
    this.columns = columns;
    this.decode = rowDecoder(columns, o, arrayRows);
  }

  private readonly decode: (row: unknown) => unknown;

  /** The trailer's figures once the iterator finished; undefined before (or when it did not complete). */
  get summary(): StreamSummary | undefined {
    return this.sum;
  }

  /** Stops reading and aborts the request (the gateway cancels the query). Safe to call at any time. */
  cancel(): void {
    this.cancelled = true;
    if (this.sum === undefined) this.ctl.abort('cancelled');
    this.lines.release();
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<Row, void, undefined> {
    if (this.started) throw new SqlgateError('BAD_REQUEST', 'a RowStream can be iterated only once');
    this.started = true;
    if (this.cancelled) throw new SqlgateError('ABORTED', 'the stream was cancelled before it was read');
    let n = 0;
    try {
      // One line of lookahead: only the body's last line is the trailer (a row may have a "done" column).
      let prev = await this.lines.next(n);
      if (prev === undefined) throw cut('no trailer after the header', n);
      for (;;) {
        const line = await this.lines.next(n + 1);
        if (line === undefined) break;
        n++;
        yield this.decode(prev) as Row;
        prev = line;
      }
      this.finish(prev as Trailer, n);
    } finally {
      this.cancel();
    }
  }

  private finish(t: Trailer, n: number) {
    if (t === null || typeof t !== 'object' || Array.isArray(t) || typeof t.done !== 'boolean') {
      throw cut('the last line is not a trailer', n + 1);
    }
    if (!t.done) {
      const e = fromBody(200, { error: t.error }, undefined);
      throw new SqlgateError(e.code, e.message, { ...e, info: { ...e.info, rowsReceived: n } });
    }
    if (t.rowCount !== n) throw cut(`the trailer counts ${t.rowCount} rows, ${n} arrived`, n);
    this.sum = {
      rowCount: n,
      affectedRows: t.affectedRows ?? 0,
      lastInsertId: insertId(t.lastInsertId, this.o),
      command: t.command ?? '',
      durationMs: t.durationMs ?? 0,
    };
  }
}

type Trailer = {
  done: boolean;
  rowCount?: number;
  affectedRows?: number;
  lastInsertId?: string | number | null;
  command?: string;
  durationMs?: number;
  error?: unknown;
};

/** Splits a UTF-8 body into parsed NDJSON lines; a read failure is STREAM_INCOMPLETE (or ABORTED). */
class LineReader {
  private buf = '';
  private queue: string[] = [];
  private at = 0;
  private ended = false;
  private readonly text = new TextDecoder();

  constructor(
    private readonly reader: ReadableStreamDefaultReader<Uint8Array>,
    private readonly signal: AbortSignal,
    private readonly user: AbortSignal | undefined,
  ) {}

  /** The next parsed line, or undefined at the end of the body. `rows` names the progress in errors. */
  async next(rows: number): Promise<unknown> {
    while (this.at >= this.queue.length) {
      if (this.ended) {
        if (this.buf.trim() === '') return undefined;
        this.queue = [this.buf];
        this.at = 0;
        this.buf = '';
        break;
      }
      let chunk: ReadableStreamReadResult<Uint8Array>;
      try {
        chunk = await this.reader.read();
      } catch (err) {
        if (this.user?.aborted) throw new SqlgateError('ABORTED', 'the request was aborted', { cause: err });
        throw cut(this.signal.aborted ? 'the stream was cancelled' : 'the connection failed', rows, err);
      }
      if (chunk.done) {
        this.ended = true;
        this.buf += this.text.decode();
        continue;
      }
      const text = this.text.decode(chunk.value, { stream: true });
      // Split only when a line ended: a long row arriving in many chunks is not rescanned each time.
      if (!text.includes('\n')) {
        this.buf += text;
        continue;
      }
      const parts = (this.buf + text).split('\n');
      this.buf = parts.pop() ?? '';
      this.queue = parts.filter((p) => p !== '');
      this.at = 0;
    }
    const line = this.queue[this.at++] as string;
    try {
      return JSON.parse(line);
    } catch (err) {
      throw cut('a line is not JSON', rows, err);
    }
  }

  /** Lets go of the body (cancelling it when unread). */
  release(): void {
    this.reader.cancel().catch(() => {});
  }
}

/** Sends the statement with `Accept: application/x-ndjson` and reads the header line. */
export async function openStream<Row>(
  t: Transport,
  call: Omit<Call, 'signal' | 'headers'>,
  o: DecodeOptions,
  arrayRows: boolean,
  signal: AbortSignal | undefined,
): Promise<RowStream<Row>> {
  const { res, ctl } = await t.open({ ...call, signal, headers: { accept: NDJSON } });
  const type = res.headers.get('content-type') ?? '';
  if (!type.includes(NDJSON) || !res.body) {
    ctl.abort('not a stream');
    throw new SqlgateError('BAD_RESPONSE', `the gateway answered ${type || 'no body'} instead of ${NDJSON}`, {
      status: res.status,
    });
  }
  const lines = new LineReader(res.body.getReader(), ctl.signal, signal);
  let head: { columns?: Column[] };
  try {
    head = (await lines.next(0)) as { columns?: Column[] };
  } catch (err) {
    lines.release();
    throw err;
  }
  if (!head || !Array.isArray(head.columns)) {
    ctl.abort('bad header');
    lines.release();
    throw cut('no header line', 0);
  }
  return new RowStream<Row>(lines, ctl, o, arrayRows, head.columns);
}
