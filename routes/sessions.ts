import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { authorizeBackend } from '../src/auth/scopes.js';
import type { Config } from '../src/config.js';
import type { BatchInput } from '../src/query/batch.js';
import { execOptions } from '../src/query/exec-options.js';
import { negotiateFormatHook, sendResult, streamsRows } from '../src/query/formats/send-result.js';
import { sessionStream } from '../src/query/stream-execute.js';
import {
  beginInSession,
  createSavepoint,
  endSavepoint,
  endSession,
  executeInSession,
} from '../src/sessions/session-service.js';
import { BatchResultSchema, batchResponse, observeBatch, SessionBatchBodySchema } from './batch.js';
import { errorResponses, FormatQuerySchema, QueryResultSchema, STATEMENT_ERROR_STATUSES } from './schemas.js';
import {
  BeginBodySchema,
  beginFields,
  EndBodySchema,
  EndResultSchema,
  SavepointBodySchema,
  SavepointParams,
  SavepointResultSchema,
  SESSION_ERRORS,
  SessionIdParams,
  SessionInfoSchema,
  SessionStatementSchema,
} from './session-schemas.js';

export { SessionInfoSchema };

export const OpenSessionBodySchema = Type.Object(
  {
    backend: Type.Optional(
      Type.String({ minLength: 1, description: 'Backend name; the default when omitted.' }),
    ),
    begin: Type.Optional(
      Type.Boolean({
        description:
          'Start a transaction now (default true). false: a pinned connection on which the client sends ' +
          'BEGIN / SAVEPOINT / COMMIT as SQL itself; the gateway still tracks the state and cleans up.',
      }),
    ),
    ...beginFields,
    idleTimeoutMs: Type.Optional(
      Type.Integer({
        minimum: 1000,
        description:
          'Idle timeout of this session, up to sessions.maxLifetimeMs; default sessions.idleTimeoutMs.',
      }),
    ),
    scratch: Type.Optional(
      Type.Boolean({
        description:
          'SQLite: open the session on a fresh private :memory: database, gone when the session ends. ' +
          'Off unless backends.<name>.scratch allows this principal (docs/api.md, "Scratch sessions").',
      }),
    ),
  },
  { additionalProperties: false, examples: [{ isolationLevel: 'SERIALIZABLE' }, { begin: false }] },
);

/**
 * Interactive sessions: a pinned connection per session, FIFO per session, timeouts, savepoints.
 * Everything per database comes from the Dialect and the Connection's own transaction status.
 */
const sessionsRoute: FastifyPluginAsyncTypebox<{ config: Config }> = async (app, { config }) => {
  const store = app.sessions;
  const limits = config.limits;

  // Commit, rollback, begin and savepoint bodies are all optional: `curl -X POST .../commit` means the defaults.
  app.addHook('preValidation', async (request) => {
    if (request.body === undefined && request.method === 'POST') request.body = {};
  });

  app.post(
    '/v1/sessions',
    {
      schema: {
        summary: 'Open a session',
        description:
          'Pins a connection to a new session, by default with BEGIN. The id is needed for every later call ' +
          'and only works for the caller that opened it.',
        tags: ['sessions'],
        body: OpenSessionBodySchema,
        response: { 201: SessionInfoSchema, ...SESSION_ERRORS },
      },
    },
    async (request, reply) => {
      // Scope check here: an out-of-scope backend answers exactly like a missing one.
      const backend = authorizeBackend(request, app.backends, request.body.backend);
      const session = await store.open(request.principal, { ...request.body, backend: backend.name });
      request.log.debug({ session: session.id, backend: session.backend.name }, 'session opened');
      return reply.code(201).send(session.info());
    },
  );

  app.get(
    '/v1/sessions/:id',
    {
      schema: {
        summary: 'Session state',
        description: 'The state as the database reports it; does not count as activity.',
        tags: ['sessions'],
        params: SessionIdParams,
        response: { 200: SessionInfoSchema, ...SESSION_ERRORS },
      },
    },
    async (request) => store.get(request.params.id, request.principal).info(),
  );

  app.delete(
    '/v1/sessions/:id',
    {
      schema: {
        summary: 'Close a session',
        description:
          'Rolls back anything open, resets the connection and releases it (after queued requests).',
        tags: ['sessions'],
        params: SessionIdParams,
        response: { 200: EndResultSchema, ...SESSION_ERRORS },
      },
    },
    async (request) => endSession(store, request.params.id, request.principal, 'close', true),
  );

  app.post(
    '/v1/sessions/:id/execute',
    {
      schema: {
        summary: 'Run one statement in a session',
        tags: ['sessions'],
        params: SessionIdParams,
        querystring: FormatQuerySchema,
        body: SessionStatementSchema,
        response: { 200: QueryResultSchema, ...errorResponses(...STATEMENT_ERROR_STATUSES, 406) },
      },
      onRequest: negotiateFormatHook,
    },
    async (request, reply) => {
      const { sql, params, options } = request.body;
      // Accept: application/x-ndjson streams the rows instead (src/query/stream.ts).
      if (!options?.explain && streamsRows(request)) {
        return sessionStream(app, config, request, reply, request.params.id, request.body);
      }
      const opts = execOptions(limits, options, undefined, request.principal.limits?.maxRows);
      const timing = { queueMs: 0 };
      const stmt = { sql, params, explain: options?.explain };
      const result = await executeInSession(
        store,
        request.params.id,
        request.principal,
        stmt,
        opts,
        timing,
        (b, r) => app.metrics.observeResult(b, r),
      );
      return sendResult(request, reply, result, timing);
    },
  );

  app.post(
    '/v1/sessions/:id/batch',
    {
      schema: {
        summary: 'Run a batch in a session',
        description:
          'Like POST /v1/batch. With a transaction open, a savepoint is taken first and a failed batch is ' +
          'rolled back to it, so the session is as it was before the batch.',
        tags: ['sessions'],
        params: SessionIdParams,
        body: SessionBatchBodySchema,
        response: { 200: BatchResultSchema, ...errorResponses(...STATEMENT_ERROR_STATUSES) },
      },
    },
    async (request) => {
      const ctx = { limits, principalMaxRows: request.principal.limits?.maxRows };
      const outcome = await store.run(request.params.id, request.principal, async (s) =>
        observeBatch(
          request,
          s.backend.name,
          request.body as BatchInput,
          await s.batch(request.body as BatchInput, ctx),
        ),
      );
      return batchResponse(outcome, request);
    },
  );

  app.post(
    '/v1/sessions/:id/begin',
    {
      schema: {
        summary: 'Begin a transaction in a session',
        description:
          'For a session opened with `begin: false`, or kept open by a commit with `close: false`.',
        tags: ['sessions'],
        params: SessionIdParams,
        body: BeginBodySchema,
        response: { 200: SessionInfoSchema, ...SESSION_ERRORS },
      },
    },
    async (request) => beginInSession(store, request.params.id, request.principal, request.body),
  );

  app.post(
    '/v1/sessions/:id/savepoints',
    {
      schema: {
        summary: 'Create a savepoint',
        tags: ['sessions'],
        params: SessionIdParams,
        body: SavepointBodySchema,
        response: { 201: SavepointResultSchema, ...SESSION_ERRORS },
      },
    },
    async (request, reply) => {
      const result = await createSavepoint(store, request.params.id, request.principal, request.body.name);
      return reply.code(201).send(result);
    },
  );

  for (const action of ['rollback', 'release'] as const) {
    app.post(
      `/v1/sessions/:id/savepoints/:name/${action}`,
      {
        schema: {
          summary: action === 'rollback' ? 'Roll back to a savepoint' : 'Release a savepoint',
          description:
            action === 'rollback'
              ? 'Undoes everything after the savepoint and keeps it; also clears a PostgreSQL aborted transaction.'
              : 'Forgets the savepoint, keeping what was done after it.',
          tags: ['sessions'],
          params: SavepointParams,
          response: { 200: SavepointResultSchema, ...SESSION_ERRORS },
        },
      },
      async (request) =>
        endSavepoint(store, request.params.id, request.principal, request.params.name, action),
    );
  }

  app.post(
    '/v1/sessions/:id/commit',
    {
      schema: {
        summary: 'Commit',
        description:
          'Commits the open transaction. A failed (aborted) transaction is rolled back instead and answers ' +
          'TRANSACTION_ABORTED. With `close` (default true) the session is closed whatever the outcome.',
        tags: ['sessions'],
        params: SessionIdParams,
        body: EndBodySchema,
        response: { 200: EndResultSchema, ...SESSION_ERRORS },
      },
    },
    async (request) =>
      endSession(store, request.params.id, request.principal, 'commit', request.body.close ?? true),
  );

  app.post(
    '/v1/sessions/:id/rollback',
    {
      schema: {
        summary: 'Roll back',
        description:
          'Rolls back the open transaction (a no-op when none is open). With `close` (default true) the ' +
          'session is closed as well.',
        tags: ['sessions'],
        params: SessionIdParams,
        body: EndBodySchema,
        response: { 200: EndResultSchema, ...SESSION_ERRORS },
      },
    },
    async (request) =>
      endSession(store, request.params.id, request.principal, 'rollback', request.body.close ?? true),
  );
};

export default sessionsRoute;
