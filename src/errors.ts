/**
 * The one error registry: every code the gateway can answer with, its HTTP status, the error class of the
 * client-side hierarchy (the RhoSocial ActiveRecord names, so an ORM adapter can raise the right exception)
 * and whether retrying the same request may succeed. `docs/errors.md` and the OpenAPI spec are checked
 * against this table by a test.
 */

export interface ErrorSpec {
  status: number;
  /** The seed ORM's exception class; `null` for protocol-level errors that have none. */
  class: string | null;
  retryable: boolean;
  /** One line for docs and the spec. */
  description: string;
}

export const ERROR_CODES = {
  BAD_REQUEST: {
    status: 400,
    class: 'ValidationError',
    retryable: false,
    description: 'The request does not match the schema, or `sql` holds more than one statement.',
  },
  PARAM_INVALID: {
    status: 400,
    class: 'TypeConversionError',
    retryable: false,
    description: 'A parameter is malformed (bad tagged value, unsafe integer) or the count does not match.',
  },
  SQL_SYNTAX_ERROR: {
    status: 400,
    class: 'QueryError',
    retryable: false,
    description: 'The database rejected the SQL text.',
  },
  UNDEFINED_OBJECT: {
    status: 400,
    class: 'QueryError',
    retryable: false,
    description: 'A table, column, function or other object named in the SQL does not exist.',
  },
  QUERY_FAILED: {
    status: 400,
    class: 'DatabaseError',
    retryable: false,
    description: 'The statement failed for another reason (bad value, division by zero, ...).',
  },
  UNSUPPORTED_FEATURE: {
    status: 400,
    class: 'TransactionError',
    retryable: false,
    description: 'The backend cannot do what was asked (an isolation level, arrays, ...).',
  },
  UNAUTHORIZED: {
    status: 401,
    class: null,
    retryable: false,
    description: 'No valid credentials.',
  },
  FORBIDDEN: {
    status: 403,
    class: null,
    retryable: false,
    description: 'The credentials do not allow this backend or operation.',
  },
  READ_ONLY_VIOLATION: {
    status: 403,
    class: 'OperationalError',
    retryable: false,
    description: 'A write was attempted in a read-only transaction or by a read-only principal.',
  },
  NOT_FOUND: {
    status: 404,
    class: null,
    retryable: false,
    description: 'No such route.',
  },
  BACKEND_NOT_FOUND: {
    status: 404,
    class: null,
    retryable: false,
    description: 'No backend of that name is configured (or visible to the caller).',
  },
  SESSION_NOT_FOUND: {
    status: 404,
    class: null,
    retryable: false,
    description: 'No session with that id belongs to the caller.',
  },
  SESSION_EXPIRED: {
    status: 410,
    class: 'TransactionError',
    retryable: false,
    description: 'The session timed out or was closed; its transaction was rolled back.',
  },
  UNIQUE_VIOLATION: {
    status: 409,
    class: 'IntegrityError',
    retryable: false,
    description: 'A unique or primary key constraint was violated.',
  },
  FOREIGN_KEY_VIOLATION: {
    status: 409,
    class: 'IntegrityError',
    retryable: false,
    description: 'A foreign key constraint was violated.',
  },
  NOT_NULL_VIOLATION: {
    status: 409,
    class: 'IntegrityError',
    retryable: false,
    description: 'NULL was written to a NOT NULL column.',
  },
  CHECK_VIOLATION: {
    status: 409,
    class: 'IntegrityError',
    retryable: false,
    description: 'A CHECK constraint was violated.',
  },
  DEADLOCK: {
    status: 409,
    class: 'DeadlockError',
    retryable: true,
    description: 'The database broke a deadlock by aborting this transaction; retry the whole transaction.',
  },
  SERIALIZATION_FAILURE: {
    status: 409,
    class: 'TransactionError',
    retryable: true,
    description: 'A concurrent transaction conflicted; retry the whole transaction.',
  },
  LOCK_TIMEOUT: {
    status: 409,
    class: 'LockError',
    retryable: true,
    description: 'A lock could not be acquired in time (SQLite: the database is busy).',
  },
  TRANSACTION_ABORTED: {
    status: 409,
    class: 'TransactionError',
    retryable: false,
    description: 'The transaction failed earlier; roll back (or to a savepoint) before anything else.',
  },
  INVALID_TRANSACTION_STATE: {
    status: 409,
    class: 'TransactionError',
    retryable: false,
    description: 'The operation does not fit the transaction state (commit with no transaction, ...).',
  },
  NOT_ACCEPTABLE: {
    status: 406,
    class: null,
    retryable: false,
    description:
      'No response format in `Accept` (or `format`) is one the route can produce (JSON, CSV, text, NDJSON).',
  },
  PAYLOAD_TOO_LARGE: {
    status: 413,
    class: null,
    retryable: false,
    description: 'The request body exceeds the configured limit.',
  },
  METHOD_NOT_ALLOWED: {
    status: 405,
    class: null,
    retryable: false,
    description: 'The path exists but not with this method; `Allow` lists the methods it has.',
  },
  HEADERS_TOO_LARGE: {
    status: 431,
    class: null,
    retryable: false,
    description: 'The request headers exceed `server.maxHeaderBytes` (an oversized token or cookie).',
  },
  UNSUPPORTED_MEDIA_TYPE: {
    status: 415,
    class: null,
    retryable: false,
    description: 'The body is not `application/json`.',
  },
  RESULT_TOO_LARGE: {
    status: 422,
    class: 'OperationalError',
    retryable: false,
    description: 'The result exceeds maxRows or maxResponseBytes; the query was stopped.',
  },
  TYPE_CONVERSION_ERROR: {
    status: 422,
    class: 'TypeConversionError',
    retryable: false,
    description: 'A result value cannot be represented as asked (e.g. int64 "number" beyond 2^53-1).',
  },
  RATE_LIMITED: {
    status: 429,
    class: 'OperationalError',
    retryable: true,
    description: 'Too many requests for this principal; wait for Retry-After seconds.',
  },
  TOO_MANY_SESSIONS: {
    status: 429,
    class: 'OperationalError',
    retryable: true,
    description: 'The limit on open sessions (total or per principal) is reached.',
  },
  INTERNAL: {
    status: 500,
    class: 'DatabaseError',
    retryable: false,
    description: 'An unexpected failure inside the gateway; the requestId finds it in the logs.',
  },
  BACKEND_UNAVAILABLE: {
    status: 503,
    class: 'ConnectionError',
    retryable: true,
    description: 'The database could not be reached or the connection was lost.',
  },
  OVERLOADED: {
    status: 503,
    class: 'OperationalError',
    retryable: true,
    description: 'No connection became free in time, or a queue is full; wait for Retry-After seconds.',
  },
  STATEMENT_TIMEOUT: {
    status: 504,
    class: 'OperationalError',
    retryable: false,
    description: 'The statement ran longer than its timeout and was cancelled.',
  },
} as const satisfies Record<string, ErrorSpec>;

export type ErrorCode = keyof typeof ERROR_CODES;

/** Optional structured fields of an error body; never params, SQL values, stacks or DSNs. */
export interface ErrorDetails {
  sqlState?: string;
  dbCode?: string | number;
  detail?: string;
  hint?: string;
  position?: number;
  constraint?: string;
  table?: string;
  column?: string;
  statementIndex?: number;
  backend?: string;
  /** Seconds, sent as the Retry-After header for 429/503. */
  retryAfter?: number;
}

/** The one error type the gateway throws; everything else is converted to it at the edge. */
export class SqlgateError extends Error {
  readonly code: ErrorCode;
  readonly details: ErrorDetails;

  constructor(code: ErrorCode, message: string, details: ErrorDetails = {}, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SqlgateError';
    this.code = code;
    this.details = details;
  }

  get status(): number {
    return ERROR_CODES[this.code].status;
  }

  /** A copy with more details (e.g. statementIndex added by a batch). */
  with(details: ErrorDetails): SqlgateError {
    const copy = new SqlgateError(
      this.code,
      this.message,
      { ...this.details, ...details },
      { cause: this.cause },
    );
    return copy;
  }
}

export function isSqlgateError(err: unknown): err is SqlgateError {
  return err instanceof SqlgateError;
}

/** The JSON error body of the HTTP API. */
export interface ErrorBody {
  error: {
    code: ErrorCode;
    message: string;
    class: string | null;
    retryable: boolean;
    requestId: string;
  } & Omit<ErrorDetails, 'retryAfter'>;
}

export function toErrorBody(err: SqlgateError, requestId: string): ErrorBody {
  const spec = ERROR_CODES[err.code];
  const { retryAfter: _retryAfter, ...details } = err.details;
  return {
    error: {
      code: err.code,
      message: err.message,
      class: spec.class,
      retryable: spec.retryable,
      ...details,
      requestId,
    },
  };
}
