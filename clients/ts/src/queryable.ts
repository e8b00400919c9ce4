import { SqlgateError } from './errors.js';
import type { Transport } from './http.js';
import { decodeResult, type QueryResult, type WireResult, wireInt64 } from './result.js';
import { SqlFragment } from './sql.js';
import { openStream, type RowStream } from './stream.js';
import { type DecodeOptions, encodeParams, type Int64Mode } from './values.js';

/** Per-call options. Each overrides the client's default for this call only. */
export interface QueryOptions {
  /** BIGINT values as numbers when safe (else strings), bigints, or strings. */
  int64?: Int64Mode;
  /** TIMESTAMP as exact ISO strings (default) or `Date`s. */
  timestamps?: 'string' | 'date';
  /** Rows as objects (default) or arrays. */
  rowMode?: 'object' | 'array';
  /** Column -> GenericType, for what the database cannot type (SQLite 0/1 booleans, text dates). */
  columnTypes?: Record<string, string>;
  /** Server-side statement timeout in ms (capped by the gateway's configuration). */
  statementTimeoutMs?: number;
  /** Fewer rows than the gateway's limit; more is an error (RESULT_TOO_LARGE). */
  maxRows?: number;
  /**
   * Numbers inside JSON values that a double cannot hold: kept exact ("exact", the gateway's default; a
   * JSON.parse reader still rounds them) or sent as strings of their exact text ("string").
   */
  jsonNumbers?: 'exact' | 'string';
  /** Client-side deadline for the reply, in ms (TIMEOUT when it passes). */
  timeoutMs?: number;
  /** Cancels the request; the gateway then cancels the query. */
  signal?: AbortSignal;
}

/** One statement of a batch. */
export type BatchStatement =
  | string
  | SqlFragment
  | { sql: string; params?: unknown; options?: Omit<QueryOptions, 'signal' | 'timeoutMs'> };

/** Options of a batch of statements. */
export interface BatchOptions extends QueryOptions {
  /** All-or-nothing (default true). false: each in autocommit, stopping at the first error. */
  transaction?: boolean;
  /** With `transaction: false`: go on past errors; failed entries are SqlgateError values. */
  continueOnError?: boolean;
  /** Isolation level of the batch's transaction. */
  isolationLevel?: IsolationLevel;
  /** Run the batch's transaction read-only. */
  readOnly?: boolean;
}

/** Isolation levels the gateway accepts (an unsupported one fails with UNSUPPORTED_FEATURE). */
export type IsolationLevel = 'READ UNCOMMITTED' | 'READ COMMITTED' | 'REPEATABLE READ' | 'SERIALIZABLE';

/** Shared client defaults. */
export interface Defaults extends DecodeOptions {
  backend?: string | undefined;
}

type Wire = { sql: string; params?: unknown; options?: Record<string, unknown> };

const statementOptions = (o: QueryOptions | undefined, d: Defaults) => {
  const out: Record<string, unknown> = { int64: wireInt64(o?.int64 ?? d.int64) };
  if (o?.rowMode) out.rowMode = o.rowMode;
  if (o?.columnTypes) out.columnTypes = o.columnTypes;
  if (o?.statementTimeoutMs !== undefined) out.timeoutMs = o.statementTimeoutMs;
  if (o?.maxRows !== undefined) out.maxRows = o.maxRows;
  if (o?.jsonNumbers) out.jsonNumbers = o.jsonNumbers;
  return out;
};

const decodeOptions = (o: QueryOptions | undefined, d: Defaults): DecodeOptions => ({
  int64: o?.int64 ?? d.int64,
  timestamps: o?.timestamps ?? d.timestamps,
  decimal: d.decimal,
});

/** execute and batch over one path prefix: the client's autocommit endpoints or a session's. */
export abstract class Queryable {
  constructor(
    protected readonly transport: Transport,
    protected readonly defaults: Defaults,
  ) {}

  /** Where execute/batch go, whether a retry is safe there, and what the body must carry. */
  protected abstract target(kind: 'execute' | 'batch'): { path: string; safe: boolean; extra: object };

  /** Runs one statement. `sql` may be a `sql` fragment (its params are used) or text with `params`. */
  async execute<Row = Record<string, unknown>>(
    sql: string | SqlFragment,
    params?: unknown,
    options?: QueryOptions,
  ): Promise<QueryResult<Row>> {
    const { body, opts } = this.statement(sql, params, options);
    const t = this.target('execute');
    const w = await this.transport.send<WireResult>({
      method: 'POST',
      path: t.path,
      body: { ...t.extra, ...body },
      signal: opts?.signal,
      timeoutMs: opts?.timeoutMs,
      safe: t.safe,
    });
    return decodeResult<Row>(w, decodeOptions(opts, this.defaults), opts?.rowMode === 'array');
  }

  /**
   * Runs one statement and gives its rows as they arrive (NDJSON), decoded as execute decodes them:
   * `for await (const row of await db.stream(sql))`. Resolves once the columns are known; `timeoutMs`
   * covers only that wait (the gateway's `limits.streamIdleTimeoutMs` guards the rest). See RowStream.
   */
  async stream<Row = Record<string, unknown>>(
    sql: string | SqlFragment,
    params?: unknown,
    options?: Omit<QueryOptions, 'maxRows'>,
  ): Promise<RowStream<Row>> {
    const { body, opts } = this.statement(sql, params, options);
    const t = this.target('execute');
    const call = { method: 'POST' as const, path: t.path, body: { ...t.extra, ...body }, safe: t.safe };
    const o = decodeOptions(opts, this.defaults);
    return openStream<Row>(this.transport, { ...call, timeoutMs: opts?.timeoutMs }, o, opts?.rowMode === 'array', opts?.signal);
  }

  /** The wire body of one statement, and the options that apply (a fragment's second argument). */
  private statement(sql: string | SqlFragment, params: unknown, options: QueryOptions | undefined) {
    let opts = options;
    let p = params;
    if (sql instanceof SqlFragment) {
      opts = params as QueryOptions | undefined;
      p = sql.params;
    }
    const body: Wire = { sql: sql instanceof SqlFragment ? sql.sql : sql, options: statementOptions(opts, this.defaults) };
    const encoded = encodeParams(p);
    if (encoded !== undefined) body.params = encoded;
    return { body, opts };
  }

  /**
   * Runs statements in order (atomic by default), or one statement over many parameter sets
   * (`batch(sql, paramSets)`). Returns one result per statement or set.
   */
  async batch(
    statements: readonly BatchStatement[] | string,
    paramSetsOrOptions?: readonly unknown[][] | BatchOptions,
    maybeOptions?: BatchOptions,
  ): Promise<Array<QueryResult | SqlgateError>> {
    const bulk = typeof statements === 'string';
    const o = (bulk ? maybeOptions : (paramSetsOrOptions as BatchOptions | undefined)) ?? {};
    const d = this.defaults;
    let body: Record<string, unknown>;
    let perStatement: Array<QueryOptions | undefined>;
    if (bulk) {
      const sets = (paramSetsOrOptions ?? []) as unknown[][];
      body = { sql: statements, paramSets: sets.map((s) => encodeParams(s)), options: statementOptions(o, d) };
      perStatement = sets.map(() => o);
    } else {
      perStatement = [];
      body = {
        statements: statements.map((s) => {
          const st: { sql: string; params?: unknown; options?: QueryOptions } =
            typeof s === 'string' ? { sql: s } : s instanceof SqlFragment ? { sql: s.sql, params: s.params } : s;
          const so = { ...o, ...st.options };
          perStatement.push(so);
          const w: Wire = { sql: st.sql, options: statementOptions(so, d) };
          const enc = encodeParams(st.params);
          if (enc !== undefined) w.params = enc;
          return w;
        }),
      };
    }
    const atomic = o.transaction ?? true;
    if (!atomic) body.transaction = false;
    if (o.continueOnError) body.continueOnError = true;
    if (o.isolationLevel) body.isolationLevel = o.isolationLevel;
    if (o.readOnly !== undefined) body.readOnly = o.readOnly;
    const t = this.target('batch');
    const res = await this.transport.send<{ results: Array<WireResult | { error: unknown }> }>({
      method: 'POST',
      path: t.path,
      body: { ...t.extra, ...body },
      signal: o.signal,
      timeoutMs: o.timeoutMs,
      safe: t.safe && atomic,
    });
    return res.results.map((r, i) => {
      const so = perStatement[i];
      if ('error' in r) return fromEntry(r, i);
      return decodeResult(r, decodeOptions(so, d), so?.rowMode === 'array');
    });
  }
}

function fromEntry(r: { error: unknown }, i: number): SqlgateError {
  const e = r.error as Record<string, unknown>;
  return new SqlgateError(String(e.code), String(e.message), {
    class: e.class as string | undefined,
    retryable: e.retryable === true,
    sqlState: e.sqlState as string | undefined,
    statementIndex: (e.statementIndex as number | undefined) ?? i,
  });
}
