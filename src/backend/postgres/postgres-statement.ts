import { SqlgateError } from '../../errors.js';
import { approxJsonSize } from '../result-limits.js';
import type { Int64Mode, JsonValue } from '../types.js';
import { isServerError } from './postgres-errors.js';
import type { PgType } from './postgres-types.js';
import { type Decoder, decoderFor } from './postgres-values.js';

/**
 * One round trip on the wire, written as a pg "Submittable" so the gateway controls the protocol itself:
 *
 * - extended protocol: Parse (unnamed) once, then Bind/Describe/Execute for every parameter set, then one
 *   Sync. Several sets are thus pipelined in one write, and the server stops at the first error (the rest
 *   is skipped up to the Sync), which gives the failing set's index for free;
 * - Execute carries a row limit of maxRows + 1, so an oversized result is stopped by the server
 *   (PortalSuspended), not drained;
 * - rows arrive as the server's text and are decoded here straight into JSON values (no pg type parsers);
 * - simple protocol for transaction control (`run`), whose rows are ignored.
 *
 * pg hands an ErrorResponse to the query before the ReadyForQuery that follows it; the promise settles only
 * after that ReadyForQuery, so the transaction status the connection reports afterwards is current.
 * @see https://www.postgresql.org/docs/15/protocol-flow.html#PROTOCOL-FLOW-EXT-QUERY
 */

/** The parts of pg's Connection this file writes to (hand-written: @types/pg does not describe them). */
export interface PgWire {
  parse(msg: { text: string; name?: string; types?: number[] }): void;
  bind(msg: {
    portal?: string;
    statement?: string;
    values: Array<string | Buffer | null>;
    binary?: boolean;
  }): void;
  describe(msg: { type: 'P' | 'S'; name?: string }): void;
  execute(msg: { portal?: string; rows?: number }): void;
  sync(): void;
  query(text: string): void;
  sendCopyFail(message: string): void;
  stream: { cork?: () => void; uncork?: () => void; destroy?: () => void };
  once(event: string, listener: (...args: unknown[]) => void): unknown;
  removeListener(event: string, listener: (...args: unknown[]) => void): unknown;
}

interface FieldDescription {
  name: string;
  dataTypeID: number;
}

/** The outcome of one parameter set (or the one simple query). */
export interface RawResult {
  fields: FieldDescription[];
  /** Type of each column; UNKNOWN when the OID was not known yet (the values are then raw text). */
  types: Array<PgType | undefined>;
  rows: JsonValue[][];
  /** First word of the command tag: SELECT, INSERT, CREATE, ... ('' for an empty query). */
  command: string;
  /** The row count in the command tag, when it has one. */
  tagCount: number | null;
}

export interface StatementPlan {
  sql: string;
  /** Extended protocol: one entry per set. Undefined: simple protocol, rows ignored. */
  paramSets?: Array<Array<string | Buffer | null>>;
  /** Rows allowed per set; 0 = unlimited. */
  maxRows: number;
  /** Encoded bytes allowed over all sets; 0 = unlimited. */
  maxBytes: number;
  int64: Int64Mode;
  /** Known types by OID (built-ins and the backend's catalog cache). */
  typeOf(oid: number): PgType | undefined;
}

/** Why a statement did not produce a result. */
export type StatementFailure =
  | { kind: 'server'; error: unknown; index: number }
  | { kind: 'connection'; error: unknown; index: number }
  | { kind: 'decode'; error: unknown; index: number }
  | { kind: 'tooLarge'; what: 'maxRows' | 'maxResponseBytes'; index: number };

/** Command tags: `SELECT 5`, `INSERT 0 1`, `UPDATE 2`, `CREATE TABLE`, `BEGIN`. */
const TAG_WORD_RE = /^[A-Za-z]+/;
const TAG_COUNT_RE = / (\d+)$/;

const identity: Decoder = (t) => t;

export class PgStatement {
  readonly results: RawResult[] = [];
  /** Settles after the ReadyForQuery that ends the round trip (or when the connection is lost). */
  readonly done: Promise<RawResult[]>;
  private resolve!: (r: RawResult[]) => void;
  private reject!: (f: StatementFailure) => void;
  private current: RawResult | null = null;
  private decoders: Decoder[] = [];
  private failure: StatementFailure | null = null;
  private bytes = 0;
  private settled = false;

  constructor(private readonly plan: StatementPlan) {
    this.done = new Promise<RawResult[]>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
    // The owner awaits `done`; never let a rejection here count as unhandled before it does.
    this.done.catch(() => {});
  }

  /** Called by pg when the connection is free; writes every message of the round trip in one go. */
  submit(connection: PgWire): null {
    const { sql, paramSets, maxRows } = this.plan;
    if (!paramSets) {
      connection.query(sql);
      return null;
    }
    // maxRows + 1: exactly maxRows rows must not look like "more than maxRows".
    const limit = maxRows > 0 && maxRows < 0x7fffffff ? maxRows + 1 : 0;
    connection.stream.cork?.();
    try {
      connection.parse({ text: sql, name: '', types: [] });
      for (const values of paramSets) {
        connection.bind({ portal: '', statement: '', values, binary: false });
        connection.describe({ type: 'P', name: '' });
        connection.execute({ portal: '', rows: limit });
      }
      connection.sync();
    } finally {
      connection.stream.uncork?.();
    }
    return null;
  }

  private begin(fields: FieldDescription[]): RawResult {
    const types = fields.map((f) => this.plan.typeOf(f.dataTypeID));
    this.decoders = types.map((t) => (t ? decoderFor(t, this.plan.int64) : identity));
    const r: RawResult = { fields, types, rows: [], command: '', tagCount: null };
    this.current = r;
    return r;
  }

  private finish(command: string, tagCount: number | null): void {
    const r = this.current ?? { fields: [], types: [], rows: [], command: '', tagCount: null };
    r.command = command;
    r.tagCount = tagCount;
    this.results.push(r);
    this.current = null;
  }

  handleRowDescription(msg: { fields: FieldDescription[] }): void {
    this.begin(msg.fields);
  }

  handleDataRow(msg: { fields: Array<string | null> }): void {
    const r = this.current;
    if (!r || this.failure || !this.plan.paramSets) return;
    if (this.plan.maxRows > 0 && r.rows.length >= this.plan.maxRows) {
      this.fail({ kind: 'tooLarge', what: 'maxRows', index: this.results.length });
      return;
    }
    const fields = msg.fields;
    const row: JsonValue[] = new Array(fields.length);
    try {
      for (let i = 0; i < fields.length; i++) {
        const text = fields[i];
        const v = text === null || text === undefined ? null : (this.decoders[i] as Decoder)(text);
        this.bytes += approxJsonSize(v);
        row[i] = v;
      }
    } catch (error) {
      this.fail({ kind: 'decode', error, index: this.results.length });
      return;
    }
    if (this.plan.maxBytes > 0 && this.bytes > this.plan.maxBytes) {
      this.fail({ kind: 'tooLarge', what: 'maxResponseBytes', index: this.results.length });
      return;
    }
    r.rows.push(row);
  }

  handleCommandComplete(msg: { text: string }): void {
    const word = TAG_WORD_RE.exec(msg.text)?.[0] ?? '';
    const count = TAG_COUNT_RE.exec(msg.text)?.[1];
    this.finish(word.toUpperCase(), count !== undefined ? Number(count) : null);
  }

  /** The row limit was reached: more rows exist than maxRows. */
  handlePortalSuspended(): void {
    if (!this.failure) this.fail({ kind: 'tooLarge', what: 'maxRows', index: this.results.length });
    this.finish('', null);
  }

  handleEmptyQuery(): void {
    this.finish('', null);
  }

  /**
   * COPY FROM STDIN (normally refused before sending): fail the copy. The server ignores a Sync that
   * arrives during copy-in, so the extended protocol needs another one after CopyFail. With several sets,
   * the messages queued behind the first were protocol violations to the server: the connection's state
   * is unknowable and it is closed.
   */
  handleCopyInResponse(connection: PgWire): void {
    this.failure ??= {
      kind: 'server',
      error: new SqlgateError('UNSUPPORTED_FEATURE', 'COPY FROM STDIN is not supported through the gateway'),
      index: this.results.length,
    };
    connection.sendCopyFail('COPY FROM STDIN is not supported through the gateway');
    if (!this.plan.paramSets) return;
    if (this.plan.paramSets.length > 1) {
      connection.stream.destroy?.();
      return;
    }
    connection.sync();
  }

  handleCopyData(): void {
    // COPY TO STDOUT: the data is not part of a QueryResult; only the command tag counts.
  }

  /**
   * An ErrorResponse (then ReadyForQuery follows, unless it was FATAL) or a connection error (nothing
   * follows). pg has already forgotten this query as its active one, so ReadyForQuery is awaited directly.
   */
  handleError(error: unknown, connection: PgWire): void {
    if (this.settled) return;
    const index = this.results.length;
    if (isServerError(error) && error.severity !== 'FATAL' && error.severity !== 'PANIC') {
      const failure: StatementFailure = this.failure ?? { kind: 'server', error, index };
      if (this.failure?.kind === 'tooLarge' || this.failure?.kind === 'decode') {
        // The server error is what happened to the statement; it wins over a local limit.
        this.failure = { kind: 'server', error, index };
      } else {
        this.failure = failure;
      }
      const onReady = () => {
        cleanup();
        this.settle();
      };
      const onEnd = () => {
        cleanup();
        this.failure = { kind: 'connection', error, index };
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
    this.failure = { kind: 'connection', error, index };
    this.settle();
  }

  handleReadyForQuery(): void {
    this.settle();
  }

  private fail(f: StatementFailure): void {
    if (!this.failure) this.failure = f;
    // Free what was collected; nothing of it will be returned.
    if (this.current) this.current.rows = [];
    for (const r of this.results) r.rows = [];
  }

  private settle(): void {
    if (this.settled) return;
    this.settled = true;
    if (this.failure) this.reject(this.failure);
    else this.resolve(this.results);
  }
}
