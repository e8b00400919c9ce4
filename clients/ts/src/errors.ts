/**
 * The one error type of the client. Server errors carry the gateway's body (docs/errors.md); the client's own
 * failures use codes of their own: NETWORK_ERROR, TIMEOUT, ABORTED, BAD_RESPONSE, STREAM_INCOMPLETE (a
 * stream cut before its trailer), PARAM_INVALID (a value the client cannot send exactly), TRANSACTION_CLOSED
 * (a transaction or session used after it ended).
 */
export class SqlgateError extends Error {
  /** Stable machine-readable code, e.g. `UNIQUE_VIOLATION` or `NETWORK_ERROR`. */
  readonly code: string;
  /** The seed error class the gateway names (`IntegrityError`, `ConnectionError`, ...), when it named one. */
  readonly class: string | undefined;
  /** Whether the same request may succeed when sent again (the client only retries where it is safe). */
  readonly retryable: boolean;
  /** HTTP status of the reply; 0 when no reply came (network failure, timeout, abort, client-side check). */
  readonly status: number;
  /** The database's SQLSTATE, when the database reported one. */
  readonly sqlState: string | undefined;
  /** Which statement of a batch failed (0-based), for batch errors. */
  readonly statementIndex: number | undefined;
  /** The gateway's request id (also in its logs), when a reply came. */
  readonly requestId: string | undefined;
  /** Further fields of the error body: detail, hint, constraint, table, column, dbCode, backend... */
  readonly info: Readonly<Record<string, unknown>>;

  constructor(code: string, message: string, init: ErrorInit = {}) {
    super(message, init.cause === undefined ? undefined : { cause: init.cause });
    this.name = 'SqlgateError';
    this.code = code;
    this.class = init.class;
    this.retryable = init.retryable ?? false;
    this.status = init.status ?? 0;
    this.sqlState = init.sqlState;
    this.statementIndex = init.statementIndex;
    this.requestId = init.requestId;
    this.info = init.info ?? {};
  }
}

/** Optional parts of a SqlgateError. */
export interface ErrorInit {
  class?: string | undefined;
  retryable?: boolean | undefined;
  status?: number | undefined;
  sqlState?: string | undefined;
  statementIndex?: number | undefined;
  requestId?: string | undefined;
  info?: Record<string, unknown> | undefined;
  cause?: unknown;
}

/** Builds the error for a gateway error body (or an unparseable reply). */
export function fromBody(status: number, body: unknown, requestId: string | undefined): SqlgateError {
  const e = (body as { error?: Record<string, unknown> } | null)?.error;
  if (!e || typeof e.code !== 'string') {
    return new SqlgateError('BAD_RESPONSE', `the gateway answered HTTP ${status} without an error body`, {
      status,
      requestId,
      retryable: status === 502 || status === 503 || status === 504,
    });
  }
  const { code, message, class: cls, retryable, sqlState, statementIndex, requestId: rid, ...info } = e;
  return new SqlgateError(code, String(message ?? code), {
    status,
    class: typeof cls === 'string' ? cls : undefined,
    retryable: retryable === true,
    sqlState: typeof sqlState === 'string' ? sqlState : undefined,
    statementIndex: typeof statementIndex === 'number' ? statementIndex : undefined,
    requestId: typeof rid === 'string' ? rid : requestId,
    info,
  });
}
