import { type TSchema, Type } from '@sinclair/typebox';
import { ISOLATION_LEVELS } from '../src/backend/dialect.js';
import { GENERIC_TYPES } from '../src/backend/types.js';
import { ErrorBodySchema } from '../src/error-body-schema.js';

/** TypeBox schemas shared by the route plugins; they are also the OpenAPI components. */

export const GenericTypeSchema = Type.Union(
  GENERIC_TYPES.map((t) => Type.Literal(t)),
  { $id: 'GenericType', description: 'A database-independent column type.' },
);

export const IsolationLevelSchema = Type.Union(
  ISOLATION_LEVELS.map((l) => Type.Literal(l)),
  { description: 'Transaction isolation level; a backend that lacks it answers UNSUPPORTED_FEATURE.' },
);

export const ParamsSchema = Type.Union(
  [Type.Array(Type.Unknown()), Type.Record(Type.String(), Type.Unknown())],
  {
    description:
      'Positional params (an array, native placeholders) or named params (an object, `:name` placeholders). ' +
      'Values: null, boolean, number, string, array, object (JSON), or a tagged value `{"$type": "BIGINT", "value": "..."}`.',
  },
);

export const StatementOptionsSchema = Type.Object(
  {
    rowMode: Type.Optional(
      Type.Union([Type.Literal('object'), Type.Literal('array')], { default: 'object' }),
    ),
    int64: Type.Optional(
      Type.Union([Type.Literal('string'), Type.Literal('number'), Type.Literal('auto')], {
        default: 'string',
        description:
          'BIGINT results: "string" (default), "number" (fails beyond ±(2^53-1)), or "auto" (number when ' +
          'safe, else string, per value).',
      }),
    ),
    columnTypes: Type.Optional(Type.Record(Type.String(), GenericTypeSchema)),
    jsonNumbers: Type.Optional(
      Type.Union([Type.Literal('exact'), Type.Literal('string')], {
        default: 'exact',
        description:
          'Numbers inside JSON values from the database: "exact" (default) keeps the database\'s number ' +
          'text (beyond 2^53, more digits than a double, -0); "string" returns each number a double cannot ' +
          'hold as a string of its exact text, for clients that parse JSON into doubles.',
      }),
    ),
    valueMode: Type.Optional(
      Type.Union([Type.Literal('typed'), Type.Literal('raw')], {
        default: 'typed',
        description:
          '`raw`: values as stored (SQLite: by storage class, with `$type` tags for BLOB, 64-bit integers ' +
          'beyond 2^53 and integral REALs), for clients with their own type adapters. Same as `typed` on ' +
          'PostgreSQL and MySQL.',
      }),
    ),
    timeoutMs: Type.Optional(Type.Integer({ minimum: 1 })),
    maxRows: Type.Optional(Type.Integer({ minimum: 1 })),
  },
  { additionalProperties: false },
);

/** The statement options of /v1/execute and session execute: the batch ones plus `explain`. */
export const ExecuteOptionsSchema = Type.Object(
  {
    ...StatementOptionsSchema.properties,
    explain: Type.Optional(
      Type.Union([Type.Boolean(), Type.Literal('analyze')], {
        description:
          'Return the plan instead of running the statement (`true`), or the plan of a real run inside a ' +
          'transaction that is rolled back (`"analyze"`; PostgreSQL, MariaDB reads). The answer is the ' +
          'EXPLAIN result plus `plan`.',
      }),
    ),
  },
  { additionalProperties: false },
);

/** Query parameters of the statement routes that choose the response format (docs/api.md). */
export const FormatQuerySchema = Type.Object({
  format: Type.Optional(
    Type.Union(
      ['json', 'csv', 'text', 'ndjson'].map((f) => Type.Literal(f)),
      { description: 'Response format; wins over `Accept` (for browsers and shared links).' },
    ),
  ),
  pretty: Type.Optional(Type.String({ description: 'JSON indented for reading: `?pretty`.' })),
  maxWidth: Type.Optional(
    Type.String({
      pattern: '^[0-9]{1,6}$',
      description: 'text/plain: longest value shown in full (default 48); longer ones are cut with `…`.',
    }),
  ),
});

export const StatementSchema = Type.Object(
  {
    sql: Type.String({ minLength: 1 }),
    params: Type.Optional(ParamsSchema),
    options: Type.Optional(StatementOptionsSchema),
  },
  { additionalProperties: false },
);

export const ColumnSchema = Type.Object({
  name: Type.String(),
  type: GenericTypeSchema,
  dbType: Type.String(),
  nullable: Type.Union([Type.Boolean(), Type.Null()]),
});

export const QueryResultSchema = Type.Object(
  {
    columns: Type.Array(ColumnSchema),
    rows: Type.Array(Type.Unknown()),
    rowCount: Type.Integer(),
    affectedRows: Type.Integer(),
    lastInsertId: Type.Union([Type.String(), Type.Number(), Type.Null()]),
    command: Type.String(),
    durationMs: Type.Number({ description: 'Time on the database in ms, rounded to the microsecond.' }),
    plan: Type.Optional(
      Type.Object(
        {
          format: Type.String({ description: '`postgres`, `mysql` or `sqlite`: whose plan shape.' }),
          analyze: Type.Boolean(),
          plan: Type.Unknown({ description: "The database's plan as JSON." }),
          actual: Type.Optional(
            Type.Object(
              {
                rows: Type.Integer({ description: 'Rows the statement returned.' }),
                affectedRows: Type.Integer({ description: 'Rows it changed.' }),
                durationMs: Type.Number({ description: 'Its time on the database in ms (µs precision).' }),
              },
              {
                description:
                  'SQLite `analyze` only (it has no EXPLAIN ANALYZE): what running the statement after the plan measured.',
              },
            ),
          ),
        },
        { description: 'With `options.explain` only.' },
      ),
    ),
  },
  {
    $id: 'QueryResult',
    examples: [
      {
        columns: [{ name: 'id', type: 'BIGINT', dbType: 'int8', nullable: false }],
        rows: [{ id: '1' }],
        rowCount: 1,
        affectedRows: 0,
        lastInsertId: null,
        command: 'SELECT',
        durationMs: 0.41,
      },
    ],
  },
);

export { ErrorBodySchema };

/** Response schemas for every error status a route can answer with. */
export function errorResponses(...statuses: number[]): Record<number, TSchema> {
  const out: Record<number, TSchema> = {};
  for (const s of statuses) out[s] = ErrorBodySchema;
  return out;
}

/** The error statuses any statement-running route can produce. */
export const STATEMENT_ERROR_STATUSES = [400, 401, 403, 404, 409, 410, 413, 415, 422, 429, 500, 503, 504];
