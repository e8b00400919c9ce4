import { SqlgateError } from '../../errors.js';
import type { BeginOptions, Dialect, DialectCapabilities } from '../dialect.js';
import type { LexerOptions } from '../sql-lexer.js';
import type { GenericType } from '../types.js';
import { mysqlExplain } from './mysql-explain.js';
import { mysqlTypeMapper } from './mysql-types.js';

/**
 * MySQL / MariaDB: `?` placeholders, backtick identifiers, `"..."` strings, `#` comments, backslash escapes.
 *
 * - `returning: false`: MySQL has no `INSERT ... RETURNING` at all and MariaDB's (10.5+) covers only
 *   INSERT/REPLACE/DELETE, not UPDATE; clients read `lastInsertId` instead, the same way on both.
 * - `transactionalDdl: false`: every DDL statement commits the open transaction implicitly (and cannot be
 *   rolled back). The Connection reports that truthfully through `txStatus()` afterwards.
 * - All four isolation levels exist; `SET TRANSACTION ISOLATION LEVEL` applies to the next transaction only.
 * @see https://mariadb.com/kb/en/start-transaction/
 * @see https://dev.mysql.com/doc/refman/8.0/en/implicit-commit.html
 */
export class MysqlDialect implements Dialect {
  readonly name = 'mysql';
  /** The TypeMapper role, mysql-types.ts. */
  readonly types = mysqlTypeMapper;
  readonly explain = mysqlExplain;
  readonly capabilities: DialectCapabilities = {
    returning: false,
    savepoints: true,
    isolationLevels: ['READ UNCOMMITTED', 'READ COMMITTED', 'REPEATABLE READ', 'SERIALIZABLE'],
    readOnlyTransactions: true,
    deferrable: false,
    transactionalDdl: false,
    arrays: false,
    placeholderStyle: 'question',
  };
  readonly lexer: LexerOptions = {
    backslashEscapes: true,
    doubleQuoteIsString: true,
    dollarQuotes: false,
    hashComments: true,
    nestedBlockComments: false,
    bracketIdentifiers: false,
    numberedPlaceholders: false,
  };

  placeholder(): string {
    return '?';
  }

  quoteIdentifier(name: string): string {
    return `\`${name.replaceAll('`', '``')}\``;
  }

  beginSql(opts: BeginOptions): { begin: string[]; end: string[] } {
    const begin: string[] = [];
    if (opts.isolationLevel) {
      // Pasted into SQL, so only a level from the fixed list.
      if (!this.capabilities.isolationLevels.includes(opts.isolationLevel)) {
        throw new SqlgateError('UNSUPPORTED_FEATURE', 'unknown isolation level');
      }
      // Without SESSION/GLOBAL this sets the level of the next transaction only, so nothing outlives it.
      begin.push(`SET TRANSACTION ISOLATION LEVEL ${opts.isolationLevel}`);
    }
    if (opts.readOnly === true) begin.push('START TRANSACTION READ ONLY');
    else if (opts.readOnly === false) begin.push('START TRANSACTION READ WRITE');
    else begin.push('START TRANSACTION');
    return { begin, end: [] };
  }

  ddlType(type: GenericType): string {
    return this.types.ddl[type];
  }
}
