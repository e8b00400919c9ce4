import { describe, expect, it } from 'vitest';
import { fromWire } from '../../src/backend/rows-json.js';
import type { Column, QueryResult } from '../../src/backend/types.js';
import { cellText } from '../../src/query/formats/cell-text.js';
import { rowTexts } from '../../src/query/formats/rows-text.js';

/** rowTexts reads rows' JSON text directly; it must give exactly what parsing the rows would. */
const col = (name: string): Column => ({ name, type: 'TEXT', dbType: 'text', nullable: true }) as Column;

function both(columns: string[], rowsJson: string) {
  const base = {
    columns: columns.map(col),
    rows: [],
    rowCount: 0,
    affectedRows: 0,
    lastInsertId: null,
    command: 'SELECT',
    durationMs: 0,
  } as QueryResult;
  const fast = rowTexts(fromWire({ ...base, rowsJson }));
  const parsed = JSON.parse(rowsJson) as unknown[];
  const slow = parsed.map((r) =>
    columns.map((c, i) => cellText((Array.isArray(r) ? r[i] : (r as Record<string, never>)[c]) as never)),
  );
  return { fast, slow };
}

describe('rowTexts from rows JSON', () => {
  const cases: Array<[string, string[], string]> = [
    [
      'plain strings, null, booleans',
      ['a', 'b', 'c'],
      '[{"a":"x","b":null,"c":true},{"a":"","b":false,"c":"y"}]',
    ],
    ['escapes and \\u sequences', ['a'], String.raw`[{"a":"q\"uote\\ back\nline \u00e9 \ud834\udd1e"}]`],
    ['numbers as JSON.parse gives them', ['a', 'b', 'c'], '[{"a":1.5,"b":-2e+300,"c":12345}]'],
    [
      'nested JSON with whitespace and strings holding brackets',
      ['j'],
      '[{"j": {"a": [1, "]}", {"b": null}]} }]',
    ],
    ['array rows', ['a', 'b'], '[["1",null],["",{"x":1}]]'],
    [
      'keys in another order, a missing key, an unknown key',
      ['a', 'b'],
      '[{"b":"2","a":"1"},{"z":"9","a":"3"}]',
    ],
    ['duplicate column names', ['a', 'a'], '[{"a":"same"}]'],
    ['whitespace between tokens', ['a', 'b'], '[ { "a" : "1" , "b" : 2 } , { "a" : null , "b" : "x" } ]'],
    ['no rows', ['a'], '[]'],
  ];
  for (const [what, columns, json] of cases) {
    it(what, () => {
      const { fast, slow } = both(columns, json);
      expect(fast).toEqual(slow);
    });
  }

  it('prints numbers a double cannot hold exactly as the JSON answer carries them', () => {
    const { fast } = both(
      ['a', 'c', 'j'],
      '[{"a":1.50,"c":12345678901234567890,"j":{"n":9007199254740993,"f":0.1}}]',
    );
    expect(fast).toEqual([['1.50', '12345678901234567890', '{"n":9007199254740993,"f":0.1}']]);
  });

  it('falls back to the parsed rows once someone has read them', () => {
    const r = fromWire({
      columns: [col('a')],
      rows: [],
      rowCount: 1,
      affectedRows: 0,
      lastInsertId: null,
      command: 'SELECT',
      durationMs: 0,
      rowsJson: '[{"a":"x"}]',
    } as QueryResult & { rowsJson: string });
    (r.rows[0] as Record<string, string>).a = 'changed';
    expect(rowTexts(r)).toEqual([['changed']]);
  });
});
