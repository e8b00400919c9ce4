import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { authorizeBackend } from '../../src/auth/scopes.js';
import { leadingKeyword } from '../../src/backend/sql-lexer.js';
import type { Connection, StorageBackend } from '../../src/backend/storage-backend.js';
import { TransactionManager } from '../../src/backend/transaction-manager.js';
import type { Config } from '../../src/config.js';
import { SqlgateError } from '../../src/errors.js';
import { clientSignal } from '../../src/query/client-signal.js';
import { execOptions } from '../../src/query/exec-options.js';
import { acquireFor, runAsPrincipal } from '../../src/query/read-only.js';
import { streamLimits } from '../../src/query/stream.js';
import type { Session } from '../../src/sessions/session.js';
import { toSqlgateError } from '../../src/to-sqlgate-error.js';
import { BatonRegistry } from './batons.js';
import { streamCursor } from './hrana-cursor.js';
import {
  type HranaRequest,
  type HranaStmt,
  type PipelineLimits,
  parseCursor,
  parsePipeline,
} from './hrana-requests.js';
import {
  compileHranaStmt,
  err as errorResult,
  LIBSQL_BEGIN,
  runRequest,
  type StreamResult,
  type StreamTarget,
} from './hrana-stream.js';
import { HranaProtocolError, toHranaError, toStmtResult } from './hrana-values.js';

/**
 * Hrana over HTTP (libSQL / sqld HTTP API v2 and v3, JSON encoding): POST /v2/pipeline, /v3/pipeline and
 * the GET /v2, /v3 probes, for the configured backend at the root and for any backend under
 * /hrana/<backend>/. Protocol translation only: statements run through the backends and the session store
 * exactly as /v1 runs them (auth, scopes, read-only principals, limits, metrics).
 * @see https://github.com/tursodatabase/libsql/blob/main/docs/HTTP_V2_SPEC.md
 * @see docs/compat.md
 */

/** The libsql client reads an error body only when its content-type is exactly this (no charset). */
const JSON_TYPE = 'application/json';

function sendJson(reply: FastifyReply, status: number, body: unknown): FastifyReply {
  return reply.code(status).type(JSON_TYPE).send(JSON.stringify(body));
}

/** Anything thrown on a Hrana route -> `{message, code}` with the HTTP status of its gateway code. */
export function hranaErrorHandler(err: unknown, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  if (err instanceof HranaProtocolError) {
    request.log.info({ code: err.code }, 'hrana request refused');
    return sendJson(reply, err.status, { message: err.message, code: err.code });
  }
  const e = toSqlgateError(err);
  if (request.server.hasDecorator('metrics')) request.server.metrics.countError(e.code);
  if (e.code === 'INTERNAL') request.log.error({ err: e.cause ?? e }, 'internal error');
  else request.log.info({ code: e.code, dbCode: e.details.dbCode }, 'request failed');
  if (e.details.retryAfter !== undefined) reply.header('retry-after', String(e.details.retryAfter));
  if (e.status === 401) reply.header('www-authenticate', 'Bearer realm="sqlgate"');
  return sendJson(reply, e.status, toHranaError(e));
}

/** Session errors on a baton -> the stream errors a libsql client knows. */
function streamError(err: unknown): unknown {
  if (err instanceof SqlgateError) {
    if (err.code === 'SESSION_EXPIRED') return new HranaProtocolError(err.message, 'STREAM_EXPIRED');
    if (err.code === 'SESSION_NOT_FOUND')
      return new HranaProtocolError('the baton is not valid', 'BATON_INVALID');
  }
  return err;
}

export interface HranaRouteOptions {
  config: Config;
}

export default async function hranaRoutes(
  app: FastifyInstance,
  { config }: HranaRouteOptions,
): Promise<void> {
  const store = app.sessions;
  const batons = new BatonRegistry(store);
  const limits = config.limits;
  app.setErrorHandler(hranaErrorHandler);
  // Fastify appends `; charset=utf-8` to a JSON type when the reply is sent; the libsql client then reads
  // no error body at all. Set back here, after serialization, right before the headers are written.
  app.addHook('onSend', (_request, reply, payload, done) => {
    const type = reply.getHeader('content-type');
    if (typeof type === 'string' && type.startsWith(JSON_TYPE)) reply.header('content-type', JSON_TYPE);
    done(null, payload);
  });

  const targetFor = (
    request: FastifyRequest,
    backend: StorageBackend,
    conn: Connection,
    sqls: Map<number, string>,
    signal: AbortSignal,
    session?: Session,
  ): StreamTarget => ({
    dialect: conn.dialect,
    execute: (stmt, opts) => (session ? session.execute(stmt, opts) : conn.execute(stmt, opts)),
    txStatus: () => conn.txStatus(),
    sqls,
    opts: execOptions(
      limits,
      { rowMode: 'array', int64: 'string' },
      signal,
      request.principal.limits?.maxRows,
    ),
    observe: (r) => app.metrics.observeResult(backend.name, r),
    tm: session ? session.tm : new TransactionManager(conn),
    ...(session && { stream: (stmt, opts, sink) => session.stream(stmt, opts, sink) }),
  });

  const runAll = async (target: StreamTarget, requests: HranaRequest[]): Promise<StreamResult[]> => {
    const results: StreamResult[] = [];
    let closed = false;
    for (const req of requests) {
      if (closed) {
        results.push({ type: 'error', error: { message: 'the stream is closed', code: 'STREAM_CLOSED' } });
        continue;
      }
      results.push(await runRequest(target, req));
      if (req.type === 'close') closed = true;
    }
    return results;
  };

  const runOneShot = async (
    request: FastifyRequest,
    backend: StorageBackend,
    src: HranaStmt,
    signal: AbortSignal,
  ): Promise<StreamResult> => {
    try {
      const stmt = compileHranaStmt({ dialect: backend.dialect, sqls: new Map() }, src);
      const opts = execOptions(
        limits,
        { rowMode: 'array', int64: 'string' },
        signal,
        request.principal.limits?.maxRows,
      );
      const result = await runAsPrincipal(request.principal, backend, stmt, opts);
      app.metrics.observeResult(backend.name, result);
      return {
        type: 'ok',
        response: { type: 'execute', result: toStmtResult(result, src.want_rows ?? true) },
      };
    } catch (e) {
      if (e instanceof HranaProtocolError)
        return { type: 'error', error: { message: e.message, code: e.code } };
      return errorResult(e);
    }
  };

  /**
   * Runs `fn` on a stream's session and ends the stream when the client went away meanwhile (its
   * connection closed): it never got the reply that carries the next baton (or left a cursor halfway),
   * and the libsql clients close a stream whose request failed. So the statement is cancelled (the signal
   * is in its options), the transaction rolled back and the connection released now, not at the idle
   * timeout. Runs inside the session's queue.
   */
  const lostClient = async <T>(s: Session, signal: AbortSignal, fn: () => Promise<T>): Promise<T> => {
    try {
      return await fn();
    } finally {
      if (signal.aborted) await store.end(s, 'connection lost', true);
    }
  };

  /** Ends the stream of a baton a refused pipeline carried, so a bad request leaves nothing open. */
  const closeQuietly = async (request: FastifyRequest): Promise<void> => {
    const baton = (request.body as { baton?: unknown } | null)?.baton;
    if (typeof baton !== 'string') return;
    try {
      const id = batons.redeem(baton);
      await store.runAndClose(id, request.principal, 'closed by the client', async () => undefined);
    } catch {
      // not a live stream of this caller: nothing to close
    }
  };

  const pipeline = async (
    request: FastifyRequest,
    reply: FastifyReply,
    version: 2 | 3,
    backendName: string | undefined,
  ) => {
    const lim: PipelineLimits = {
      maxRequests: config.compat.hrana.maxPipelineRequests,
      maxSteps: limits.maxBatchStatements,
      version,
    };
    let body: ReturnType<typeof parsePipeline>;
    try {
      body = parsePipeline(request.body, lim);
    } catch (err) {
      await closeQuietly(request);
      throw err;
    }
    const backend = authorizeBackend(request, app.backends, backendName);
    const principal = request.principal;
    const closes = body.requests.some((r) => r.type === 'close');
    // Fires when the client's connection closes: the running statement is cancelled (see lostClient).
    const signal = clientSignal(reply);

    const single = body.baton === null ? oneShotStatement(body.requests) : null;
    if (single) {
      // client.execute(): one statement and close. Run exactly as POST /v1/execute runs it (a pooled
      // connection in autocommit, read-only principals as there), without pinning a connection.
      return sendJson(reply, 200, {
        baton: null,
        base_url: null,
        results: [
          await runOneShot(request, backend, single, signal),
          { type: 'ok', response: { type: 'close' } },
        ],
      });
    }

    if (body.baton === null && closes) {
      // A one-shot stream (client.execute, batch, executeMultiple): a pinned connection for this request only.
      const conn = await acquireFor(principal, backend, { clientDrivesTransactions: true });
      let results: StreamResult[];
      try {
        results = await runAll(targetFor(request, backend, conn, new Map(), signal), body.requests);
      } finally {
        // Released (reset: anything left open rolled back) before the client hears back.
        await conn.release().catch((err: unknown) => request.log.warn({ err }, 'releasing a stream failed'));
      }
      return sendJson(reply, 200, { baton: null, base_url: null, results });
    }

    let id: string;
    if (body.baton === null) {
      const session = await store.open(principal, { backend: backend.name, begin: false });
      id = session.id;
      batons.issue(id);
    } else {
      id = batons.redeem(body.baton);
    }
    const work = async (s: Session) => {
      if (s.backend.name !== backend.name) {
        throw new HranaProtocolError('the baton belongs to a stream on another backend', 'BATON_INVALID');
      }
      return lostClient(s, signal, () =>
        runAll(targetFor(request, backend, s.conn, batons.sqls(id), signal, s), body.requests),
      );
    };
    try {
      if (closes) {
        const { result } = await store.runAndClose(id, principal, 'closed by the client', work);
        return sendJson(reply, 200, { baton: null, base_url: null, results: result });
      }
      const results = await store.run(id, principal, work);
      return sendJson(reply, 200, { baton: batons.reissue(id), base_url: null, results });
    } catch (err) {
      throw streamError(err);
    }
  };

  /**
   * POST /v3/cursor: one batch streamed back as NDJSON entries (hrana-cursor.ts). A cursor always runs on a
   * stream (a session, opened here when the baton is null), so the reply's first line carries its baton.
   */
  const cursor = async (request: FastifyRequest, reply: FastifyReply, backendName: string | undefined) => {
    let body: ReturnType<typeof parseCursor>;
    try {
      body = parseCursor(request.body, {
        maxRequests: config.compat.hrana.maxPipelineRequests,
        maxSteps: limits.maxBatchStatements,
        version: 3,
      });
    } catch (err) {
      await closeQuietly(request);
      throw err;
    }
    const backend = authorizeBackend(request, app.backends, backendName);
    const principal = request.principal;
    let id: string;
    if (body.baton === null) {
      id = (await store.open(principal, { backend: backend.name, begin: false })).id;
      batons.issue(id);
    } else {
      id = batons.redeem(body.baton);
    }
    try {
      await store.run(id, principal, async (s) => {
        if (s.backend.name !== backend.name) {
          throw new HranaProtocolError('the baton belongs to a stream on another backend', 'BATON_INVALID');
        }
        const signal = clientSignal(reply);
        const target = targetFor(request, backend, s.conn, batons.sqls(id), signal, s);
        await lostClient(s, signal, () =>
          streamCursor(reply, target, body.batch, {
            baton: batons.reissue(id),
            limits: streamLimits(limits, principal),
          }),
        );
      });
    } catch (err) {
      if (reply.sent || reply.raw.headersSent) {
        request.log.warn({ err }, 'hrana cursor failed after its response started');
        return;
      }
      throw streamError(err);
    }
  };

  for (const version of [2, 3] as const) {
    for (const prefix of ['', '/hrana/:backend']) {
      const backendOf = (request: FastifyRequest) =>
        (request.params as { backend?: string }).backend ?? config.compat.hrana.backend;
      app.get(`${prefix}/v${version}`, { schema: { hide: true } }, async (_request, reply) =>
        reply.code(200).type('text/plain').send(''),
      );
      app.post(`${prefix}/v${version}/pipeline`, { schema: { hide: true } }, (request, reply) =>
        pipeline(request, reply, version, backendOf(request)),
      );
    }
  }
  for (const prefix of ['', '/hrana/:backend']) {
    app.post(`${prefix}/v3/cursor`, { schema: { hide: true } }, (request, reply) =>
      cursor(request, reply, (request.params as { backend?: string }).backend ?? config.compat.hrana.backend),
    );
  }
}

/**
 * The statement of a pipeline that is exactly `[execute, close]` on a new stream (what client.execute()
 * sends), when it needs nothing a stream has: SQL text (not a stored sql_id), a plain query or DML
 * statement (a PRAGMA, SET or BEGIN could change the connection, which the pinned path resets before it goes
 * back to the pool). Anything else runs on a pinned connection.
 */
const PLAIN = new Set(['SELECT', 'WITH', 'VALUES', 'INSERT', 'UPDATE', 'DELETE', 'REPLACE']);

function oneShotStatement(requests: HranaRequest[]): HranaStmt | null {
  const [first, second] = requests;
  if (requests.length !== 2 || first?.type !== 'execute' || second?.type !== 'close') return null;
  const sql = first.stmt.sql;
  if (sql === undefined || LIBSQL_BEGIN.test(sql) || !PLAIN.has(leadingKeyword(sql))) return null;
  return first.stmt;
}
