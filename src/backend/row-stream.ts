import type { Column, ExecOptions } from './types.js';

/**
 * The contract between a backend that streams a result and the one consumer of it (src/query/stream.ts):
 * the backend reads rows from the database a bounded piece at a time, encodes them exactly as a
 * QueryResult's rows would be (row mode, int64, columnTypes), and hands them over as NDJSON text; it reads
 * the next piece only when the consumer says it can take more. Nothing here imports a driver.
 */

/** Rows the consumer has not acknowledged yet, per backend read; small enough that memory stays flat. */
export const STREAM_FETCH_ROWS = 1000;
/** A piece of rows is handed over once its text reaches this many characters, whatever its row count. */
export const STREAM_CHUNK_CHARS = 64 * 1024;
/**
 * Where rows are encoded into a byte buffer (ndjson-out.ts), a piece goes to the socket at this many bytes:
 * fewer, bigger writes (each write wakes the reader), still a small constant whatever the result's size.
 */
export const STREAM_PIECE_BYTES = 128 * 1024;

/** Where a streaming backend puts the result. One per statement. */
export interface RowSink {
  /**
   * The result's columns, exactly as QueryResult.columns would give them. Called once, before any row;
   * a statement without rows (INSERT without RETURNING) may never call it.
   */
  columns(columns: Column[]): void;
  /**
   * Rows as NDJSON: each row's JSON followed by `\n`, `rows` of them in `text`. Returns false when the
   * consumer's buffer is full: the backend must then stop reading from the database until `ready()`
   * resolves. Rows written after `signal` aborted are dropped.
   */
  // A property, not a method: TypeScript then checks implementations strictly, so a sink that only takes
  // strings fails to compile instead of receiving the byte paths' Buffers at run time.
  write: (text: string | Buffer, rows: number) => boolean;
  /** Resolves when the consumer can take more rows again (at once when it can now), or when aborted. */
  ready(): Promise<void>;
  /**
   * Aborted when the stream must end early: the client went away, a stream limit was reached, or the
   * idle timeout fired. The backend then stops the statement at once (cancel request, KILL QUERY, worker
   * stop), leaves its connection clean, and settles; what it settles with is ignored.
   */
  readonly signal: AbortSignal;
}

/** What is known once the statement has ended (the NDJSON trailer). */
export interface StreamSummary {
  /** Rows handed to the sink. */
  rowCount: number;
  affectedRows: number;
  lastInsertId: string | number | null;
  /** The statement's command word, as in QueryResult. */
  command: string;
}

/** Statement options for a stream: as for execute, but row and size limits belong to the consumer. */
export type StreamExecOptions = Omit<ExecOptions, 'maxRows' | 'maxResponseBytes' | 'signal'>;

/** Implemented by connections that can stream (all three backends). */
export interface StreamingConnection {
  /**
   * Runs one statement and streams its rows into `sink` with backpressure. Resolves with the summary when
   * the statement ends; rejects with a SqlgateError when it fails (before or after rows were written).
   * When it settles, the connection is idle and clean again (or closed, `isClosed`), also after an abort.
   * `opts.timeoutMs` is ignored: a stream has the consumer's idle timeout instead of a statement timeout.
   */
  stream(
    stmt: import('./types.js').Statement,
    opts: StreamExecOptions,
    sink: RowSink,
  ): Promise<StreamSummary>;
}
