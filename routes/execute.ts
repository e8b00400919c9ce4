import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { authorizeBackend } from '../src/auth/scopes.js';
import { prepareStatement } from '../src/backend/prepare.js';
import type { Config } from '../src/config.js';
import { SqlgateError } from '../src/errors.js';
import { clientSignal } from '../src/query/client-signal.js';
import { execOptions } from '../src/query/exec-options.js';
import { explainInSession, runExplain } from '../src/query/explain.js';
import { negotiateFormatHook, sendResult, streamsRows } from '../src/query/formats/send-result.js';
import { runAsPrincipal } from '../src/query/read-only.js';
import { executeStream } from '../src/query/stream-execute.js';
import {
  ExecuteOptionsSchema,
  errorResponses,
  FormatQuerySchema,
  ParamsSchema,
  QueryResultSchema,
  STATEMENT_ERROR_STATUSES,
} from './schemas.js';

export const ExecuteBodySchema = Type.Object(
  {
    sql: Type.String({ minLength: 1, description: 'One SQL statement.' }),
    params: Type.Optional(ParamsSchema),
    options: Type.Optional(ExecuteOptionsSchema),
    backend: Type.Optional(
      Type.String({ minLength: 1, description: 'Backend name; the default when omitted.' }),
    ),
    session: Type.Optional(
      Type.String({ minLength: 1, description: 'Run inside this session (same as the session route).' }),
    ),
  },
  {
    additionalProperties: false,
    examples: [
      { sql: 'SELECT id, email FROM users WHERE id = :id', params: { id: 1 } },
      {
        sql: 'INSERT INTO payments (user_id, amount, paid_at) VALUES ($1, $2, $3)',
        params: [
          { $type: 'BIGINT', value: '9007199254740993' },
          { $type: 'DECIMAL', value: '12.30' },
          { $type: 'TIMESTAMP', value: '2024-05-01T12:00:00.123456+02:00' },
        ],
        backend: 'main',
      },
      {
        sql: 'SELECT id, active FROM flags',
        options: { rowMode: 'array', int64: 'number', columnTypes: { active: 'BOOLEAN' }, maxRows: 100 },
        backend: 'local',
      },
    ],
  },
);

/** POST /v1/execute: one statement in autocommit on a pooled connection (or inside a session). */
const executeRoute: FastifyPluginAsyncTypebox<{ config: Config }> = async (app, { config }) => {
  app.post(
    '/v1/execute',
    {
      schema: {
        summary: 'Run one statement',
        description:
          'Runs one statement in autocommit, or inside `session` when given. The result comes as JSON ' +
          '(`?pretty` indents it), CSV (`Accept: text/csv`) or an aligned table (`Accept: text/plain`); ' +
          'the `Server-Timing` header splits the time into queue, database and serialization.',
        tags: ['statements'],
        querystring: FormatQuerySchema,
        body: ExecuteBodySchema,
        response: { 200: QueryResultSchema, ...errorResponses(...STATEMENT_ERROR_STATUSES, 406) },
      },
      onRequest: negotiateFormatHook,
    },
    async (request, reply) => {
      const body = request.body;
      const explain = body.options?.explain;
      // Accept: application/x-ndjson streams the rows instead (src/query/stream.ts); a plan is never streamed.
      if (!explain && streamsRows(request)) return executeStream(app, config, request, reply, body);
      const timing = { queueMs: 0 };
      if (body.session !== undefined) {
        // Same as POST /v1/sessions/{id}/execute: queued FIFO on the session, not cancelled on disconnect.
        const opts = execOptions(config.limits, body.options, undefined, request.principal.limits?.maxRows);
        const queued = performance.now();
        const result = await app.sessions.run(body.session, request.principal, async (s) => {
          timing.queueMs = performance.now() - queued;
          if (body.backend !== undefined && body.backend !== s.backend.name) {
            throw new SqlgateError('BAD_REQUEST', `the session belongs to backend "${s.backend.name}"`);
          }
          const stmt = prepareStatement(s.backend.dialect, body.sql, body.params);
          if (explain) return explainInSession(s, stmt, opts, explain);
          const result = await s.execute(stmt, opts);
          app.metrics.observeResult(s.backend.name, result);
          return result;
        });
        return sendResult(request, reply, result, timing);
      }
      const backend = authorizeBackend(request, app.backends, body.backend);
      const stmt = prepareStatement(backend.dialect, body.sql, body.params);
      const opts = {
        ...execOptions(config.limits, body.options, clientSignal(reply), request.principal.limits?.maxRows),
        timing,
      };
      request.log.debug({ backend: backend.name, sql: body.sql }, 'execute');
      if (explain) {
        return sendResult(
          request,
          reply,
          await runExplain(request.principal, backend, stmt, opts, explain),
          timing,
        );
      }
      const result = await runAsPrincipal(request.principal, backend, stmt, opts);
      app.metrics.observeResult(backend.name, result);
      return sendResult(request, reply, result, timing);
    },
  );
};

export default executeRoute;
