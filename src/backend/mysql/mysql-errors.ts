import { type ErrorCode, type ErrorDetails, SqlgateError } from '../../errors.js';

/**
 * MySQL / MariaDB errors -> gateway errors, by server errno (or mysql2's code for client-side failures),
 * never by message text. Messages of errors that can quote a stored or bound value (a duplicate key, an
 * incorrect datetime, ...) are rebuilt so that no value reaches a response; only identifiers (key,
 * constraint, column names) are taken from the server's text, never used to classify.
 * @see https://mariadb.com/kb/en/mariadb-error-code-reference/
 * @see https://dev.mysql.com/doc/mysql-errors/8.0/en/server-error-reference.html
 */

const BY_ERRNO: Record<number, ErrorCode> = {
  1062: 'UNIQUE_VIOLATION', // ER_DUP_ENTRY
  1586: 'UNIQUE_VIOLATION', // ER_DUP_ENTRY_WITH_KEY_NAME
  1451: 'FOREIGN_KEY_VIOLATION', // ER_ROW_IS_REFERENCED_2
  1452: 'FOREIGN_KEY_VIOLATION', // ER_NO_REFERENCED_ROW_2
  1216: 'FOREIGN_KEY_VIOLATION', // ER_NO_REFERENCED_ROW
  1217: 'FOREIGN_KEY_VIOLATION', // ER_ROW_IS_REFERENCED
  1048: 'NOT_NULL_VIOLATION', // ER_BAD_NULL_ERROR
  1364: 'NOT_NULL_VIOLATION', // ER_NO_DEFAULT_FOR_FIELD
  3819: 'CHECK_VIOLATION', // MySQL ER_CHECK_CONSTRAINT_VIOLATED
  4025: 'CHECK_VIOLATION', // MariaDB ER_CONSTRAINT_FAILED
  1213: 'DEADLOCK', // ER_LOCK_DEADLOCK
  1205: 'LOCK_TIMEOUT', // ER_LOCK_WAIT_TIMEOUT
  3572: 'LOCK_TIMEOUT', // MySQL ER_LOCK_NOWAIT (NOWAIT)
  1064: 'SQL_SYNTAX_ERROR', // ER_PARSE_ERROR
  1149: 'SQL_SYNTAX_ERROR', // ER_SYNTAX_ERROR
  1146: 'UNDEFINED_OBJECT', // ER_NO_SUCH_TABLE
  1054: 'UNDEFINED_OBJECT', // ER_BAD_FIELD_ERROR
  1305: 'UNDEFINED_OBJECT', // ER_SP_DOES_NOT_EXIST (functions, procedures, savepoints)
  1049: 'UNDEFINED_OBJECT', // ER_BAD_DB_ERROR
  1051: 'UNDEFINED_OBJECT', // ER_BAD_TABLE_ERROR
  1109: 'UNDEFINED_OBJECT', // ER_UNKNOWN_TABLE
  1091: 'UNDEFINED_OBJECT', // ER_CANT_DROP_FIELD_OR_KEY
  1176: 'UNDEFINED_OBJECT', // ER_KEY_DOES_NOT_EXITS
  1792: 'READ_ONLY_VIOLATION', // ER_CANT_EXECUTE_IN_READ_ONLY_TRANSACTION
  1290: 'READ_ONLY_VIOLATION', // ER_OPTION_PREVENTS_STATEMENT (--read-only server)
  1836: 'READ_ONLY_VIOLATION', // ER_READ_ONLY_MODE
  3024: 'STATEMENT_TIMEOUT', // MySQL ER_QUERY_TIMEOUT (MAX_EXECUTION_TIME)
  1969: 'STATEMENT_TIMEOUT', // MariaDB ER_STATEMENT_TIMEOUT (max_statement_time)
  1317: 'STATEMENT_TIMEOUT', // ER_QUERY_INTERRUPTED (KILL QUERY)
  1927: 'BACKEND_UNAVAILABLE', // MariaDB ER_CONNECTION_KILLED
  2006: 'BACKEND_UNAVAILABLE', // CR_SERVER_GONE_ERROR
  2013: 'BACKEND_UNAVAILABLE', // CR_SERVER_LOST
  4031: 'BACKEND_UNAVAILABLE', // MySQL ER_CLIENT_INTERACTION_TIMEOUT
  1040: 'BACKEND_UNAVAILABLE', // ER_CON_COUNT_ERROR (too many connections)
  1045: 'BACKEND_UNAVAILABLE', // ER_ACCESS_DENIED_ERROR (at connect: the configured credentials)
  1053: 'BACKEND_UNAVAILABLE', // ER_SERVER_SHUTDOWN
  1044: 'FORBIDDEN', // ER_DBACCESS_DENIED_ERROR
  1142: 'FORBIDDEN', // ER_TABLEACCESS_DENIED_ERROR
  1143: 'FORBIDDEN', // ER_COLUMNACCESS_DENIED_ERROR
  1227: 'FORBIDDEN', // ER_SPECIFIC_ACCESS_DENIED_ERROR
  1370: 'FORBIDDEN', // ER_PROCACCESS_DENIED_ERROR
  1235: 'UNSUPPORTED_FEATURE', // ER_NOT_SUPPORTED_YET
  1178: 'UNSUPPORTED_FEATURE', // ER_CHECK_NOT_IMPLEMENTED
  1295: 'UNSUPPORTED_FEATURE', // ER_UNSUPPORTED_PS
  1210: 'PARAM_INVALID', // ER_WRONG_ARGUMENTS (to mysqld_stmt_execute)
};

/** mysql2's codes for failures on the client side of the socket. */
const CONNECTION_CODES = new Set([
  'PROTOCOL_CONNECTION_LOST',
  'PROTOCOL_SEQUENCE_TIMEOUT',
  'PROTOCOL_PACKETS_OUT_OF_ORDER',
  'PROTOCOL_UNEXPECTED_PACKET',
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
  'ER_NET_PACKET_TOO_LARGE',
]);

/** Errnos whose server message may quote a value (bound or stored): their quoted literals are removed. */
const VALUE_QUOTING = new Set([1292, 1366, 1367, 1411, 1300, 1918, 1265, 1690, 3140, 4038, 1406, 1264]);

/** The shape of a mysql2 error (server errors carry errno/sqlState; client ones only a code). */
export interface MysqlDriverError {
  message: string;
  code?: string;
  errno?: number;
  sqlState?: string;
  sqlMessage?: string;
  fatal?: boolean;
}

export function isMysqlDriverError(err: unknown): err is MysqlDriverError {
  return err instanceof Error && ('errno' in err || 'code' in err || 'fatal' in err);
}

/** The last `'...'` or `` `...` `` in `text` after `marker`; identifiers only (keys, constraints, columns). */
function quotedAfter(text: string, marker: RegExp): string | undefined {
  const m = marker.exec(text);
  return m?.[1];
}

const unquote = (s: string | undefined) => s?.replace(/^[`'"]|[`'"]$/g, '');

/** The message and structured details for an error whose server text must not be passed on as is. */
function rebuild(errno: number, text: string): { message: string; details: ErrorDetails } | null {
  switch (errno) {
    case 1062:
    case 1586: {
      // "Duplicate entry '<value>' for key '<key>'": the value may be anything, the key is at the end.
      const key = quotedAfter(text, / for key '((?:[^']|'')*)'\s*$/);
      return {
        message: key ? `duplicate value for unique key "${key}"` : 'duplicate value for a unique key',
        details: key ? { constraint: key } : {},
      };
    }
    case 1451:
    case 1452:
    case 1216:
    case 1217: {
      const constraint = unquote(quotedAfter(text, /CONSTRAINT (`(?:[^`]|``)*`)/));
      const table = unquote(quotedAfter(text, /\(`(?:[^`]|``)*`\.(`(?:[^`]|``)*`)/));
      const parent = errno === 1451 || errno === 1217;
      return {
        message: parent
          ? `the row is still referenced by a foreign key${constraint ? ` ("${constraint}")` : ''}`
          : `no matching parent row for foreign key${constraint ? ` "${constraint}"` : ''}`,
        details: { ...(constraint ? { constraint } : {}), ...(table ? { table } : {}) },
      };
    }
    case 1048:
    case 1364: {
      const column = quotedAfter(text, /(?:Column|Field) '((?:[^']|'')*)'/);
      return {
        message:
          errno === 1048
            ? `column${column ? ` "${column}"` : ''} cannot be NULL`
            : `column${column ? ` "${column}"` : ''} has no default value and none was given`,
        details: column ? { column } : {},
      };
    }
    case 3819:
    case 4025: {
      const constraint =
        errno === 3819
          ? quotedAfter(text, /constraint '((?:[^']|'')*)'/i)
          : unquote(quotedAfter(text, /^CONSTRAINT (`(?:[^`]|``)*`)/));
      return {
        message: `CHECK constraint${constraint ? ` "${constraint}"` : ''} failed`,
        details: constraint ? { constraint } : {},
      };
    }
    default:
      if (VALUE_QUOTING.has(errno)) {
        // Keep the sentence and the backtick-quoted identifiers, drop the single-quoted literals.
        return { message: text.replace(/'(?:[^'\\]|\\.|'')*'/g, '<value>'), details: {} };
      }
      return null;
  }
}

/**
 * One mysql2 error -> SqlgateError with `dbCode` (errno) and `sqlState`, the original as `cause`.
 * SQLSTATE class 22 (data exceptions) and 23 (integrity) messages are scrubbed of quoted values too.
 */
export function mapMysqlError(err: unknown, backend: string): SqlgateError {
  if (err instanceof SqlgateError) return err;
  if (!isMysqlDriverError(err)) {
    return new SqlgateError('INTERNAL', 'the MySQL driver failed', { backend }, { cause: err });
  }
  // Only server errors carry a positive errno. A socket failure surfaces as a Node system error whose
  // errno is the negative OS number (ECONNRESET = -104) next to its `code`: it is classified by that
  // code and `fatal`, never looked up as a server errno (that made a reset mid-statement QUERY_FAILED).
  const errno = serverErrno(err);
  const sqlState = err.sqlState && err.sqlState !== 'HY000' ? err.sqlState : undefined;
  const text = err.sqlMessage ?? err.message;
  const base: ErrorDetails = { backend };
  if (errno !== undefined) base.dbCode = errno;
  if (err.sqlState) base.sqlState = err.sqlState;
  if (errno === undefined) {
    if (err.code && CONNECTION_CODES.has(err.code)) {
      return new SqlgateError(
        'BACKEND_UNAVAILABLE',
        `the connection to MySQL failed (${err.code})`,
        { backend, dbCode: err.code },
        { cause: err },
      );
    }
    if (err.fatal) {
      return new SqlgateError('BACKEND_UNAVAILABLE', 'the MySQL connection is closed', base, { cause: err });
    }
    return new SqlgateError('INTERNAL', 'the MySQL driver failed', base, { cause: err });
  }
  const code: ErrorCode = BY_ERRNO[errno] ?? 'QUERY_FAILED';
  let rebuilt = rebuild(errno, text);
  if (!rebuilt && sqlState && /^2[23]/.test(sqlState)) {
    rebuilt = { message: text.replace(/'(?:[^'\\]|\\.|'')*'/g, '<value>'), details: {} };
  }
  const message = rebuilt?.message ?? text;
  return new SqlgateError(code, message, { ...base, ...(rebuilt?.details ?? {}) }, { cause: err });
}

/** The server's error number, or undefined for client-side and socket failures. */
function serverErrno(err: MysqlDriverError): number | undefined {
  return typeof err.errno === 'number' && err.errno > 0 ? err.errno : undefined;
}

/** Errors after which the connection cannot be used any more. */
export function isFatalMysqlError(err: unknown): boolean {
  if (!isMysqlDriverError(err)) return false;
  if (err.fatal) return true;
  const errno = serverErrno(err);
  if (errno === 1927 || errno === 4031 || errno === 1053) return true;
  return err.code !== undefined && CONNECTION_CODES.has(err.code);
}
