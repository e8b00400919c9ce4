import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { authorizeBackend } from '../../src/auth/scopes.js';
import type { BeginOptions } from '../../src/backend/dialect.js';
import { prepareStatement } from '../../src/backend/prepare.js';
import type { StorageBackend } from '../../src/backend/storage-backend.js';
import type { QueryResult } from '../../src/backend/types.js';
import type { Config } from '../../src/config.js';
import { SqlgateError } from '../../src/errors.js';
import { parseJsonBody } from '../../src/plugins/json-body.js';
import { type BatchInput, runBatch } from '../../src/query/batch.js';
import { clientSignal } from '../../src/query/client-signal.js';
import { execOptions } from '../../src/query/exec-options.js';
import { acquireFor, runAsPrincipal } from '../../src/query/read-only.js';
import { toSqlgateError } from '../../src/to-sqlgate-error.js';
import { observeBatch } from '../batch.js';
import { exactRows } from './exact-json.js';
import { columnOid, pgText } from './pg-text.js';

/**
 * Neon's SQL-over-HTTP (`POST /sql`), as @neondatabase/serverless's neon() speaks it: the backend from
 * the Neon-Connection-String header's database name, the body `{query, params}` or `{queries: [...]}` (a
 * transaction) sent as text/plain, results as PostgreSQL text with type OIDs, errors as 400 with
 * PostgreSQL's fields. Translation only: execution, auth, scopes, read-only principals, limits and metrics
 * are the /v1 services. @see https://github.com/neondatabase/serverless/blob/main/src/httpQuery.ts
 * @see docs/compat.md
 */

const ISOLATION: Record<string, BeginOptions['isolationLevel']> = {
  ReadUncommitted: 'READ UNCOMMITTED',
  ReadCommitted: 'READ COMMITTED',
  RepeatableRead: 'REPEATABLE READ',
  Serializable: 'SERIALIZABLE',
};

/** Commands whose tag carries a row count (node-postgres gives null for the others). */
const COUNTED = new Set(['SELECT', 'INSERT', 'UPDATE', 'DELETE', 'MERGE', 'COPY', 'FETCH', 'MOVE']);

/** Statuses that keep their meaning for the client (auth, back-off); every other error is Neon's 400. */
const KEEP_STATUS = new Set([401, 403, 413, 429, 500, 503]);

/** A gateway error -> Neon's error body: PostgreSQL's field names, `code` the SQLSTATE when there is one. */
export function neonErrorBody(err: SqlgateError): Record<string, unknown> {
  const d = err.details;
  const code = d.sqlState ?? (err.code === 'RESULT_TOO_LARGE' ? '54000' : err.code);
  const body: Record<string, unknown> = {
    message: err.message,
    code,
    severity: 'ERROR',
    sqlgateCode: err.code,
  };
  if (d.detail !== undefined) body.detail = d.detail;
  if (d.hint !== undefined) body.hint = d.hint;
  if (d.position !== undefined) body.position = String(d.position);
  if (d.table !== undefined) body.table = d.table;
  if (d.column !== undefined) body.column = d.column;
  if (d.constraint !== undefined) body.constraint = d.constraint;
  return body;
}

export function neonErrorHandler(err: unknown, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const e = toSqlgateError(err);
  if (request.server.hasDecorator('metrics')) request.server.metrics.countError(e.code);
  if (e.code === 'INTERNAL') request.log.error({ err: e.cause ?? e }, 'internal error');
  else request.log.info({ code: e.code, dbCode: e.details.dbCode }, 'request failed');
  // A database error is always Neon's 400 with its SQLSTATE (neon() reads error fields only from a 400).
  const status =
    e.details.sqlState === undefined && KEEP_STATUS.has(e.status)
      ? e.status
      : e.status >= 500 && e.details.sqlState === undefined
        ? e.status
        : 400;
  if (e.details.retryAfter !== undefined && (status === 429 || status === 503))
    reply.header('retry-after', String(e.details.retryAfter));
  if (status === 401) reply.header('www-authenticate', 'Bearer realm="sqlgate"');
  return reply.code(status).send(neonErrorBody(e));
}

const bad = (msg: string) => new SqlgateError('BAD_REQUEST', msg);

function header(request: FastifyRequest, name: string): string | undefined {
  const v = request.headers[name];
  if (Array.isArray(v)) throw bad(`send the ${name} header once`);
  return v;
}

function boolHeader(request: FastifyRequest, name: string): boolean | undefined {
  const v = header(request, name);
  if (v === undefined) return undefined;
  if (v === 'true') return true;
  if (v === 'false') return false;
  throw bad(`${name} must be "true" or "false"`);
}

/** The database name of a Neon-Connection-String (postgres:// or postgresql://), decoded. */
export function connectionDatabase(value: string | undefined): string {
  if (value === undefined) throw bad('the Neon-Connection-String header is required');
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw bad('Neon-Connection-String is not a valid URL');
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:')
    throw bad('Neon-Connection-String must be a postgres:// or postgresql:// URL');
  const db = decodeURIComponent(url.pathname.replace(/^\//, ''));
  if (db === '') throw bad('Neon-Connection-String names no database');
  return db;
}

interface NeonQuery {
  query: string;
  params: unknown[];
}

function neonQuery(v: unknown, where: string): NeonQuery {
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw bad(`${where} must be an object`);
  const o = v as Record<string, unknown>;
  if (typeof o.query !== 'string' || o.query === '') throw bad(`${where}.query must be a non-empty string`);
  const params = o.params ?? [];
  if (!Array.isArray(params)) throw bad(`${where}.params must be an array`);
  for (const p of params) {
    if (p !== null && typeof p === 'object')
      throw bad(`${where}.params holds an object; neon() sends every value as text`);
  }
  return { query: o.query, params };
}

function toNeonResult(r: QueryResult, arrayMode: boolean) {
  const fields = r.columns.map((c) => ({
    name: c.name,
    tableID: 0,
    columnID: 0,
    dataTypeID: columnOid(c),
    dataTypeSize: -1,
    dataTypeModifier: -1,
    format: 'text',
  }));
  const textRows = exactRows(r).map((row) => r.columns.map((c, i) => pgText(row[i], c)));
  const rows = arrayMode
    ? textRows
    : textRows.map((row) => Object.fromEntries(r.columns.map((c, i) => [c.name, row[i] ?? null])));
  return {
    fields,
    command: r.command,
    rowCount: COUNTED.has(r.command) ? Math.max(r.rowCount, r.affectedRows) : null,
    rows,
    rowAsArray: arrayMode,
  };
}

export default async function neonSqlRoute(
  app: FastifyInstance,
  { config }: { config: Config },
): Promise<void> {
  app.setErrorHandler(neonErrorHandler);
  // neon() posts its JSON as a string body: text/plain (or no content-type at all from other callers).
  const parse = (
    _req: FastifyRequest,
    body: string | Buffer,
    done: (e: Error | null, v?: unknown) => void,
  ) => {
    try {
      done(null, parseJsonBody(String(body), config.limits.maxJsonDepth));
    } catch (err) {
      done(err as Error);
    }
  };
  app.addContentTypeParser('text/plain', { parseAs: 'string' }, parse);
  app.addContentTypeParser('*', { parseAs: 'string' }, parse);

  const backendFor = (request: FastifyRequest): StorageBackend => {
    const db = connectionDatabase(header(request, 'neon-connection-string'));
    const backend = authorizeBackend(request, app.backends, config.compat.neon.databases[db] ?? db);
    if (!backend.dialect.lexer.numberedPlaceholders) {
      throw new SqlgateError(
        'UNSUPPORTED_FEATURE',
        `backend "${backend.name}" is not PostgreSQL; /sql speaks PostgreSQL only (use /v1 or Hrana)`,
      );
    }
    return backend;
  };

  app.post('/sql', { schema: { hide: true } }, async (request, reply) => {
    const backend = backendFor(request);
    if (boolHeader(request, 'neon-raw-text-output') === false) {
      throw bad('only Neon-Raw-Text-Output: true is supported (values as PostgreSQL text)');
    }
    const arrayMode = boolHeader(request, 'neon-array-mode') ?? false;
    // The batch headers are checked on every request: a malformed header is refused, not ignored.
    const level = header(request, 'neon-batch-isolation-level');
    if (level !== undefined && ISOLATION[level] === undefined)
      throw bad(`Neon-Batch-Isolation-Level must be one of ${Object.keys(ISOLATION).join(', ')}`);
    const readOnly = boolHeader(request, 'neon-batch-read-only');
    const deferrable = boolHeader(request, 'neon-batch-deferrable');
    const body = request.body as Record<string, unknown> | null;
    if (!body || typeof body !== 'object' || Array.isArray(body)) throw bad('the body must be a JSON object');
    const principal = request.principal;
    const signal = clientSignal(reply);

    if (body.queries === undefined) {
      const q = neonQuery(body, 'body');
      const stmt = prepareStatement(backend.dialect, q.query, q.params);
      const opts = execOptions(config.limits, { rowMode: 'array' }, signal, principal.limits?.maxRows);
      const result = await runAsPrincipal(principal, backend, stmt, opts);
      app.metrics.observeResult(backend.name, result);
      return toNeonResult(result, arrayMode);
    }

    if (!Array.isArray(body.queries) || body.queries.length === 0)
      throw bad('queries must be a non-empty array');
    const queries = body.queries.map((q, i) => neonQuery(q, `queries[${i}]`));
    const input: BatchInput = {
      statements: queries.map((q) => ({ sql: q.query, params: q.params })),
      options: { rowMode: 'array' },
    };
    if (level !== undefined) input.isolationLevel = ISOLATION[level];
    if (readOnly !== undefined) input.readOnly = readOnly;
    if (deferrable !== undefined) input.deferrable = deferrable;
    const conn = await acquireFor(principal, backend);
    try {
      const ctx = { limits: config.limits, principalMaxRows: principal.limits?.maxRows, signal };
      const outcome = observeBatch(request, backend.name, input, await runBatch(conn, input, ctx));
      return { results: outcome.results.map((r) => toNeonResult(r as QueryResult, arrayMode)) };
    } finally {
      await conn
        .release()
        .catch((err: unknown) => request.log.warn({ err }, 'releasing a batch connection failed'));
    }
  });
}
