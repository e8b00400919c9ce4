import type { BeginOptions, Dialect, DialectCapabilities } from '../dialect.js';
import type { LexerOptions } from '../sql-lexer.js';
import type { GenericType } from '../types.js';
import { sqliteExplain } from './sqlite-explain.js';
import { sqliteTypeMapper } from './sqlite-types.js';

/**
 * SQLite: `?` placeholders, `"` / backtick / `[]` identifiers, one writer at a time.
 * Only SERIALIZABLE exists (every SQLite transaction is serializable); it is taken as BEGIN IMMEDIATE so the
 * write lock is held from the start and a conflicting writer waits busy_timeout instead of failing late.
 * @see https://www.sqlite.org/lang_transaction.html
 */
export class SqliteDialect implements Dialect {
  readonly name = 'sqlite';
  /** The TypeMapper role, sqlite-types.ts. */
  readonly types = sqliteTypeMapper;
  readonly explain = sqliteExplain;
  readonly capabilities: DialectCapabilities = {
    returning: true,
    savepoints: true,
    isolationLevels: ['SERIALIZABLE'],
    readOnlyTransactions: true,
    deferrable: false,
    transactionalDdl: true,
    arrays: false,
    placeholderStyle: 'question',
  };
  readonly lexer: LexerOptions = {
    backslashEscapes: false,
    doubleQuoteIsString: false,
    dollarQuotes: false,
    hashComments: false,
    nestedBlockComments: false,
    bracketIdentifiers: true,
    numberedPlaceholders: false,
  };

  placeholder(): string {
    return '?';
  }

  quoteIdentifier(name: string): string {
    return `"${name.replaceAll('"', '""')}"`;
  }

  beginSql(opts: BeginOptions): { begin: string[]; end: string[] } {
    if (opts.readOnly) {
      // query_only makes every write fail with SQLITE_READONLY until it is switched off again.
      return { begin: ['PRAGMA query_only = ON', 'BEGIN DEFERRED'], end: ['PRAGMA query_only = OFF'] };
    }
    // Without an explicit level SQLite's own default (DEFERRED) is kept; SERIALIZABLE takes the write lock now.
    return {
      begin: [opts.isolationLevel === 'SERIALIZABLE' ? 'BEGIN IMMEDIATE' : 'BEGIN DEFERRED'],
      end: [],
    };
  }

  ddlType(type: GenericType): string {
    return this.types.ddl[type];
  }
}
