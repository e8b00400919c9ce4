import { Type } from '@sinclair/typebox';
import { ERROR_CODES } from './errors.js';

/*
 * The TypeBox schema of every error response (the `ErrorBody` OpenAPI component). It sits beside the error
 * registry it is built from, so the serializer compiler (a plugin) and the route schemas (routes/schemas.ts
 * re-exports it) share it without a plugin importing from routes/.
 */

const codes = Object.keys(ERROR_CODES) as Array<keyof typeof ERROR_CODES>;

export const ErrorBodySchema = Type.Object(
  {
    error: Type.Object({
      code: Type.Union(codes.map((c) => Type.Literal(c))),
      message: Type.String(),
      class: Type.Union([Type.String(), Type.Null()]),
      retryable: Type.Boolean(),
      sqlState: Type.Optional(Type.String()),
      dbCode: Type.Optional(Type.Union([Type.String(), Type.Number()])),
      detail: Type.Optional(Type.String()),
      hint: Type.Optional(Type.String()),
      position: Type.Optional(Type.Integer()),
      constraint: Type.Optional(Type.String()),
      table: Type.Optional(Type.String()),
      column: Type.Optional(Type.String()),
      statementIndex: Type.Optional(Type.Integer()),
      backend: Type.Optional(Type.String()),
      requestId: Type.String(),
    }),
  },
  {
    $id: 'ErrorBody',
    examples: [
      {
        error: {
          code: 'UNIQUE_VIOLATION',
          message: 'duplicate key value violates unique constraint "users_email_key"',
          class: 'IntegrityError',
          retryable: false,
          sqlState: '23505',
          constraint: 'users_email_key',
          backend: 'main',
          requestId: 'req-1',
        },
      },
    ],
  },
);
