import { Type } from '@sinclair/typebox';
import { ExecuteOptionsSchema, errorResponses, IsolationLevelSchema, StatementSchema } from './schemas.js';

/** Request and response schemas of the session routes (routes/sessions.ts), except the open body. */

export const SessionIdParams = Type.Object({
  id: Type.String({ minLength: 1, maxLength: 64, description: 'The id POST /v1/sessions returned.' }),
});

export const SavepointName = Type.String({
  minLength: 1,
  maxLength: 63,
  pattern: '^[^\\u0000-\\u001f]+$',
  description: 'A savepoint name; always sent quoted, so any printable text is safe.',
});

export const SavepointParams = Type.Object({ id: SessionIdParams.properties.id, name: SavepointName });

export const TxStatusSchema = Type.Union(
  [Type.Literal('idle'), Type.Literal('active'), Type.Literal('failed')],
  {
    description: 'What the database says: `failed` is a PostgreSQL transaction aborted by an error.',
  },
);

export const beginFields = {
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

export const EndBodySchema = Type.Object(
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

export const EndResultSchema = Type.Object(
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

export const SavepointResultSchema = Type.Object(
  {
    name: Type.String(),
    transactionStatus: TxStatusSchema,
    inTransaction: Type.Boolean(),
  },
  { examples: [{ name: 'before_import', transactionStatus: 'active', inTransaction: true }] },
);

export const SessionStatementSchema = Type.Object(
  { ...StatementSchema.properties, options: Type.Optional(ExecuteOptionsSchema) },
  {
    additionalProperties: false,
    examples: [
      { sql: 'SELECT balance FROM accounts WHERE id = :id FOR UPDATE', params: { id: 1 } },
      { sql: 'BEGIN' },
    ],
  },
);

export const BeginBodySchema = Type.Object(beginFields, {
  additionalProperties: false,
  description: 'Optional: no body means the backend default isolation level, read-write.',
  examples: [{}, { isolationLevel: 'SERIALIZABLE', readOnly: true, deferrable: true }],
});

export const SavepointBodySchema = Type.Object(
  { name: Type.Optional(SavepointName) },
  {
    additionalProperties: false,
    description: 'Optional: without a name the gateway picks one (sp_1, sp_2, ...).',
    examples: [{ name: 'before_import' }, {}],
  },
);

export const SESSION_ERRORS = errorResponses(400, 401, 403, 404, 409, 410, 413, 415, 429, 500, 503, 504);
