import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { type Static, type TSchema, Type } from '@sinclair/typebox';
import type { FastifyRequest } from 'fastify';
import { authorizeBackend } from '../src/auth/scopes.js';
import type { Config } from '../src/config.js';
import { SqlgateError, toErrorBody } from '../src/errors.js';
import { type BatchInput, type BatchOutcome, checkBatchInput, runBatch } from '../src/query/batch.js';
import { clientSignal } from '../src/query/client-signal.js';
import { acquireFor } from '../src/query/read-only.js';
import {
  ErrorBodySchema,
  errorResponses,
  IsolationLevelSchema,
  ParamsSchema,
  QueryResultSchema,
  STATEMENT_ERROR_STATUSES,
  StatementOptionsSchema,
  StatementSchema,
} from './schemas.js';

/**
 * A copy of a schema without nested `$id`s. Ajv refuses a body schema in which one `$id` (GenericType)
 * appears twice, which the statements' options and the bulk form's options would otherwise do.
 */
function withoutIds<T extends TSchema>(schema: T): T {
  const strip = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(strip);
    if (!v || typeof v !== 'object') return v;
    const out: Record<string | symbol, unknown> = {};
    for (const key of Reflect.ownKeys(v)) {
      if (key !== '$id') out[key] = strip((v as Record<string | symbol, unknown>)[key]);
    }
    return out;
  };
  return strip(schema) as T;
}

/** The batch fields shared by POST /v1/batch and POST /v1/sessions/{id}/batch. */
const batchFields = {
  statements: Type.Optional(
    Type.Array(StatementSchema, { minItems: 1, description: 'The statements, run in order.' }),
  ),
  sql: Type.Optional(
    Type.String({ minLength: 1, description: 'Bulk form: one statement, run once per entry of paramSets.' }),
  ),
  paramSets: Type.Optional(
    Type.Array(ParamsSchema, {
      minItems: 1,
      description:
        'Bulk form: one parameter list (or object) per execution. Prepared once and sent as efficiently as ' +
        'the driver allows.',
    }),
  ),
  options: Type.Optional(
    withoutIds({
      ...StatementOptionsSchema,
      description: "Options for every statement; a statement's own options override them key by key.",
    }),
  ),
  transaction: Type.Optional(
    Type.Boolean({
      description:
        'All-or-nothing (default true). false: each statement in autocommit; the batch stops at the first ' +
        'error unless continueOnError.',
    }),
  ),
  continueOnError: Type.Optional(
    Type.Boolean({ description: 'With transaction false: run every statement even after failures.' }),
  ),
  isolationLevel: Type.Optional(IsolationLevelSchema),
  readOnly: Type.Optional(Type.Boolean({ description: 'Run the batch in a read-only transaction.' })),
};

export const SessionBatchBodySchema = Type.Object(batchFields, {
  additionalProperties: false,
  examples: [
    {
      statements: [
        { sql: 'UPDATE accounts SET balance = balance - :amt WHERE id = :id', params: { amt: 10, id: 1 } },
        { sql: 'UPDATE accounts SET balance = balance + :amt WHERE id = :id', params: { amt: 10, id: 2 } },
      ],
    },
    {
      sql: 'INSERT INTO items (id, name) VALUES (:id, :name)',
      paramSets: [
        { id: 1, name: 'a' },
        { id: 2, name: 'b' },
      ],
    },
  ],
});

export const BatchBodySchema = Type.Object(
  {
    ...batchFields,
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
      {
        statements: [
          {
            sql: 'INSERT INTO orders (id, total) VALUES (:id, :total)',
            params: { id: 7, total: { $type: 'DECIMAL', value: '12.30' } },
          },
          { sql: 'UPDATE stock SET qty = qty - 1 WHERE sku = :sku', params: { sku: 'A-1' } },
        ],
        isolationLevel: 'SERIALIZABLE',
      },
      {
        sql: 'INSERT INTO events (id, kind) VALUES ($1, $2)',
        paramSets: [
          [1, 'open'],
          [2, 'close'],
        ],
        backend: 'main',
      },
      { statements: [{ sql: 'SELECT 1' }, { sql: 'SELECT 2' }], transaction: false, continueOnError: true },
    ],
  },
);

export const BatchResultSchema = Type.Object(
  {
    results: Type.Array(Type.Union([QueryResultSchema, ErrorBodySchema]), {
      description:
        'One entry per statement (or parameter set) that ran: a QueryResult, or `{"error": ...}` for a ' +
        'statement that failed in a non-transactional batch.',
    }),
    durationMs: Type.Number(),
  },
  {
    $id: 'BatchResult',
    examples: [
      {
        results: [
          {
            columns: [],
            rows: [],
            rowCount: 0,
            affectedRows: 1,
            lastInsertId: '7',
            command: 'INSERT',
            durationMs: 0.21,
          },
          {
            error: {
              code: 'UNIQUE_VIOLATION',
              message: 'duplicate key value violates unique constraint "orders_pkey"',
              class: 'IntegrityError',
              retryable: false,
              sqlState: '23505',
              statementIndex: 1,
              backend: 'main',
              requestId: 'req-1',
            },
          },
        ],
        durationMs: 1.7,
      },
    ],
  },
);

/**
 * Counts a batch's successful results in /metrics (query latency, rows), like /v1/execute does. A list of
 * statements counts each statement. One statement with `paramSets` is one driver call (prepared once, run for
 * every set in one round trip or worker call), so it is one latency observation of its whole run, with
 * every set's rows counted: 10,000 sets would otherwise be 10,000 histogram updates (~5 ms per request).
 */
export function observeBatch(
  request: FastifyRequest,
  backend: string,
  input: BatchInput,
  outcome: BatchOutcome,
): BatchOutcome {
  const metrics = request.server.metrics;
  if (input.paramSets === undefined) {
    for (const r of outcome.results) if (!('error' in r)) metrics.observeResult(backend, r);
    return outcome;
  }
  let command: string | undefined;
  let ms = 0;
  let rows = 0;
  for (const r of outcome.results) {
    if ('error' in r) continue;
    command ??= r.command;
    ms += r.durationMs;
    rows += r.rowCount;
  }
  if (command !== undefined) metrics.observeResult(backend, { command, durationMs: ms, rowCount: rows });
  return outcome;
}

/** Turns the runner's outcome into the response body (errors as error bodies with the request id). */
export function batchResponse(
  outcome: BatchOutcome,
  request: FastifyRequest,
): Static<typeof BatchResultSchema> {
  return {
    results: outcome.results.map((r) => ('error' in r ? toErrorBody(r.error, String(request.id)) : r)),
    durationMs: outcome.durationMs,
  } as Static<typeof BatchResultSchema>;
}

/** POST /v1/batch: many statements on one connection, atomic by default; or inside a session. */
const batchRoute: FastifyPluginAsyncTypebox<{ config: Config }> = async (app, { config }) => {
  app.post(
    '/v1/batch',
    {
      schema: {
        summary: 'Run a batch',
        description:
          'Runs statements (or one statement with many parameter sets) on one connection. Transactional by ' +
          'default: all-or-nothing, and the error of the failing statement carries `statementIndex`. Inside ' +
          '`session`, a failed batch is rolled back to a savepoint taken before it.',
        tags: ['statements'],
        body: BatchBodySchema,
        response: { 200: BatchResultSchema, ...errorResponses(...STATEMENT_ERROR_STATUSES) },
      },
    },
    async (request, reply) => {
      const { backend: backendName, session, ...input } = request.body;
      const batch = input as BatchInput;
      const principal = request.principal;
      const ctx = { limits: config.limits, principalMaxRows: principal.limits?.maxRows };
      if (session !== undefined) {
        const outcome = await app.sessions.run(session, principal, async (s) => {
          if (backendName !== undefined && backendName !== s.backend.name) {
            throw new SqlgateError('BAD_REQUEST', `the session belongs to backend "${s.backend.name}"`);
          }
          return observeBatch(request, s.backend.name, batch, await s.batch(batch, ctx));
        });
        return batchResponse(outcome, request);
      }
      const backend = authorizeBackend(request, app.backends, backendName);
      checkBatchInput(batch, config.limits);
      request.log.debug(
        { backend: backend.name, size: batch.statements?.length ?? batch.paramSets?.length },
        'batch',
      );
      // A read-only principal gets a connection that cannot write (see src/query/read-only.ts).
      const conn = await acquireFor(principal, backend);
      try {
        const outcome = await runBatch(conn, batch, { ...ctx, signal: clientSignal(reply) });
        return batchResponse(observeBatch(request, backend.name, batch, outcome), request);
      } finally {
        // release resets the connection (rolls back anything left open) or destroys it; never throws past here.
        await conn.release().catch((err: unknown) => {
          request.log.warn({ err, backend: backend.name }, 'releasing a batch connection failed');
        });
      }
    },
  );
};

export default batchRoute;
