import { isRawJson } from '../../src/backend/json-text.js';
import { rowsJsonOf } from '../../src/backend/rows-json.js';
import type { Column, JsonValue, QueryResult } from '../../src/backend/types.js';

/**
 * JSON values from the database, read for the compat protocols without rounding. The backends keep a
 * json/jsonb number that a double cannot hold as the database's text (src/backend/json-text.ts: RawJson
 * cells, or rows left as JSON text); `JSON.parse` would round it again (`12345678901234567890` ->
 * `12345678901234567000`, `0.1000000000000000055` -> `0.1`, `1e400` -> Infinity -> `null`). The Neon and
 * Hrana encoders print JSON themselves (PostgreSQL's text, Hrana text values), so they read those rows
 * with `parseExact`: numbers that do not print back as written stay `ExactNumber`s, objects keep their key
 * order (JavaScript objects move integer-like keys first) as `ExactObject`s.
 */

/** A JSON number kept as its text, because a double would not print it back as written. */
export class ExactNumber {
  /** @param text the number token exactly as the database wrote it */
  constructor(readonly text: string) {}
}

/** A JSON object with its keys in the order written (duplicates as written too). */
export class ExactObject {
  /** @param entries key/value pairs in text order */
  constructor(readonly entries: Array<[string, ExactValue]>) {}
}

/** A parsed JSON value with exact numbers and ordered objects. */
export type ExactValue = null | boolean | number | string | ExactNumber | ExactObject | ExactValue[];

/** A cell as the compat encoders read it: a gateway value, or an exact JSON value. */
export type CellValue = JsonValue | ExactValue | CellValue[];

const LITERALS: Array<[string, ExactValue]> = [
  ['true', true],
  ['false', false],
  ['null', null],
];
const NUMBER_RE = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;

/** JSON text (already valid: it comes from the database or the backend) -> an ExactValue. */
export function parseExact(text: string): ExactValue {
  let at = 0;
  const space = () => {
    let c = text.charCodeAt(at);
    while (c === 32 || c === 10 || c === 13 || c === 9) c = text.charCodeAt(++at);
  };
  const str = (): string => {
    const start = at++;
    let escaped = false;
    for (;;) {
      const c = text.charCodeAt(at++);
      if (Number.isNaN(c)) throw new SyntaxError('unterminated JSON string');
      if (c === 34) break;
      if (c === 92) {
        at++;
        escaped = true;
      }
    }
    const raw = text.slice(start, at);
    return escaped ? (JSON.parse(raw) as string) : raw.slice(1, -1);
  };
  const value = (): ExactValue => {
    space();
    const c = text.charCodeAt(at);
    if (c === 34) return str();
    if (c === 123) {
      at++;
      const entries: Array<[string, ExactValue]> = [];
      space();
      if (text.charCodeAt(at) === 125) {
        at++;
        return new ExactObject(entries);
      }
      for (;;) {
        space();
        const k = str();
        space();
        at++; // ':'
        entries.push([k, value()]);
        space();
        if (text.charCodeAt(at++) === 125) return new ExactObject(entries);
      }
    }
    if (c === 91) {
      at++;
      const items: ExactValue[] = [];
      space();
      if (text.charCodeAt(at) === 93) {
        at++;
        return items;
      }
      for (;;) {
        items.push(value());
        space();
        if (text.charCodeAt(at++) === 93) return items;
      }
    }
    for (const [word, v] of LITERALS) {
      if (text.startsWith(word, at)) {
        at += word.length;
        return v;
      }
    }
    NUMBER_RE.lastIndex = at;
    const m = NUMBER_RE.exec(text);
    if (!m) throw new SyntaxError(`unexpected JSON at ${at}`);
    at += m[0].length;
    const n = Number(m[0]);
    return String(n) === m[0] ? n : new ExactNumber(m[0]);
  };
  const v = value();
  space();
  if (at !== text.length) throw new SyntaxError(`unexpected JSON at ${at}`);
  return v;
}

/** Column types whose cells can hold JSON values (a JSON column, or an array of them). */
const JSON_HOLDERS = new Set(['JSON', 'ARRAY', 'OTHER']);

/** Whether any column of `cols` can carry a JSON value, so its rows need `parseExact`. */
export function hasJsonColumn(cols: readonly Column[]): boolean {
  return cols.some((c) => JSON_HOLDERS.has(c.type));
}

/** A cell with any RawJson in it (at the top, or as an array element) parsed exactly. */
function exactCell(v: JsonValue): CellValue {
  if (isRawJson(v)) return parseExact(v.text);
  if (Array.isArray(v) && v.some((x) => isRawJson(x) || Array.isArray(x))) return v.map(exactCell);
  return v;
}

/**
 * A result's rows (array mode) for an encoder that prints JSON itself: when a column can hold JSON, the
 * rows' text is parsed exactly (or RawJson cells turned into ExactValues); otherwise the rows as they are.
 * Reads the text before `rows`, which would drop it.
 */
export function exactRows(r: QueryResult): CellValue[][] {
  if (!hasJsonColumn(r.columns)) return r.rows as JsonValue[][];
  const text = rowsJsonOf(r);
  if (text !== undefined) return parseExact(text) as CellValue[][];
  return (r.rows as JsonValue[][]).map((row) => row.map(exactCell));
}

/** One NDJSON row line (array mode) for `cols`, exact when a column can hold JSON. */
export function parseRowLine(line: string, cols: readonly Column[]): CellValue[] {
  return (hasJsonColumn(cols) ? parseExact(line) : JSON.parse(line)) as CellValue[];
}

/** Byte order of UTF-8 key text, which is what jsonb compares after length. */
function utf8Compare(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

/** jsonb's key order: shorter keys (in bytes) first, equal lengths bytewise (PostgreSQL jsonb.c). */
function jsonbKeyOrder(a: [string, unknown], b: [string, unknown]): number {
  const la = Buffer.byteLength(a[0]);
  const lb = Buffer.byteLength(b[0]);
  return la !== lb ? la - lb : utf8Compare(a[0], b[0]);
}

/**
 * A JSON value as text. `compact`: no whitespace, keys in their order (json, Hrana text). `jsonb`:
 * PostgreSQL's jsonb output, `{"a": 1, "b": [1, 2]}`, keys in jsonb order.
 * @see https://www.postgresql.org/docs/15/datatype-json.html
 */
export function writeJson(v: CellValue | undefined, style: 'compact' | 'jsonb'): string {
  const sep = style === 'jsonb' ? ', ' : ',';
  const colon = style === 'jsonb' ? ': ' : ':';
  const write = (x: unknown): string => {
    if (x instanceof ExactNumber) return x.text;
    if (isRawJson(x)) return write(parseExact(x.text));
    if (Array.isArray(x)) return `[${x.map(write).join(sep)}]`;
    if (x !== null && typeof x === 'object') {
      let entries: Array<[string, unknown]> =
        x instanceof ExactObject ? x.entries : Object.entries(x as Record<string, unknown>);
      if (style === 'jsonb') entries = [...entries].sort(jsonbKeyOrder);
      return `{${entries.map(([k, e]) => `${JSON.stringify(k)}${colon}${write(e)}`).join(sep)}}`;
    }
    return JSON.stringify(x) ?? 'null';
  };
  return write(v);
}
