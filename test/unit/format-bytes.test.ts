import { describe, expect, it } from 'vitest';
import { fromWire } from '../../src/backend/rows-json.js';
import type { Column, GenericType, QueryResult } from '../../src/backend/types.js';
import { csvBytes, toCsv } from '../../src/query/formats/csv.js';
import { toTextTable } from '../../src/query/formats/text-table.js';
import { textTableBytes } from '../../src/query/formats/text-table-bytes.js';

/**
 * csvBytes and textTableBytes write the body from the rows' JSON text (cell-grid.ts); they must give
 * exactly the bytes of the string forms over the parsed rows (toCsv, toTextTable), for every kind of cell.
 */
const col = (name: string, type: GenericType = 'TEXT'): Column =>
  ({ name, type, dbType: type.toLowerCase(), nullable: true }) as Column;

function results(columns: Column[], rowsJson: string): { wire: QueryResult; parsed: QueryResult } {
  const base = {
    columns,
    rowCount: 0,
    affectedRows: 0,
    lastInsertId: null,
    command: 'SELECT',
    durationMs: 1.25,
  };
  const rows = JSON.parse(rowsJson) as QueryResult['rows'];
  return {
    wire: fromWire({ ...base, rowCount: rows.length, rows: [], rowsJson } as QueryResult & {
      rowsJson: string;
    }),
    parsed: { ...base, rowCount: rows.length, rows } as QueryResult,
  };
}

function expectSameBytes(columns: Column[], rowsJson: string, maxWidth = 48): void {
  // The string forms read the same rows JSON text (rows-text.ts): what the responses were before.
  const table = Buffer.from(toTextTable(results(columns, rowsJson).wire, { maxWidth })).toString('latin1');
  const csv = Buffer.from(toCsv(results(columns, rowsJson).wire)).toString('latin1');
  expect(textTableBytes(results(columns, rowsJson).wire, { maxWidth }).toString('latin1')).toBe(table);
  expect(csvBytes(results(columns, rowsJson).wire).toString('latin1')).toBe(csv);
  // Without rows JSON text (rows already parsed) the byte forms still equal the string forms.
  const parsedTable = Buffer.from(toTextTable(results(columns, rowsJson).parsed, { maxWidth }));
  expect(textTableBytes(results(columns, rowsJson).parsed, { maxWidth }).equals(parsedTable)).toBe(true);
  const parsedCsv = Buffer.from(toCsv(results(columns, rowsJson).parsed));
  expect(csvBytes(results(columns, rowsJson).parsed).equals(parsedCsv)).toBe(true);
}

describe('text formats written as bytes', () => {
  it('keeps the JSON text of numbers (the reference is not JSON.parse)', () => {
    const { wire } = results([col('k', 'JSON')], '[{"k":12345678901234567890}]');
    expect(csvBytes(wire).toString()).toBe('k\r\n12345678901234567890\r\n');
  });

  const mixed = [col('id', 'INTEGER'), col('big', 'BIGINT'), col('name'), col('note')];
  const cases: Array<[string, Column[], string, number?]> = [
    [
      'numbers, strings, NULL, empty strings, booleans',
      mixed,
      '[{"id":1,"big":"9007199254740993","name":"ada","note":null},{"id":-2.5,"big":"0","name":"","note":true}]',
    ],
    [
      'commas, quotes, newlines, tabs, DEL and other control characters',
      [col('a'), col('b')],
      String.raw`[{"a":"x,y","b":"say \"hi\""},{"a":"l1\nl2\r\n","b":"t\tb\u0001\u007f"},{"a":"del","b":"z"}]`,
    ],
    [
      'non-ASCII: accents, CJK, emoji, a lone surrogate, white space that trimEnd drops',
      [col('a'), col('b')],
      String.raw`[{"a":"é","b":"日本語"},{"a":"😀 x","b":"tail\u00a0\u3000"},{"a":"\ud800","b":"\u00a0"},{"a":"ok","b":"a😀"}]`,
    ],
    [
      'values cut at maxWidth, across a surrogate pair',
      [col('a'), col('n', 'INTEGER')],
      '[{"a":"abcd😀efgh","n":123456789}]',
      5,
    ],
    [
      'trailing blanks in the last column, and an all-blank last cell',
      [col('a'), col('b')],
      '[{"a":"x","b":"y  "},{"a":"x","b":"   "},{"a":"  ","b":""}]',
    ],
    ['a single column whose cells are blank', [col('a')], '[{"a":"  "},{"a":""},{"a":null}]'],
    [
      'right-aligned last column',
      [col('a'), col('n', 'DECIMAL')],
      '[{"a":"x","n":"1.50"},{"a":"yy","n":null},{"a":"z","n":" "}]',
    ],
    [
      'nested JSON values and numbers a double cannot hold',
      [col('j', 'JSON'), col('k', 'JSON')],
      '[{"j":{"a":[1,"]}"],"b":null},"k":12345678901234567890}]',
    ],
    [
      'array rows, missing and unknown keys, duplicate names',
      [col('a'), col('a'), col('b')],
      '[{"b":"2","a":"1"},{"z":"9","a":"x,\\"y"}]',
    ],
    [
      'keys in another order and whitespace between tokens',
      [col('a'), col('b')],
      '[ { "b" : 2 , "a" : "1" } , { "a" : null , "b" : "x" } ]',
    ],
    ['array-shaped rows', [col('a'), col('b')], '[["1",null],["",{"x":1}]]'],
    ['no rows', [col('a')], '[]'],
  ];
  for (const [what, columns, json, maxWidth] of cases) {
    it(what, () => expectSameBytes(columns, json, maxWidth));
  }

  it('a long result: every row, the same bytes', () => {
    const rows = Array.from({ length: 3000 }, (_, i) => ({
      id: i,
      big: String(BigInt(i) * 1000000007n),
      name: i % 7 === 0 ? `ñame, "${i}"` : `name ${i}`,
      note: i % 3 === 0 ? null : i % 3 === 1 ? '' : 'x'.repeat(i % 60),
    }));
    expectSameBytes(mixed, JSON.stringify(rows));
  });

  it('a statement without columns is its summary', () => {
    const r = {
      columns: [],
      rows: [],
      rowCount: 0,
      affectedRows: 3,
      lastInsertId: '7',
      command: 'INSERT',
      durationMs: 0.5,
    } as unknown as QueryResult;
    expect(csvBytes(r).toString()).toBe('command,affectedRows,lastInsertId\r\nINSERT,3,7\r\n');
    expect(textTableBytes(r, { maxWidth: 48 }).toString()).toBe(toTextTable(r, { maxWidth: 48 }));
  });
});
