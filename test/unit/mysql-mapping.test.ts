import { describe, expect, it } from 'vitest';
import { chunkSql, planBulkInsert } from '../../src/backend/mysql/mysql-bulk.js';
import { MysqlDialect } from '../../src/backend/mysql/mysql-dialect.js';
import { mapMysqlError } from '../../src/backend/mysql/mysql-errors.js';
import { MYSQL_DDL, mysqlTypeMapper } from '../../src/backend/mysql/mysql-types.js';
import { float32, toMysqlDatetime, toMysqlParam } from '../../src/backend/mysql/mysql-values.js';
import { compileStatement, scanSql } from '../../src/backend/sql-lexer.js';
import { GENERIC_TYPES } from '../../src/backend/types.js';
import { SqlgateError } from '../../src/errors.js';

/**
 * The pure parts of the MySQL backend (no database needed): dialect SQL, bulk-INSERT planning, value
 * conversion and error mapping. The behaviour against a server is covered by the other mysql-* tests.
 */

/** A mysql2-shaped server error. */
function serverError(errno: number, sqlState: string, sqlMessage: string): Error {
  return Object.assign(new Error(sqlMessage), { errno, sqlState, sqlMessage, code: 'ER_X' });
}

describe('MysqlDialect', () => {
  const d = new MysqlDialect();

  it('quotes identifiers with backticks', () => {
    expect(d.quoteIdentifier('sp 1')).toBe('`sp 1`');
    expect(d.quoteIdentifier('a`b')).toBe('`a``b`');
  });

  it('begins with SET TRANSACTION only when a level is given', () => {
    expect(d.beginSql({})).toEqual({ begin: ['START TRANSACTION'], end: [] });
    expect(d.beginSql({ readOnly: true }).begin).toEqual(['START TRANSACTION READ ONLY']);
    expect(d.beginSql({ isolationLevel: 'READ COMMITTED', readOnly: false }).begin).toEqual([
      'SET TRANSACTION ISOLATION LEVEL READ COMMITTED',
      'START TRANSACTION READ WRITE',
    ]);
    expect(() => d.beginSql({ isolationLevel: 'SNAPSHOT' as never })).toThrow(SqlgateError);
  });

  it('has a DDL type for every GenericType and reads its own DDL back', () => {
    for (const type of GENERIC_TYPES) {
      expect(d.ddlType(type)).toBe(MYSQL_DDL[type]);
      if (type !== 'ENUM' && type !== 'UUID' && type !== 'ARRAY' && type !== 'OTHER' && type !== 'INTERVAL') {
        expect(mysqlTypeMapper.toGeneric(d.ddlType(type))).toBe(type);
      }
    }
    expect(d.capabilities).toMatchObject({ returning: false, transactionalDdl: false, arrays: false });
  });

  it('lexes MySQL: # comments, backslash escapes, "strings" and `identifiers` hide placeholders', () => {
    const sql = "SELECT '\\'?', \"?\", `a?`, ? # ?\n -- ?\n, :name /* ? */";
    const scan = scanSql(sql, d.lexer);
    expect(scan.placeholders.map((p) => p.kind)).toEqual(['positional', 'named']);
    expect(scanSql('SELECT 1; # only a comment', d.lexer).statementCount).toBe(1);
    const compiled = compileStatement("SELECT :a, ':b', :a", { a: 1 }, d.lexer, () => '?');
    expect(compiled).toEqual({ sql: "SELECT ?, ':b', ?", params: [1, 1] });
  });
});

describe('bulk INSERT planning', () => {
  it('rewrites a plain single-row INSERT', () => {
    const plan = planBulkInsert("INSERT INTO t (a, b) VALUES (?, CONCAT(?, '(x)'));");
    expect(plan).toEqual({
      head: 'INSERT INTO t (a, b) VALUES ',
      tuple: "(?, CONCAT(?, '(x)'))",
      paramsPerRow: 2,
    });
    expect(chunkSql(plan as NonNullable<typeof plan>, 3)).toBe(
      "INSERT INTO t (a, b) VALUES (?, CONCAT(?, '(x)')), (?, CONCAT(?, '(x)')), (?, CONCAT(?, '(x)'))",
    );
    expect(planBulkInsert('insert t value (?) -- trailing')?.paramsPerRow).toBe(1);
  });

  it('keeps everything whose rows may count 0 or 2, or that is not one tuple', () => {
    for (const sql of [
      'INSERT IGNORE INTO t (a) VALUES (?)',
      'INSERT INTO t (a) VALUES (?) ON DUPLICATE KEY UPDATE a = VALUES(a)',
      'REPLACE INTO t (a) VALUES (?)',
      'INSERT INTO t (a) VALUES (?), (?)',
      'INSERT INTO t (a) SELECT ?',
      'INSERT INTO t SET a = ?',
      'INSERT INTO t (a) VALUES (?) RETURNING a',
      'UPDATE t SET a = ?',
      "INSERT INTO t (a) VALUES ('unterminated",
      'INSERT /*! IGNORE */ INTO t (a) VALUES (?)',
    ]) {
      expect(planBulkInsert(sql), sql).toBeNull();
    }
  });
});

describe('value conversion', () => {
  it('converts TIMESTAMP params to UTC without a Date', () => {
    expect(toMysqlDatetime('2024-03-01T01:30:00.5+02:00', 'p', true)).toBe('2024-02-29 23:30:00.5');
    expect(toMysqlDatetime('1999-12-31T20:00:00-05:00', 'p', true)).toBe('2000-01-01 01:00:00');
    expect(toMysqlDatetime('0001-01-01T00:00:00Z', 'p', true)).toBe('0001-01-01 00:00:00');
    expect(toMysqlDatetime('2024-06-01 12:00', 'p', true)).toBe('2024-06-01 12:00:00');
    expect(toMysqlDatetime('2024-01-01T00:00:00.1234560', 'p', false)).toBe('2024-01-01 00:00:00.123456');
    expect(() => toMysqlDatetime('2024-02-30T00:00:00+01:00', 'p', true)).toThrow(/valid date/);
    expect(() => toMysqlDatetime('0000-01-01T00:00:00+01:00', 'p', true)).toThrow(/0000-9999/);
    expect(() => toMysqlDatetime('2024-01-01T00:00:00.1234567', 'p', false)).toThrow(/6 fractional/);
    expect(() => toMysqlDatetime('2024-01-01T00:00:00+01:00', 'p', false)).toThrow(/no time zone/);
  });

  it('binds params with exact wire types and refuses what MySQL cannot store', () => {
    expect(toMysqlParam({ type: 'TIME', value: '12:00:00+00:00' }, 'p')).toBe('12:00:00');
    expect(() => toMysqlParam({ type: 'TIME', value: '12:00:00+01:00' }, 'p')).toThrow(/time zone/);
    expect(() => toMysqlParam({ type: 'DOUBLE', value: Number.NaN }, 'p')).toThrow(/NaN/);
    expect(() => toMysqlParam({ type: 'DATE', value: 'infinity' }, 'p')).toThrow(SqlgateError);
    expect(toMysqlParam({ type: 'JSON', value: { a: [1] } }, 'p')).toBe('{"a":[1]}');
    const big = toMysqlParam({ type: 'BIGINT', value: -(2n ** 63n) }, 'p') as {
      type: number;
      value: unknown;
    };
    expect(big.value).toBe(-(2n ** 63n));
  });

  it('reads FLOAT as the shortest decimal of its 32 bits', () => {
    expect(float32(Math.fround(0.1))).toBe(0.1);
    expect(float32(Math.fround(1234567))).toBe(1234567);
    expect(float32(Math.fround(16777217))).toBe(16777216);
    expect(float32(0)).toBe(0);
  });
});

describe('error mapping', () => {
  it('maps by errno and rebuilds messages that quote values', () => {
    const dup = mapMysqlError(
      serverError(1062, '23000', "Duplicate entry 'x' for key 'evil' for key 'uq_email'"),
      'db',
    );
    expect(dup.code).toBe('UNIQUE_VIOLATION');
    expect(dup.details).toMatchObject({
      constraint: 'uq_email',
      dbCode: 1062,
      sqlState: '23000',
      backend: 'db',
    });
    expect(dup.message).not.toContain('evil');
    expect(dup.cause).toBeInstanceOf(Error);

    const fk = mapMysqlError(
      serverError(
        1452,
        '23000',
        'Cannot add or update a child row: a foreign key constraint fails (`test`.`child`, CONSTRAINT `fk_p` FOREIGN KEY (`p`) REFERENCES `parent` (`id`))',
      ),
      'db',
    );
    expect(fk).toMatchObject({
      code: 'FOREIGN_KEY_VIOLATION',
      details: { constraint: 'fk_p', table: 'child' },
    });

    const check = mapMysqlError(serverError(4025, '23000', 'CONSTRAINT `t.qty` failed for `test`.`t`'), 'db');
    expect(check).toMatchObject({ code: 'CHECK_VIOLATION', details: { constraint: 't.qty' } });
    const mysqlCheck = mapMysqlError(serverError(3819, 'HY000', "Check constraint 'c1' is violated."), 'db');
    expect(mysqlCheck).toMatchObject({ code: 'CHECK_VIOLATION', details: { constraint: 'c1' } });

    const value = mapMysqlError(
      serverError(1366, '22007', "Incorrect integer value: 'secret' for column `test`.`t`.`i` at row 1"),
      'db',
    );
    expect(value.code).toBe('QUERY_FAILED');
    expect(value.message).not.toContain('secret');
    expect(value.message).toContain('`i`');

    const other22 = mapMysqlError(serverError(9999, '22001', "Something about 'secret'"), 'db');
    expect(other22.message).not.toContain('secret');
  });

  it('maps the codes the gateway distinguishes', () => {
    const cases: Array<[number, string]> = [
      [1213, 'DEADLOCK'],
      [1205, 'LOCK_TIMEOUT'],
      [1064, 'SQL_SYNTAX_ERROR'],
      [1146, 'UNDEFINED_OBJECT'],
      [1054, 'UNDEFINED_OBJECT'],
      [1792, 'READ_ONLY_VIOLATION'],
      [1317, 'STATEMENT_TIMEOUT'],
      [1969, 'STATEMENT_TIMEOUT'],
      [3024, 'STATEMENT_TIMEOUT'],
      [1040, 'BACKEND_UNAVAILABLE'],
      [1927, 'BACKEND_UNAVAILABLE'],
      [1235, 'UNSUPPORTED_FEATURE'],
      [1364, 'NOT_NULL_VIOLATION'],
      [1451, 'FOREIGN_KEY_VIOLATION'],
      [1050, 'QUERY_FAILED'],
    ];
    for (const [errno, code] of cases) {
      expect(mapMysqlError(serverError(errno, 'HY000', 'x'), 'db').code, String(errno)).toBe(code);
    }
    const lost = Object.assign(new Error('Connection lost'), {
      code: 'PROTOCOL_CONNECTION_LOST',
      fatal: true,
    });
    expect(mapMysqlError(lost, 'db').code).toBe('BACKEND_UNAVAILABLE');
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' });
    expect(mapMysqlError(refused, 'db')).toMatchObject({
      code: 'BACKEND_UNAVAILABLE',
      message: expect.not.stringContaining('127'),
    });
  });
});
