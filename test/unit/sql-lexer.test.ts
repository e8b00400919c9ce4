import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compileStatement, type LexerOptions, leadingKeyword, scanSql } from '../../src/backend/sql-lexer.js';
import { SqlgateError } from '../../src/errors.js';

const PG: LexerOptions = {
  backslashEscapes: false,
  doubleQuoteIsString: false,
  dollarQuotes: true,
  hashComments: false,
  nestedBlockComments: true,
  bracketIdentifiers: false,
  numberedPlaceholders: true,
};
const MY: LexerOptions = {
  backslashEscapes: true,
  doubleQuoteIsString: true,
  dollarQuotes: false,
  hashComments: true,
  nestedBlockComments: false,
  bracketIdentifiers: false,
  numberedPlaceholders: false,
};
const LITE: LexerOptions = {
  backslashEscapes: false,
  doubleQuoteIsString: false,
  dollarQuotes: false,
  hashComments: false,
  nestedBlockComments: false,
  bracketIdentifiers: true,
  numberedPlaceholders: false,
};

const pg = (sql: string, params: Record<string, unknown>) =>
  compileStatement(sql, params, PG, (i) => `$${i + 1}`);
const q = (o: LexerOptions) => (sql: string, params: Record<string, unknown>) =>
  compileStatement(sql, params, o, () => '?');

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return err instanceof SqlgateError ? err.code : 'not-a-SqlgateError';
  }
  return undefined;
}

describe('named parameters', () => {
  it('rewrites :name to native placeholders, reusing $n for repeats on PostgreSQL', () => {
    expect(pg('SELECT :a, :b, :a', { a: 1, b: 2 })).toEqual({ sql: 'SELECT $1, $2, $1', params: [1, 2] });
    expect(q(MY)('SELECT :a, :b, :a', { a: 1, b: 2 })).toEqual({ sql: 'SELECT ?, ?, ?', params: [1, 2, 1] });
  });

  it('ignores :name in strings, quoted identifiers and comments', () => {
    const sql = `SELECT ':a', "x:b", /* :c */ :d -- :e\n, 'it''s :f'`;
    expect(pg(sql, { d: 1 })).toEqual({ sql: sql.replace(':d', '$1'), params: [1] });
    expect(q(LITE)('SELECT [col:x], `y:z`, :v', { v: 1 }).sql).toBe('SELECT [col:x], `y:z`, ?');
  });

  it('leaves PostgreSQL casts, dollar quotes and nested comments alone', () => {
    const sql = "SELECT :v::int, $$ :no $$, $tag$ it's :no $tag$, /* a /* :no */ b */ :w";
    expect(pg(sql, { v: 1, w: 2 }).sql).toBe(
      "SELECT $1::int, $$ :no $$, $tag$ it's :no $tag$, /* a /* :no */ b */ $2",
    );
  });

  it('knows E-strings (PG) and backslash escapes and # comments (MySQL)', () => {
    expect(pg("SELECT E'\\' :no', :yes", { yes: 1 }).sql).toBe("SELECT E'\\' :no', $1");
    expect(q(MY)('SELECT \'a\\\' :no\', "b\\" :no", :yes # :no\n', { yes: 1 }).sql).toBe(
      'SELECT \'a\\\' :no\', "b\\" :no", ? # :no\n',
    );
  });

  it('does not mistake MySQL := or array slices with numbers for params', () => {
    expect(q(MY)('SELECT @x := 1, :y', { y: 2 }).sql).toBe('SELECT @x := 1, ?');
    expect(pg('SELECT a[1:2], :y', { y: 2 }).sql).toBe('SELECT a[1:2], $1');
  });

  it('refuses missing, unused and mixed params with PARAM_INVALID', () => {
    expect(codeOf(() => pg('SELECT :a', {}))).toBe('PARAM_INVALID');
    expect(codeOf(() => pg('SELECT :a', { a: 1, b: 2 }))).toBe('PARAM_INVALID');
    expect(codeOf(() => pg('SELECT :a, $1', { a: 1 }))).toBe('PARAM_INVALID');
  });
});

describe('positional parameters and statement count', () => {
  it('counts ? and the highest $n', () => {
    expect(compileStatement('SELECT ?, ?', [1, 2], LITE, () => '?').params).toEqual([1, 2]);
    expect(codeOf(() => compileStatement('SELECT ?', [1, 2], LITE, () => '?'))).toBe('PARAM_INVALID');
    expect(compileStatement('SELECT $2, $1, $2', ['a', 'b'], PG, (i) => `$${i + 1}`).params).toEqual([
      'a',
      'b',
    ]);
    expect(codeOf(() => compileStatement('SELECT $3', [1], PG, (i) => `$${i + 1}`))).toBe('PARAM_INVALID');
    expect(compileStatement("SELECT '?' , x ? 'k'", [1], LITE, () => '?').params).toEqual([1]);
  });

  it('allows one statement with a trailing semicolon and comments, refuses two', () => {
    expect(scanSql('SELECT 1; -- done\n /* x */', PG).statementCount).toBe(1);
    expect(scanSql("SELECT ';'", PG).statementCount).toBe(1);
    expect(scanSql('SELECT $$;$$', PG).statementCount).toBe(1);
    expect(scanSql('SELECT 1; SELECT 2', PG).statementCount).toBe(2);
    expect(codeOf(() => compileStatement('SELECT 1; DROP TABLE x', [], PG, () => '$1'))).toBe('BAD_REQUEST');
    expect(codeOf(() => compileStatement(' -- nothing', [], PG, () => '$1'))).toBe('BAD_REQUEST');
  });

  it('finds the leading keyword', () => {
    expect(leadingKeyword('  /* c */ -- x\n (select 1)')).toBe('SELECT');
    expect(leadingKeyword('insert into t values (1)')).toBe('INSERT');
    expect(leadingKeyword('')).toBe('');
  });
});

describe('properties', () => {
  const name = fc.stringMatching(/^[a-z_][a-z0-9_]{0,8}$/);
  const text = fc.string({ maxLength: 12 }).map((s) => s.replace(/'/g, "''"));

  it('never sees placeholders inside string literals, whatever they contain', () => {
    fc.assert(
      fc.property(fc.array(text, { maxLength: 5 }), (parts) => {
        const sql = `SELECT ${parts.map((p) => `'${p}'`).join(', ') || '1'}`;
        for (const o of [PG, LITE]) {
          expect(scanSql(sql, o).placeholders).toEqual([]);
          expect(scanSql(sql, o).statementCount).toBe(1);
        }
      }),
    );
  });

  it('rewrites exactly the named placeholders outside literals, in order', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(name, text), { minLength: 1, maxLength: 6 }), (pairs) => {
        const sql = `SELECT ${pairs.map(([n, t]) => `:${n}, '${t}'`).join(', ')}`;
        const params = Object.fromEntries(pairs.map(([n]) => [n, n]));
        const out = q(LITE)(sql, params);
        expect(out.params).toEqual(pairs.map(([n]) => n));
        expect(out.sql).toBe(`SELECT ${pairs.map(([, t]) => `?, '${t}'`).join(', ')}`);
        const outPg = pg(sql, params);
        const distinct = [...new Set(pairs.map(([n]) => n))];
        expect(outPg.params).toEqual(distinct);
      }),
    );
  });

  it('never throws anything but a SqlgateError on arbitrary input', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 60 }), (sql) => {
        for (const o of [PG, MY, LITE]) {
          const code = codeOf(() => compileStatement(sql, {}, o, () => '?'));
          expect(code === undefined || code !== 'not-a-SqlgateError').toBe(true);
        }
      }),
      { numRuns: 500 },
    );
  });
});
