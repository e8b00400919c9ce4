import { type ErrorCode, SqlgateError } from '../../errors.js';
import { leadingKeyword } from '../sql-lexer.js';

/**
 * SQLite errors -> gateway errors, by extended result code (better-sqlite3 puts it in `code`).
 * The one exception is plain SQLITE_ERROR, which SQLite uses for syntax errors and missing objects alike:
 * there the fixed wording of SQLite's own messages ("no such table", "syntax error") is the only signal.
 * @see https://www.sqlite.org/rescode.html
 */
const BY_CODE: Record<string, ErrorCode> = {
  SQLITE_CONSTRAINT_UNIQUE: 'UNIQUE_VIOLATION',
  SQLITE_CONSTRAINT_PRIMARYKEY: 'UNIQUE_VIOLATION',
  SQLITE_CONSTRAINT_ROWID: 'UNIQUE_VIOLATION',
  SQLITE_CONSTRAINT_FOREIGNKEY: 'FOREIGN_KEY_VIOLATION',
  SQLITE_CONSTRAINT_NOTNULL: 'NOT_NULL_VIOLATION',
  SQLITE_CONSTRAINT_CHECK: 'CHECK_VIOLATION',
  // A deferred transaction read a snapshot that another writer has since changed, then tried to write:
  // SQLite refuses at once (no busy wait). Retrying the whole transaction succeeds, as for PostgreSQL's 40001.
  SQLITE_BUSY_SNAPSHOT: 'SERIALIZATION_FAILURE',
  SQLITE_INTERRUPT: 'STATEMENT_TIMEOUT',
  SQLITE_RANGE: 'PARAM_INVALID',
  SQLITE_AUTH: 'FORBIDDEN',
  SQLITE_CANTOPEN: 'BACKEND_UNAVAILABLE',
  SQLITE_NOTADB: 'BACKEND_UNAVAILABLE',
  SQLITE_CORRUPT: 'BACKEND_UNAVAILABLE',
  SQLITE_IOERR: 'BACKEND_UNAVAILABLE',
};

const BY_PRIMARY: Record<string, ErrorCode> = {
  SQLITE_BUSY: 'LOCK_TIMEOUT',
  SQLITE_LOCKED: 'LOCK_TIMEOUT',
  SQLITE_READONLY: 'READ_ONLY_VIOLATION',
  SQLITE_CONSTRAINT: 'QUERY_FAILED',
  SQLITE_IOERR: 'BACKEND_UNAVAILABLE',
  SQLITE_CANTOPEN: 'BACKEND_UNAVAILABLE',
};

/** The serialisable form a worker sends for a driver error. */
export interface SqliteErrorInfo {
  code: string;
  message: string;
}

function classifyPlainError(message: string): ErrorCode {
  if (/^no such (table|column|function|index|view|trigger|savepoint|collation|module)/.test(message)) {
    return 'UNDEFINED_OBJECT';
  }
  if (/syntax error|^incomplete input|^unrecognized token/.test(message)) return 'SQL_SYNTAX_ERROR';
  if (/^cannot (commit|rollback|start a transaction)/.test(message)) return 'INVALID_TRANSACTION_STATE';
  return 'QUERY_FAILED';
}

/**
 * Statements that open a file the client names: when that file cannot be opened (missing directory, a
 * read-only connection, not a database) it is the caller's error, not the backend being unavailable.
 */
const OPENS_NAMED_FILE = new Set(['ATTACH', 'VACUUM']);
const FILE_CODES = new Set(['SQLITE_CANTOPEN', 'SQLITE_NOTADB']);

/**
 * @param statementSql the client statement that failed, when the error came from one; the database's own
 *   file failing (open, I/O) stays BACKEND_UNAVAILABLE.
 */
export function mapSqliteError(info: SqliteErrorInfo, backend: string, statementSql?: string): SqlgateError {
  const primary = info.code.replace(/^(SQLITE_[A-Z]+)_.*$/, '$1');
  if (
    statementSql !== undefined &&
    FILE_CODES.has(primary) &&
    OPENS_NAMED_FILE.has(leadingKeyword(statementSql))
  ) {
    return new SqlgateError(
      'QUERY_FAILED',
      `${info.message} (the file named in the statement could not be opened as a database)`,
      { dbCode: info.code, backend },
    );
  }
  const code: ErrorCode =
    BY_CODE[info.code] ??
    BY_PRIMARY[primary] ??
    (primary === 'SQLITE_ERROR' ? classifyPlainError(info.message) : 'QUERY_FAILED');
  const message = code === 'LOCK_TIMEOUT' ? `database is locked (${info.message})` : info.message;
  return new SqlgateError(code, message, { dbCode: info.code, backend });
}
