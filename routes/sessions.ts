import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { authorizeBackend } from '../src/auth/scopes.js';
import type { BeginOptions } from '../src/backend/dialect.js';
import { prepareStatement } from '../src/backend/prepare.js';
import type { Config } from '../src/config.js';
import type { BatchInput } from '../src/query/batch.js';
import { execOptions } from '../src/query/exec-options.js';
import { explainInSession } from '../src/query/explain.js';
import { negotiateFormatHook, sendResult, streamsRows } from '../src/query/formats/send-result.js';
import { sessionStream } from '../src/query/stream-execute.js';
import { BatchResultSchema, batchResponse, observeBatch, SessionBatchBodySchema } from './batch.js';
import {
  ExecuteOptionsSchema,
  errorResponses,
  FormatQuerySchema,
  IsolationLevelSchema,
  QueryResultSchema,
  STATEMENT_ERROR_STATUSES,
  StatementSchema,
} from './schemas.js';

const SessionIdParams = Type.Object({
  id: Type.String({ minLength: 1, maxLength: 64, description: 'The id POST /v1/sessions returned.' }),
});

const SavepointName = Type.String({
  minLength: 1,
  maxLength: 63,
  pattern: '^[^\\u0000-\\u001f]+$',
  description: 'A savepoint name; always sent quoted, so any printable text is safe.',
});

const SavepointParams = Type.Object({ id: SessionIdParams.properties.id, name: SavepointName });

const TxStatusSchema = Type.Union([Type.Literal('idle'), Type.Literal('active'), Type.Literal('failed')], {
  description: 'What the database says: `failed` is a PostgreSQL transaction aborted by an error.',
});

const beginFields = {
  isolationLevel: Type.Optional(IsolationLevelSchema),
  readOnly: Type.Optional(
    Type.Boolean({ description: 'A read-only transaction, enforced by the database.' }),
  ),
  deferrable: Type.Optional(
    Type.Boolean({
      description: 'PostgreSQL SERIALIZABLE READ ONLY DEFERRABLE; UNSUPPORTED_FEATURE elsewhere.',
    }),
  ),
};

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

export const SessionInfoSchema = Type.Object(
  {
    id: Type.String({ description: '192 random bits, base64url; bound to the principal that opened it.' }),
    backend: Type.String(),
    status: Type.Union([Type.Literal('ready'), Type.Literal('busy')], {
      description: '`busy` while a request runs on the session.',
    }),
    transactionStatus: TxStatusSchema,
    inTransaction: Type.Boolean(),
    savepoints: Type.Array(Type.String(), {
      description: 'Savepoints made through the API, outermost first.',
    }),
    createdAt: Type.String({ format: 'date-time' }),
    lastActivityAt: Type.String({ format: 'date-time' }),
    expiresAt: Type.String({
      format: 'date-time',
      description: 'When the session ends unless used again (idle timeout or maximum lifetime, the earlier).',
    }),
    idleTimeoutMs: Type.Integer(),
    queued: Type.Integer({ description: 'Requests waiting behind the one running.' }),
  },
  {
    $id: 'SessionInfo',
    examples: [
      {
        id: 'q7Lw2kJd9xV0aB3nR5tY8uE1iO4pS6fG',
        backend: 'main',
        status: 'ready',
        transactionStatus: 'active',
        inTransaction: true,
        savepoints: [],
        createdAt: '2024-05-01T12:00:00.000Z',
        lastActivityAt: '2024-05-01T12:00:01.250Z',
        expiresAt: '2024-05-01T12:01:01.250Z',
        idleTimeoutMs: 60000,
        queued: 0,
      },
    ],
  },
);

const EndBodySchema = Type.Object(
  {
    close: Type.Optional(
      Type.Boolean({
        description:
          'Also close the session (default true), whatever the outcome. false keeps the pinned connection ' +
          'for another transaction (POST .../begin, or BEGIN as SQL).',
      }),
    ),
  },
  {
    additionalProperties: false,
    description: 'Optional: no body means the defaults.',
    examples: [{}, { close: false }],
  },
);

const EndResultSchema = Type.Object(
  {
    id: Type.String(),
    committed: Type.Optional(Type.Boolean()),
    rolledBack: Type.Boolean({ description: 'A transaction was open and has been rolled back.' }),
    closed: Type.Boolean(),
    transactionStatus: TxStatusSchema,
    inTransaction: Type.Boolean(),
  },
  {
    examples: [
      {
        id: 'q7Lw2kJd9xV0aB3nR5tY8uE1iO4pS6fG',
        committed: true,
        rolledBack: false,
        closed: true,
        transactionStatus: 'idle',
        inTransaction: false,
      },
    ],
  },
);

const SavepointResultSchema = Type.Object(
  {
    name: Type.String(),
    transactionStatus: TxStatusSchema,
    inTransaction: Type.Boolean(),
  },
  { examples: [{ name: 'before_import', transactionStatus: 'active', inTransaction: true }] },
);

const SessionStatementSchema = Type.Object(
  { ...StatementSchema.properties, options: Type.Optional(ExecuteOptionsSchema) },
  {
    additionalProperties: false,
    examples: [
      { sql: 'SELECT balance FROM accounts WHERE id = :id FOR UPDATE', params: { id: 1 } },
      { sql: 'BEGIN' },
    ],
  },
);

const BeginBodySchema = Type.Object(beginFields, {
  additionalProperties: false,
  description: 'Optional: no body means the backend default isolation level, read-write.',
  examples: [{}, { isolationLevel: 'SERIALIZABLE', readOnly: true, deferrable: true }],
});

const SavepointBodySchema = Type.Object(
  { name: Type.Optional(SavepointName) },
  {
    additionalProperties: false,
    description: 'Optional: without a name the gateway picks one (sp_1, sp_2, ...).',
    examples: [{ name: 'before_import' }, {}],
  },
);

const SESSION_ERRORS = errorResponses(400, 401, 403, 404, 409, 410, 413, 415, 429, 500, 503, 504);

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
    async (request) => {
      const { id } = request.params;
      const { rolledBack } = await store.runAndClose(
        id,
        request.principal,
        'closed by the client',
        async () => ({}),
      );
      return { id, rolledBack, closed: true, transactionStatus: 'idle' as const, inTransaction: false };
    },
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
      const queued = performance.now();
      const result = await store.run(request.params.id, request.principal, async (s) => {
        timing.queueMs = performance.now() - queued;
        const stmt = prepareStatement(s.backend.dialect, sql, params);
        if (options?.explain) return explainInSession(s, stmt, opts, options.explain);
        const result = await s.execute(stmt, opts);
        app.metrics.observeResult(s.backend.name, result);
        return result;
      });
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
    async (request) => {
      const opts: BeginOptions = {};
      const b = request.body;
      if (b.isolationLevel) opts.isolationLevel = b.isolationLevel;
      if (b.readOnly !== undefined) opts.readOnly = b.readOnly;
      if (b.deferrable !== undefined) opts.deferrable = b.deferrable;
      return store.run(request.params.id, request.principal, async (s) => {
        await s.begin(opts);
        return s.info();
      });
    },
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
      const result = await store.run(request.params.id, request.principal, async (s) => {
        const name = await s.savepoint(request.body.name);
        return savepointResult(name, s.conn.txStatus());
      });
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
      async (request) => {
        const { id, name } = request.params;
        return store.run(id, request.principal, async (s) => {
          if (action === 'rollback') await s.rollbackTo(name);
          else await s.releaseSavepoint(name);
          return savepointResult(name, s.conn.txStatus());
        });
      },
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
    async (request) => {
      const { id } = request.params;
      if (request.body.close ?? true) {
        const { rolledBack } = await store.runAndClose(
          id,
          request.principal,
          'committed and closed',
          (s) => s.commit(),
          'commit failed, rolled back and closed',
        );
        return {
          id,
          committed: true,
          rolledBack,
          closed: true,
          transactionStatus: 'idle' as const,
          inTransaction: false,
        };
      }
      return store.run(id, request.principal, async (s) => {
        await s.commit();
        const tx = s.conn.txStatus();
        return {
          id,
          committed: true,
          rolledBack: false,
          closed: false,
          transactionStatus: tx,
          inTransaction: tx !== 'idle',
        };
      });
    },
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
    async (request) => {
      const { id } = request.params;
      if (request.body.close ?? true) {
        const { result, rolledBack } = await store.runAndClose(
          id,
          request.principal,
          'rolled back and closed',
          (s) => s.rollback(),
        );
        return {
          id,
          rolledBack: result.rolledBack || rolledBack,
          closed: true,
          transactionStatus: 'idle' as const,
          inTransaction: false,
        };
      }
      return store.run(id, request.principal, async (s) => {
        const { rolledBack } = await s.rollback();
        const tx = s.conn.txStatus();
        return { id, rolledBack, closed: false, transactionStatus: tx, inTransaction: tx !== 'idle' };
      });
    },
  );
};

function savepointResult(name: string, tx: 'idle' | 'active' | 'failed') {
  return { name, transactionStatus: tx, inTransaction: tx !== 'idle' };
}

export default sessionsRoute;
