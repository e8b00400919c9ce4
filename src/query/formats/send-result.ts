import type { FastifyReply, FastifyRequest, onRequestHookHandler } from 'fastify';
import { stringifyExact } from '../../backend/json-text.js';
import type { QueryResult } from '../../backend/types.js';
import type { PlanInfo } from '../explain.js';
import { csvBytes } from './csv.js';
import { FORMAT_CONTENT_TYPES, flagParam, negotiateFormat, type ResponseFormat } from './negotiate.js';
import { stringifyQueryResult } from './query-result-json.js';
import { serverTiming } from './server-timing.js';
import { DEFAULT_MAX_WIDTH } from './text-table.js';
import { textTableBytes } from './text-table-bytes.js';

/**
 * The one hook the statement routes need for output formats: `onRequest: negotiateFormatHook` picks the
 * format (406 NOT_ACCEPTABLE before anything runs), and the handler answers with `sendResult`. The error
 * handler asks `requestedFormat` whether an error should be a line of text instead of JSON.
 */

const formats = new WeakMap<FastifyRequest, ResponseFormat>();

/** The query parameters every statement route understands (see FormatQuerySchema in routes/schemas.ts). */
export interface FormatQuery {
  format?: string;
  pretty?: string;
  maxWidth?: string;
}

/** onRequest hook: negotiates the format from `?format=` or `Accept`; a 406 error when none fits. */
export const negotiateFormatHook: onRequestHookHandler = (request, _reply, done) => {
  try {
    formats.set(request, negotiateFormat(request.headers.accept, (request.query as FormatQuery)?.format));
    done();
  } catch (err) {
    done(err as Error);
  }
};

/** The format negotiated for this request; undefined on routes without the hook (or before it ran). */
export function requestedFormat(request: FastifyRequest): ResponseFormat | undefined {
  return formats.get(request);
}

/**
 * True when the negotiated format is NDJSON: the execute routes then stream the rows (src/query/stream.ts).
 * Negotiated like the other formats, so `Accept: text/csv, application/x-ndjson;q=0.1` gets CSV.
 */
export function streamsRows(request: FastifyRequest): boolean {
  return formats.get(request) === 'ndjson';
}

/** True when errors of this request are sent as one line of text (the client asked for CSV or a table). */
export function wantsTextErrors(request: FastifyRequest): boolean {
  const f = formats.get(request);
  return f === 'csv' || f === 'text';
}

/** Milliseconds rounded to the microsecond: 0.6937889999999243 -> 0.694. */
export function roundMs(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}

const pickColumns = (r: QueryResult) =>
  r.columns.map((c) => ({ name: c.name, type: c.type, dbType: c.dbType, nullable: c.nullable }));

function jsonBody(result: QueryResult, pretty: boolean): string {
  const plan = (result as QueryResult & { plan?: PlanInfo }).plan;
  if (!pretty && plan === undefined) return stringifyQueryResult(result);
  const body = {
    columns: pickColumns(result),
    rows: result.rows,
    rowCount: result.rowCount,
    affectedRows: result.affectedRows,
    lastInsertId: result.lastInsertId,
    command: result.command,
    durationMs: result.durationMs,
    ...(plan !== undefined ? { plan } : {}),
  };
  return pretty ? `${stringifyExact(body, 2)}\n` : stringifyExact(body);
}

function maxWidthOf(query: FormatQuery | undefined): number {
  const n = Number(query?.maxWidth);
  return Number.isInteger(n) && n >= 4 ? n : DEFAULT_MAX_WIDTH;
}

/** Wall-clock marks of one statement request, for the Server-Timing header. */
export interface StatementTiming {
  /** Filled by the backend (ExecOptions.timing) or the session queue: waiting for a connection. */
  queueMs: number;
}

/**
 * Sends a QueryResult in the negotiated format, with `durationMs` rounded to µs and a `Server-Timing`
 * header: `queue` (waiting for a connection or the session's turn), `db` (the statement, as the backend
 * measured it) and `ser` (turning the result into the body).
 */
export function sendResult(
  request: FastifyRequest,
  reply: FastifyReply,
  result: QueryResult,
  timing: StatementTiming,
): FastifyReply {
  const format = formats.get(request) ?? 'json';
  const query = request.query as FormatQuery | undefined;
  result.durationMs = roundMs(result.durationMs);
  const started = performance.now();
  let payload: string | Buffer;
  // CSV and the table are written as UTF-8 bytes directly (cell-grid.ts); JSON is one string, turned into
  // bytes in one pass when large (see asPayload in serializer-compiler.ts).
  if (format === 'csv') payload = csvBytes(result);
  else if (format === 'text') payload = textTableBytes(result, { maxWidth: maxWidthOf(query) });
  else {
    const body = jsonBody(result, flagParam(query?.pretty));
    payload = body.length > 64 * 1024 ? Buffer.from(body) : body;
  }
  const serMs = performance.now() - started;
  reply.header('server-timing', serverTiming({ queueMs: timing.queueMs, dbMs: result.durationMs, serMs }));
  // NDJSON is accepted for the streaming handler; a result that reaches here is answered as JSON.
  reply.type(FORMAT_CONTENT_TYPES[format === 'ndjson' ? 'json' : format]);
  if (format === 'csv') reply.header('content-security-policy', "default-src 'none'; frame-ancestors 'none'");
  return reply.send(payload);
}
