import { stringifyExact } from '../json-text.js';
import { NdjsonOut } from '../ndjson-out.js';
import { type RowSink, STREAM_CHUNK_CHARS, STREAM_PIECE_BYTES } from '../row-stream.js';
import { leadingKeyword } from '../sql-lexer.js';
import type { Column, ExecOptions, JsonValue, QueryResult } from '../types.js';
import type { PgWire } from './pg-internals.js';
import { isServerError } from './postgres-errors.js';
import { buildResult } from './postgres-result.js';
import type { RawResult, StatementFailure } from './postgres-statement.js';
import type { FieldDescription } from './postgres-statement-cache.js';
import {
  byteEncoderFor,
  DataRowTap,
  dataRowTexts,
  encodeDataRow,
  type RowPlan,
  type TappableSocket,
} from './postgres-stream-bytes.js';
import type { PgType } from './postgres-types.js';
import { type Decoder, decoderFor, type JsonEncoder, jsonEncoderFor } from './postgres-values.js';
import { WireWriter } from './postgres-wire.js';

/**
 * One streamed statement on the wire, as a pg "Submittable": Parse + Bind of the unnamed portal, then
 * PIPELINE `Execute`s with a row limit of FETCH_ROWS each and a Flush (no Sync, so the portal and
 * its implicit transaction stay open). Each PortalSuspended hands the rows read so far to the sink and, when
 * the sink can take more, sends the next Execute, so the server computes the next rows while the gateway
 * encodes these; when the sink is full no Execute is sent, and a slow HTTP reader leaves the server waiting
 * with at most PIPELINE pieces of rows on their way. CommandComplete (or an error, or an abort) is followed
 * by the Sync that ends the round trip; the promise settles on its ReadyForQuery, with the connection idle
 * again. (An Execute still queued behind the one that completed the portal answers with a second
 * CommandComplete, which is ignored.)
 *
 * Rows of a result whose columns all have known types take the byte path (postgres-stream-bytes.ts): the
 * DataRow bytes are encoded into one NDJSON buffer per piece without pg parsing them.
 *
 * An abort while an Execute is in flight sends a CancelRequest and the Sync at once; between Executes the
 * Sync alone closes the portal (nothing runs on the server then).
 * @see https://www.postgresql.org/docs/15/protocol-flow.html#PROTOCOL-FLOW-EXT-QUERY
 */

/** pg's Connection members this file uses beyond PgWire. */
export interface PgStreamWire extends PgWire {
  execute(config: { portal: string; rows: number }): void;
  flush(): void;
}

export interface PgStreamPlan {
  sql: string;
  values: Array<string | Buffer | null>;
  /** The statement's columns, from a Describe beforehand. */
  fields: FieldDescription[];
  opts: ExecOptions;
  typeOf(oid: number): PgType | undefined;
  sink: RowSink;
  /** Sends a CancelRequest for this connection; resolves once it was delivered. */
  cancel(): Promise<void>;
}

/** How the statement ended: its command tag and the rows handed to the sink. */
export interface PgStreamEnd {
  command: string;
  tagCount: number | null;
  rowCount: number;
  /** The first row's raw text (lastInsertId of INSERT ... RETURNING). */
  first: Array<string | null> | null;
}

/** Executes in flight at once. */
const PIPELINE = 2;
/** Rows per Execute: a piece of about STREAM_PIECE_BYTES for rows of a few short columns. */
const FETCH_ROWS = 2500;

/** `Execute` of the unnamed portal with a row limit, then `Flush`: one write. */
function executeAndFlush(rows: number): Buffer {
  const b = Buffer.alloc(10 + 5);
  b[0] = 0x45; // 'E'
  b.writeInt32BE(9, 1);
  b[5] = 0; // portal ''
  b.writeInt32BE(rows, 6);
  b[10] = 0x48; // 'H'
  b.writeInt32BE(4, 11);
  return b;
}
const EXECUTE_FLUSH = executeAndFlush(FETCH_ROWS);

const TAG_WORD_RE = /^[A-Za-z]+/;
const TAG_COUNT_RE = / (\d+)$/;

export class PgStreamQuery {
  readonly done: Promise<PgStreamEnd>;
  private resolve!: (r: PgStreamEnd) => void;
  private reject!: (f: StatementFailure) => void;
  private wire: PgStreamWire | null = null;
  private readonly types: Array<PgType | undefined>;
  private readonly decoders: Decoder[];
  /** Text path: the encoders and the text before each value; undefined = rows go through buildResult. */
  private readonly encoders: JsonEncoder[] | undefined;
  private readonly prefixes: string[] = [];
  private readonly rowEnd: string;
  private parts: string[] = [];
  private chars = 0;
  private valueRows: JsonValue[][] = [];
  private pieceRows = 0;
  private end: PgStreamEnd = { command: '', tagCount: null, rowCount: 0, first: null };
  /** Executes sent whose PortalSuspended or CommandComplete has not come yet. */
  private inFlight = 0;
  private completed = false;
  /** The byte path: the rows' plan, their buffer and the socket tap (null: rows come through pg). */
  private readonly rowPlan: RowPlan | null = null;
  private readonly out = new NdjsonOut();
  private tap: DataRowTap | null = null;
  private readonly onByteRow = (src: Buffer, start: number, end: number) => this.byteRow(src, start, end);
  private synced = false;
  private failure: StatementFailure | null = null;
  private settled = false;
  private cancelling: Promise<void> | null = null;
  private readonly onAbort = () => this.abort();
  /**
   * Executes kept in flight: 2 for a plain query only. A second Execute on a portal that ran a statement
   * to completion (INSERT, UPDATE, a data-modifying WITH) fails with "portal cannot be run".
   */
  private readonly pipeline: number;

  constructor(private readonly plan: PgStreamPlan) {
    this.done = new Promise((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
    this.done.catch(() => {});
    const { fields, opts } = plan;
    const word = leadingKeyword(plan.sql);
    this.pipeline = word === 'SELECT' || word === 'VALUES' || word === 'TABLE' ? PIPELINE : 1;
    this.types = fields.map((f) => plan.typeOf(f.dataTypeID));
    this.decoders = this.types.map((t) =>
      t ? decoderFor(t, opts.int64, opts.jsonNumbers) : (s: string) => s,
    );
    const coerce = opts.columnTypes && Object.keys(opts.columnTypes).length > 0;
    const names = new Set(fields.map((f) => f.name));
    const textual = !coerce && names.size === fields.length && this.types.every((t) => t);
    this.rowEnd = opts.rowMode === 'array' ? ']' : '}';
    if (textual) {
      this.encoders = this.types.map((t) => jsonEncoderFor(t as PgType, opts.int64, opts.jsonNumbers));
      this.prefixes = fields.map((f, i) =>
        opts.rowMode === 'array' ? (i === 0 ? '[' : ',') : `${i === 0 ? '{' : ','}${JSON.stringify(f.name)}:`,
      );
      // Names are ASCII-written by the buffer: a non-ASCII name keeps the string path.
      if (this.prefixes.every((p) => /^[\x20-\x7e]*$/.test(p))) {
        this.rowPlan = {
          prefixes: this.prefixes.map((p) => Buffer.from(p, 'latin1')),
          encoders: this.types.map((t) =>
            byteEncoderFor(t as PgType, opts.int64, opts.jsonNumbers ?? 'exact'),
          ),
          close: this.rowEnd,
        };
      }
    }
  }

  /** The result's columns as a QueryResult would give them (coercion targets included). */
  columns(): Column[] {
    return buildResult(this.raw([]), this.plan.opts, this.plan.typeOf, 0).columns;
  }

  /** affectedRows and lastInsertId as a QueryResult of the same statement would give them. */
  outcome(): Pick<QueryResult, 'affectedRows' | 'lastInsertId'> {
    const first = this.end.first;
    const rows = first ? [first.map((t, i) => (t === null ? null : (this.decoders[i] as Decoder)(t)))] : [];
    const r = buildResult(
      { ...this.raw(rows), command: this.end.command, tagCount: this.end.tagCount },
      this.plan.opts,
      this.plan.typeOf,
      0,
    );
    return { affectedRows: r.affectedRows, lastInsertId: r.lastInsertId };
  }

  private raw(rows: JsonValue[][]): RawResult {
    return {
      fields: this.plan.fields,
      types: this.types,
      rows,
      json: undefined,
      rowCount: rows.length,
      first: null,
      command: '',
      tagCount: null,
    };
  }

  submit(connection: PgStreamWire): null {
    this.wire = connection;
    const { sql, values, sink } = this.plan;
    if (sink.signal.aborted) {
      this.sync();
      return null;
    }
    sink.signal.addEventListener('abort', this.onAbort, { once: true });
    if (this.rowPlan) {
      this.tap = new DataRowTap(connection.stream as unknown as TappableSocket, this.onByteRow);
      if (!this.tap.install()) this.tap = null;
    }
    const w = new WireWriter(64 + sql.length * 3 + values.length * 16);
    w.parse('', sql);
    w.bind('', values);
    for (let i = 0; i < this.pipeline; i++) w.execute(FETCH_ROWS);
    if (connection.stream.writable) connection.stream.write(w.finish());
    connection.flush();
    this.inFlight = this.pipeline;
    return null;
  }

  handleRowDescription(): void {}

  /** A DataRow off the socket (byte path). */
  private byteRow(src: Buffer, start: number, _end: number): void {
    if (this.failure || this.synced) return;
    if (this.end.rowCount === 0 && this.pieceRows === 0) this.end.first = dataRowTexts(src, start);
    const mark = this.out.length;
    try {
      encodeDataRow(src, start, this.rowPlan as RowPlan, this.out);
    } catch (error) {
      this.out.truncate(mark);
      this.fail({ kind: 'decode', error, index: 0 });
      return;
    }
    this.pieceRows++;
    if (this.out.length >= STREAM_PIECE_BYTES) this.flushPiece();
  }

  handleDataRow(msg: { fields: Array<string | null> }): void {
    if (this.failure || this.synced) return;
    const fields = msg.fields;
    if (this.end.rowCount === 0 && this.pieceRows === 0) this.end.first = fields.slice();
    try {
      if (this.encoders) this.textRow(fields, this.encoders);
      else this.valueRows.push(fields.map((t, i) => (t === null ? null : (this.decoders[i] as Decoder)(t))));
    } catch (error) {
      this.fail({ kind: 'decode', error, index: 0 });
      return;
    }
    this.pieceRows++;
    if (this.chars >= STREAM_CHUNK_CHARS) this.flushPiece();
  }

  private textRow(fields: Array<string | null>, encoders: JsonEncoder[]): void {
    const parts = this.parts;
    const mark = parts.length;
    let chars = 2;
    try {
      for (let i = 0; i < fields.length; i++) {
        const t = fields[i];
        const v = t === null || t === undefined ? 'null' : (encoders[i] as JsonEncoder)(t);
        const p = this.prefixes[i] as string;
        parts.push(p, v);
        chars += p.length + v.length;
      }
    } catch (err) {
      parts.length = mark;
      throw err;
    }
    if (fields.length === 0) parts.push(this.rowEnd === ']' ? '[' : '{');
    parts.push(this.rowEnd, '\n');
    this.chars += chars;
  }

  /** Hands the rows read so far to the sink. Returns what the sink said (false: it is full). */
  private flushPiece(): boolean {
    if (this.pieceRows === 0) return true;
    let text: string | Buffer;
    if (this.tap) {
      text = this.out.take();
    } else if (this.encoders) {
      text = this.parts.join('');
      this.parts = [];
    } else {
      const rows = buildResult(this.raw(this.valueRows), this.plan.opts, this.plan.typeOf, 0).rows;
      text = '';
      for (const row of rows) text += `${stringifyExact(row)}\n`;
      this.valueRows = [];
    }
    const n = this.pieceRows;
    this.pieceRows = 0;
    this.chars = 0;
    this.end.rowCount += n;
    return this.plan.sink.write(text, n);
  }

  /** The row limit of one Execute was reached: more rows follow when the sink can take them. */
  handlePortalSuspended(): void {
    if (this.inFlight > 0) this.inFlight--;
    if (this.failure || this.synced) return;
    const more = this.flushPiece();
    if (this.plan.sink.signal.aborted) {
      this.sync();
      return;
    }
    if (more) {
      this.next();
      return;
    }
    if (this.waiting) return;
    this.waiting = true;
    const go = () => {
      this.waiting = false;
      this.next();
    };
    this.plan.sink.ready().then(go, go);
  }

  private waiting = false;

  /** Tops the Executes in flight up to PIPELINE. */
  private next(): void {
    if (this.synced || this.failure || this.completed) return;
    if (this.plan.sink.signal.aborted || !this.wire) {
      this.sync();
      return;
    }
    while (this.inFlight < this.pipeline) {
      this.inFlight++;
      if (this.wire.stream.writable) this.wire.stream.write(EXECUTE_FLUSH);
    }
  }

  handleCommandComplete(msg: { text: string }): void {
    if (this.inFlight > 0) this.inFlight--;
    if (this.completed) return;
    this.completed = true;
    if (!this.failure && !this.synced) this.flushPiece();
    const word = TAG_WORD_RE.exec(msg.text)?.[0] ?? '';
    const count = TAG_COUNT_RE.exec(msg.text)?.[1];
    this.end.command = word.toUpperCase();
    this.end.tagCount = count !== undefined ? Number(count) : null;
    this.sync();
  }

  handleEmptyQuery(): void {
    if (this.inFlight > 0) this.inFlight--;
    this.sync();
  }

  handleCopyInResponse(connection: PgWire): void {
    // Refused before sending (COPY FROM STDIN); should the server still ask, the copy is failed.
    connection.sendCopyFail('COPY FROM STDIN is not supported through the gateway');
    this.sync();
  }

  handleCopyData(): void {}

  /** The client went away, a limit was hit, or the idle timeout fired: stop the statement now. */
  private abort(): void {
    if (this.synced || this.settled) return;
    if (this.inFlight > 0 && !this.completed) this.cancelling = this.plan.cancel().catch(() => undefined);
    this.sync();
  }

  /** Ends the round trip: the server answers with ReadyForQuery once the Execute in flight is over. */
  private sync(): void {
    if (this.synced || !this.wire) return;
    this.synced = true;
    this.plan.sink.signal.removeEventListener('abort', this.onAbort);
    this.wire.sync();
  }

  private fail(f: StatementFailure): void {
    if (!this.failure) this.failure = f;
    this.parts = [];
    this.valueRows = [];
    this.out.truncate(0);
    this.sync();
  }

  /** As PgStatement.handleError: a server error is followed by ReadyForQuery (after our Sync). */
  handleError(error: unknown, connection: PgWire): void {
    if (this.settled) return;
    this.inFlight = 0;
    // The rows before the error reach the client, then the error does.
    if (!this.failure && !this.synced) this.flushPiece();
    if (isServerError(error) && error.severity !== 'FATAL' && error.severity !== 'PANIC') {
      this.failure = { kind: 'server', error, index: 0 };
      this.sync();
      const onReady = () => {
        cleanup();
        this.settle();
      };
      const onEnd = () => {
        cleanup();
        this.failure = { kind: 'connection', error, index: 0 };
        this.settle();
      };
      const cleanup = () => {
        connection.removeListener('readyForQuery', onReady);
        connection.removeListener('end', onEnd);
      };
      connection.once('readyForQuery', onReady);
      connection.once('end', onEnd);
      return;
    }
    this.failure = { kind: 'connection', error, index: 0 };
    this.settle();
  }

  handleReadyForQuery(): void {
    this.settle();
  }

  private settle(): void {
    if (this.settled) return;
    this.settled = true;
    this.tap?.remove();
    this.plan.sink.signal.removeEventListener('abort', this.onAbort);
    const finish = () => (this.failure ? this.reject(this.failure) : this.resolve(this.end));
    // A cancel still on its way must not reach the connection's next statement.
    if (this.cancelling) this.cancelling.then(finish);
    else finish();
  }
}
