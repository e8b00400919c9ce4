import { describe, expect, it } from 'vitest';
import {
  decodeJsonText,
  isRawJson,
  jsonCellText,
  numberFitsDouble,
  RawJson,
  stringifyExact,
} from '../../src/backend/json-text.js';

describe('json-text: JSON values with the database number text', () => {
  it('parses plain values as usual and keeps the others as minified text', () => {
    expect(decodeJsonText('{"a": [1, 2.5, "x 9007199254740993"]}')).toEqual({
      a: [1, 2.5, 'x 9007199254740993'],
    });
    const kept = decodeJsonText('{"n": 9007199254740993,\n "s": "a  b"}');
    expect(isRawJson(kept)).toBe(true);
    expect((kept as unknown as RawJson).text).toBe('{"n":9007199254740993,"s":"a  b"}');
    for (const text of ['-0', '1.0', '1e5', '0.1234567890123456789', '1e400']) {
      expect(isRawJson(decodeJsonText(text)), text).toBe(true);
    }
    expect(() => decodeJsonText('{"n": 1')).toThrow(SyntaxError);
  });

  it('string mode: what a double cannot hold becomes a string, the rest stays numbers', () => {
    expect(
      decodeJsonText('[9007199254740993, -0, 1e400, 1.5e300, 1.0, 0.30000000000000004, "7"]', 'string'),
    ).toEqual(['9007199254740993', '-0', '1e400', 1.5e300, 1, 0.30000000000000004, '7']);
    expect(numberFitsDouble('9007199254740992')).toBe(true);
    expect(numberFitsDouble('9007199254740993')).toBe(false);
  });

  it('stringifyExact splices the text in, nested at any depth; plain JSON.stringify gets the parsed value', () => {
    const row = { id: 1, j: decodeJsonText('{"n": 12345678901234567890}'), arr: [decodeJsonText('-0')] };
    expect(stringifyExact(row)).toBe('{"id":1,"j":{"n":12345678901234567890},"arr":[-0]}');
    expect(JSON.stringify(row)).toBe('{"id":1,"j":{"n":12345678901234567000},"arr":[0]}');
    expect(jsonCellText('{ "a" : 1 }')).toBe('{"a":1}');
  });

  it('a database string that looks like a placeholder stays a string', () => {
    const sneaky = { s: '\u0000abc:0', j: new RawJson('[1]') };
    expect(JSON.parse(stringifyExact(sneaky))).toEqual({ s: '\u0000abc:0', j: [1] });
  });
});
