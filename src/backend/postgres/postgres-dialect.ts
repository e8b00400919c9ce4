import { SqlgateError } from '../../errors.js';
import { type BeginOptions, type Dialect, type DialectCapabilities, ISOLATION_LEVELS } from '../dialect.js';
import type { LexerOptions } from '../sql-lexer.js';
import type { GenericType } from '../types.js';
import { postgresExplain } from './postgres-explain.js';
import { postgresTypeMapper } from './postgres-types.js';

/**
 * PostgreSQL: `$n` placeholders (they may repeat), `"` identifiers, dollar-quoted bodies, nested block
 * comments, standard-conforming strings (backslash escapes only in E'...'). Every isolation level is
 * accepted; READ UNCOMMITTED behaves as READ COMMITTED, which the SQL standard allows.
 * @see https://www.postgresql.org/docs/15/sql-syntax-lexical.html
 * @see https://www.postgresql.org/docs/15/sql-set-transaction.html
 */
export class PostgresDialect implements Dialect {
  readonly name = 'postgres';
  /** The TypeMapper role, postgres-types.ts. */
  readonly types = postgresTypeMapper;
  readonly explain = postgresExplain;
  readonly capabilities: DialectCapabilities = {
    returning: true,
    savepoints: true,
    isolationLevels: ISOLATION_LEVELS,
    readOnlyTransactions: true,
    deferrable: true,
    transactionalDdl: true,
    arrays: true,
    placeholderStyle: 'dollar',
  };
  readonly lexer: LexerOptions = {
    backslashEscapes: false,
    doubleQuoteIsString: false,
    dollarQuotes: true,
    hashComments: false,
    nestedBlockComments: true,
    bracketIdentifiers: false,
    numberedPlaceholders: true,
  };

  placeholder(index: number): string {
    return `$${index + 1}`;
  }

  quoteIdentifier(name: string): string {
    if (name.includes('\0')) throw new SqlgateError('BAD_REQUEST', 'identifiers cannot contain NUL');
    return `"${name.replaceAll('"', '""')}"`;
  }

  /**
   * `BEGIN [ISOLATION LEVEL x] [READ ONLY] [[NOT] DEFERRABLE]`. READ WRITE is never spelled out: it would
   * override `default_transaction_read_only` on a connection that is read-only on purpose.
   */
  beginSql(opts: BeginOptions): { begin: string[]; end: string[] } {
    const parts = ['BEGIN'];
    if (opts.isolationLevel) {
      // Only names from the fixed list reach SQL.
      if (!(ISOLATION_LEVELS as readonly string[]).includes(opts.isolationLevel)) {
        throw new SqlgateError('UNSUPPORTED_FEATURE', 'unknown isolation level');
      }
      parts.push(`ISOLATION LEVEL ${opts.isolationLevel}`);
    }
    if (opts.readOnly) parts.push('READ ONLY');
    if (opts.deferrable !== undefined) parts.push(opts.deferrable ? 'DEFERRABLE' : 'NOT DEFERRABLE');
    return { begin: [parts.join(' ')], end: [] };
  }

  ddlType(type: GenericType): string {
    return this.types.ddl[type];
  }
}
