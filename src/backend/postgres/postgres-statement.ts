import { SqlgateError } from '../../errors.js';
import { approxJsonSize } from '../result-limits.js';
import type { Int64Mode, JsonNumbersMode, JsonValue, RowMode } from '../types.js';
import { type PgWire, pgDestroySocket, pgWriteRaw } from './pg-internals.js';
import { isServerError } from './postgres-errors.js';
import type { FieldDescription } from './postgres-statement-cache.js';
import type { PgType } from './postgres-types.js';
import { type Decoder, decoderFor, type JsonEncoder, jsonEncoderFor } from './postgres-values.js';
import { WireWriter } from './postgres-wire.js';

/**
 * One round trip on the wire, written as a pg "Submittable" so the gateway controls the protocol itself:
 *
 * - extended protocol: Close for evicted prepared statements, Parse + Describe (statement) once unless the
 *   named statement is prepared already, then Bind/Execute for every parameter set, then one Sync. Several
 *   sets are thus pipelined in one write, and the server stops at the first error (the rest is skipped up to
 *   the Sync), which gives the failing set's index for free. A prepared statement's result columns cannot
 *   change (the server refuses to run it instead), so one RowDescription serves every set and every later
 *   run of a named statement;
 * - Execute carries a row limit of maxRows + 1, so an oversized result is stopped by the server
 *   (PortalSuspended), not drained;
 * - rows arrive as the server's text and are decoded here, with no pg type parsers, either straight into
 *   the rows' JSON text (`json`: no per-row objects; the response splices the text in) or, when the result
 *   must be worked on afterwards (columnTypes coercion, types still unknown, duplicate column names), into
 *   JSON values;
 * - simple protocol for transaction control (`run`), whose rows are ignored.
 *
 * pg hands an ErrorResponse to the query before the ReadyForQuery that follows it; the promise settles only
 * after that ReadyForQuery, so the transaction status the connection reports afterwards is current.
 * @see https://www.postgresql.org/docs/15/protocol-flow.html#PROTOCOL-FLOW-EXT-QUERY
 */

/** pg's Connection as this file drives it; its private members are all listed in pg-internals.ts. */
export type { PgWire } from './pg-internals.js';

/** The outcome of one parameter set (or the one simple query). */
export interface RawResult {
  fields: FieldDescription[];
  /** Type of each column; UNKNOWN when the OID was not known yet (the values are then raw text). */
  types: Array<PgType | undefined>;
  /** Decoded rows, unless they went into `json`. */
  rows: JsonValue[][];
  /** The rows as JSON text, comma-separated, in chunks to concatenate; `rows` is then empty. */
  json: string[] | undefined;
  rowCount: number;
  /** The first column of the first row, decoded (for lastInsertId), when the rows went into `json`. */
  first: JsonValue;
  /** First word of the command tag: SELECT, INSERT, CREATE, ... ('' for an empty query). */
  command: string;
  /** The row count in the command tag, when it has one. */
  tagCount: number | null;
}

export interface StatementPlan {
  sql: string;
  /** Extended protocol: one entry per set. Undefined: simple protocol, rows ignored. */
  paramSets?: Array<Array<string | Buffer | null>>;
  /** The server-side statement name; '' for the unnamed statement. */
  name?: string;
  /** The named statement is prepared already and these are its columns: no Parse, no Describe. */
  prepared?: FieldDescription[];
  /** Prepared statements to Close before anything else. */
  close?: string[];
  /** Rows may be delivered as JSON text in this shape (undefined: always as values). */
  jsonRows?: RowMode;
  /** Rows allowed per set; 0 = unlimited. */
  maxRows: number;
  /** Encoded bytes allowed over all sets; 0 = unlimited. */
  maxBytes: number;
  int64: Int64Mode;
  /** Numbers inside json/jsonb values; default `exact` (json-text.ts). */
  jsonNumbers?: JsonNumbersMode;
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
/** Rows of JSON text joined into one flat string at a time. */
const CHUNK_ROWS = 64;

/** `{"a":` `,"b":` ... (object rows) or `[` `,` ... (array rows): what precedes each value in a row's text. */
function rowPrefixes(fields: FieldDescription[], mode: RowMode): string[] | undefined {
  if (mode === 'array') return fields.map((_, i) => (i === 0 ? '[' : ','));
  const names = new Set(fields.map((f) => f.name));
  // Duplicate names: the last value wins in an object, which the text form cannot say; values it is.
  if (names.size !== fields.length) return undefined;
  return fields.map((f, i) => (i === 0 ? '{' : ',') + JSON.stringify(f.name) + ':');
}

export class PgStatement {
  readonly results: RawResult[] = [];
  /** Settles after the ReadyForQuery that ends the round trip (or when the connection is lost). */
  readonly done: Promise<RawResult[]>;
  private resolve!: (r: RawResult[]) => void;
  private reject!: (f: StatementFailure) => void;
  private current: RawResult | null = null;
  /** The statement's columns (from its Describe, or remembered for a prepared statement). */
  private fields: FieldDescription[] = [];
  private types: Array<PgType | undefined> = [];
  private decoders: Decoder[] = [];
  /** Set when rows become JSON text: the encoders and the text before each value. */
  private encoders: JsonEncoder[] | undefined;
  private prefixes: string[] = [];
  private rowEnd = '';
  /** Characters of a row's text besides its values (prefixes, brackets, the comma before it). */
  private rowChars = 0;
  private lastTag: { text: string; command: string; count: number | null } = {
    text: '',
    command: '',
    count: null,
  };
  /** The current result's JSON pieces since the last chunk was joined. */
  private readonly parts: string[] = [];
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
    if (plan.prepared) this.describe(plan.prepared);
  }

  /** The statement's result columns as the server described them ([] when it has none). */
  get statementFields(): FieldDescription[] {
    return this.fields;
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
    const name = this.plan.name ?? '';
    let bytes: Buffer;
    try {
      const w = new WireWriter(Math.min(1 << 20, 64 + sql.length * 3 + paramSets.length * 64));
      for (const old of this.plan.close ?? []) w.closeStatement(old);
      if (!this.plan.prepared) {
        w.parse(name, sql);
        w.describeStatement(name);
      }
      for (const values of paramSets) {
        w.bind(name, values);
        w.execute(limit);
      }
      w.sync();
      bytes = w.finish();
    } catch (error) {
      // Nothing was written: a lone Sync gets the ReadyForQuery pg waits for, so the connection stays in
      // step with the server and the statement fails with the gateway's own error (INTERNAL).
      this.failure = { kind: 'decode', error, index: 0 };
      const w = new WireWriter(8);
      w.sync();
      bytes = w.finish();
    }
    // What pg's own sends do: a socket that is no longer writable fails the query through its error events.
    pgWriteRaw(connection, bytes);
    return null;
  }

  /** The statement's columns are known: decoders for them, and whether rows can become JSON text. */
  private describe(fields: FieldDescription[]): void {
    this.fields = fields;
    const { int64, jsonRows, jsonNumbers } = this.plan;
    const types = fields.map((f) => this.plan.typeOf(f.dataTypeID));
    this.types = types;
    this.decoders = types.map((t) => (t ? decoderFor(t, int64, jsonNumbers) : identity));
    const prefixes = jsonRows && types.every((t) => t) ? rowPrefixes(fields, jsonRows) : undefined;
    this.encoders = prefixes && types.map((t) => jsonEncoderFor(t as PgType, int64, jsonNumbers));
    this.prefixes = prefixes ?? [];
    this.rowEnd = jsonRows === 'array' ? ']' : '}';
    this.rowChars = this.prefixes.reduce((n, p) => n + p.length, 2);
  }

  /** A new result for the next set, with the statement's columns. */
  private begin(): RawResult {
    const json = this.encoders ? [] : undefined;
    const r: RawResult = {
      fields: this.fields,
      types: this.types,
      rows: [],
      json,
      rowCount: 0,
      first: null,
      command: '',
      tagCount: null,
    };
    this.current = r;
    return r;
  }

  private finish(command: string, tagCount: number | null): void {
    const r = this.current ?? this.begin();
    this.flushParts(r);
    r.command = command;
    r.tagCount = tagCount;
    this.results.push(r);
    this.current = null;
  }

  /** The statement Describe's answer (the simple protocol's RowDescriptions are not needed). */
  handleRowDescription(msg: { fields: FieldDescription[] }): void {
    if (this.plan.paramSets) this.describe(msg.fields);
  }

  handleDataRow(msg: { fields: Array<string | null> }): void {
    if (this.failure || !this.plan.paramSets) return;
    const r = this.current ?? this.begin();
    if (this.plan.maxRows > 0 && r.rowCount >= this.plan.maxRows) {
      this.fail({ kind: 'tooLarge', what: 'maxRows', index: this.results.length });
      return;
    }
    const fields = msg.fields;
    const encoders = this.encoders;
    if (encoders) {
      this.textRow(r, fields, encoders);
      return;
    }
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
    r.rowCount++;
  }

  /**
   * One row straight into the result's JSON text. The pieces are collected flat and joined every
   * CHUNK_ROWS rows: a string built with `+=` per row is a tree of small strings that holds on to every
   * field's text, and 10,000 of those kept alive until the end made the garbage collector the top cost.
   */
  private textRow(r: RawResult, fields: Array<string | null>, encoders: JsonEncoder[]): void {
    const prefixes = this.prefixes;
    const parts = this.parts;
    const mark = parts.length;
    let size = this.rowChars;
    try {
      if (r.rowCount === 0 && fields.length > 0) {
        const t = fields[0];
        r.first = t === null || t === undefined ? null : (this.decoders[0] as Decoder)(t);
      }
      if (r.rowCount > 0) parts.push(',');
      for (let i = 0; i < fields.length; i++) {
        const text = fields[i];
        const v = text === null || text === undefined ? 'null' : (encoders[i] as JsonEncoder)(text);
        parts.push(prefixes[i] as string, v);
        size += v.length;
      }
    } catch (error) {
      parts.length = mark;
      this.fail({ kind: 'decode', error, index: this.results.length });
      return;
    }
    if (fields.length === 0) parts.push(this.rowEnd === ']' ? '[' : '{');
    parts.push(this.rowEnd);
    this.bytes += size;
    if (this.plan.maxBytes > 0 && this.bytes > this.plan.maxBytes) {
      parts.length = 0;
      this.fail({ kind: 'tooLarge', what: 'maxResponseBytes', index: this.results.length });
      return;
    }
    r.rowCount++;
    if (r.rowCount % CHUNK_ROWS === 0) this.flushParts(r);
  }

  private flushParts(r: RawResult): void {
    if (this.parts.length === 0) return;
    r.json?.push(this.parts.join(''));
    this.parts.length = 0;
  }

  handleCommandComplete(msg: { text: string }): void {
    // A batch gets the same tag (`INSERT 0 1`) thousands of times: read it once.
    if (msg.text !== this.lastTag.text) {
      const word = TAG_WORD_RE.exec(msg.text)?.[0] ?? '';
      const count = TAG_COUNT_RE.exec(msg.text)?.[1];
      this.lastTag = {
        text: msg.text,
        command: word.toUpperCase(),
        count: count !== undefined ? Number(count) : null,
      };
    }
    this.finish(this.lastTag.command, this.lastTag.count);
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
      pgDestroySocket(connection);
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
    this.parts.length = 0;
    if (this.current) {
      this.current.rows = [];
      if (this.current.json) this.current.json = [];
    }
    for (const r of this.results) {
      r.rows = [];
      if (r.json) r.json = [];
    }
  }

  private settle(): void {
    if (this.settled) return;
    this.settled = true;
    if (this.failure) this.reject(this.failure);
    else this.resolve(this.results);
  }
}
