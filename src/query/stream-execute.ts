import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { authorizeBackend } from '../auth/scopes.js';
import { prepareStatement } from '../backend/prepare.js';
import type { Config } from '../config.js';
import { SqlgateError } from '../errors.js';
import type { ClientStatementOptions } from './exec-options.js';
import { execOptions } from './exec-options.js';
import { acquireFor } from './read-only.js';
import { streamLimits, streamOn, streamOptions, streamResponse } from './stream.js';

/** The parts of an execute request a stream needs (the body of either execute route). */
export interface StreamRequestBody {
  sql: string;
  params?: unknown[] | Record<string, unknown>;
  options?: ClientStatementOptions;
  backend?: string;
}

/**
 * `POST /v1/execute` with `Accept: application/x-ndjson`: the statement streamed in autocommit on a
 * connection of its own (a read-only principal's is read-only, as for execute), or inside `session` when
 * given. Auth, scopes and read-only apply as on execute; the stream's limits replace maxRows,
 * maxResponseBytes and the statement timeout.
 */
export function executeStream(
  app: FastifyInstance,
  config: Config,
  request: FastifyRequest,
  reply: FastifyReply,
  body: StreamRequestBody & { session?: string },
): Promise<void> {
  if (body.session !== undefined) return sessionStream(app, config, request, reply, body.session, body);
  const backend = authorizeBackend(request, app.backends, body.backend);
  const stmt = prepareStatement(backend.dialect, body.sql, body.params);
  const opts = streamOptions(execOptions(config.limits, body.options));
  request.log.debug({ backend: backend.name, sql: body.sql }, 'execute stream');
  return streamResponse(request, reply, {
    backend: backend.name,
    limits: streamLimits(config.limits, request.principal),
    observe: (r) => app.metrics.observeResult(backend.name, r),
    async run(sink) {
      const conn = await acquireFor(request.principal, backend);
      try {
        return await streamOn(conn, stmt, opts, sink, backend.name);
      } finally {
        await conn.release();
      }
    },
  });
}

/** `POST /v1/sessions/{id}/execute` with `Accept: application/x-ndjson`: queued FIFO on the session. */
export function sessionStream(
  app: FastifyInstance,
  config: Config,
  request: FastifyRequest,
  reply: FastifyReply,
  id: string,
  body: StreamRequestBody,
): Promise<void> {
  const opts = streamOptions(execOptions(config.limits, body.options));
  let backendName = '';
  return streamResponse(request, reply, {
    get backend() {
      return backendName;
    },
    limits: streamLimits(config.limits, request.principal),
    observe: (r) => app.metrics.observeResult(backendName, r),
    run: (sink) =>
      app.sessions.run(id, request.principal, async (s) => {
        backendName = s.backend.name;
        if (body.backend !== undefined && body.backend !== s.backend.name) {
          throw new SqlgateError('BAD_REQUEST', `the session belongs to backend "${s.backend.name}"`);
        }
        return s.stream(prepareStatement(s.backend.dialect, body.sql, body.params), opts, sink);
      }),
  });
}
