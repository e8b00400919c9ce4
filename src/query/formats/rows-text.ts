import { decodeJsonText } from '../../backend/json-text.js';
import { rowsJsonOf } from '../../backend/rows-json.js';
import type { JsonValue, QueryResult } from '../../backend/types.js';
import { cellText, rowCells } from './cell-text.js';

/**
 * Every row's cells as text (`cellText`: null is SQL NULL), in column order, for the CSV and table formats.
 *
 * Large results usually arrive with their rows as JSON text (backend/rows-json.ts: the SQLite worker, the
 * PostgreSQL and MySQL row encoders), which the JSON answer splices in unchanged. Parsing that text into
 * 10,000 row objects only to print them again cost more than printing (bench/formats.mjs), so here the text
 * is read once, left to right, straight into cell strings. The result is the same as
 * `rowCells(result).map(cellText)`: strings with escapes, numbers and nested JSON values go through
 * JSON.parse (and nested ones back through stringifyExact, numbers kept as the database wrote them), so every
 * value's text is exactly the one the parsed rows would give.
 */
export function rowTexts(result: QueryResult): Array<Array<string | null>> {
  const json = rowsJsonOf(result);
  if (json !== undefined) {
    const fast = fromJsonText(
      json,
      result.columns.map((c) => c.name),
    );
    if (fast !== undefined) return fast;
  }
  return rowCells(result).map((row) => row.map((v) => cellText(v)));
}

const QUOTE = 34;
const BACKSLASH = 92;

/** Where the last readString/readValue ended: a module variable, not an object per value (hot loop). */
let at = 0;

/** The rows of `[{...}, ...]` or `[[...], ...]` as cell texts; undefined if the text is not that shape. */
function fromJsonText(s: string, names: string[]): Array<Array<string | null>> | undefined {
  const n = names.length;
  const index = new Map<string, number[]>();
  names.forEach((name, i) => {
    const list = index.get(name);
    if (list) list.push(i);
    else index.set(name, [i]);
  });
  const out: Array<Array<string | null>> = [];
  let pos = skipWs(s, 0);
  if (s.charCodeAt(pos) !== OPEN_ARRAY) return undefined;
  pos = skipWs(s, pos + 1);
  if (s.charCodeAt(pos) === CLOSE_ARRAY) return out;
  for (;;) {
    const open = s.charCodeAt(pos);
    if (open !== OPEN_OBJECT && open !== OPEN_ARRAY) return undefined;
    const isObject = open === OPEN_OBJECT;
    const cells: Array<string | null> = new Array(n).fill(null);
    pos = skipWs(s, pos + 1);
    let col = 0;
    if (s.charCodeAt(pos) !== (isObject ? CLOSE_OBJECT : CLOSE_ARRAY)) {
      for (;;) {
        let targets: number[] | undefined;
        if (isObject) {
          if (s.charCodeAt(pos) !== QUOTE) return undefined;
          targets = index.get(readString(s, pos));
          pos = skipWs(s, at);
          if (s.charCodeAt(pos) !== COLON) return undefined;
          pos = skipWs(s, pos + 1);
        }
        const text = readValue(s, pos);
        if (at === pos) return undefined;
        if (!isObject) {
          if (col < n) cells[col] = text;
          col++;
        } else if (targets) for (const t of targets) cells[t] = text;
        pos = skipWs(s, at);
        if (s.charCodeAt(pos) === COMMA) pos = skipWs(s, pos + 1);
        else break;
      }
    }
    out.push(cells);
    pos = skipWs(s, pos + 1); // past } or ]
    const c = s.charCodeAt(pos);
    if (c === COMMA) pos = skipWs(s, pos + 1);
    else if (c === CLOSE_ARRAY) return out;
    else return undefined;
  }
}

const OPEN_OBJECT = 123;
const CLOSE_OBJECT = 125;
const OPEN_ARRAY = 91;
const CLOSE_ARRAY = 93;
const COMMA = 44;
const COLON = 58;

function skipWs(s: string, pos: number): number {
  let c = s.charCodeAt(pos);
  while (c === 32 || c === 10 || c === 13 || c === 9) c = s.charCodeAt(++pos);
  return pos;
}

/** The JSON string starting at `pos` (the quote); `at` is then just past its closing quote. */
function readString(s: string, pos: number): string {
  let i = pos + 1;
  let escaped = false;
  for (;;) {
    const c = s.charCodeAt(i);
    if (c === QUOTE) break;
    if (c === BACKSLASH) {
      escaped = true;
      i++;
    } else if (Number.isNaN(c)) throw new SyntaxError('unterminated string in rows JSON');
    i++;
  }
  at = i + 1;
  return escaped ? (JSON.parse(s.slice(pos, i + 1)) as string) : s.slice(pos + 1, i);
}

/** One JSON value at `pos` as its cell text (`cellText` of the parsed value); `at` is just past it. */
function readValue(s: string, pos: number): string | null {
  const c = s.charCodeAt(pos);
  if (c === QUOTE) return readString(s, pos);
  if (c === 110 && s.startsWith('null', pos)) {
    at = pos + 4;
    return null;
  }
  if (c === 116 && s.startsWith('true', pos)) {
    at = pos + 4;
    return 'true';
  }
  if (c === 102 && s.startsWith('false', pos)) {
    at = pos + 5;
    return 'false';
  }
  if (c === OPEN_OBJECT || c === OPEN_ARRAY) {
    const end = nestedEnd(s, pos);
    at = end;
    return cellText(decodeJsonText(s.slice(pos, end)));
  }
  let end = pos;
  for (;;) {
    const ch = s.charCodeAt(end);
    if (
      ch === COMMA ||
      ch === CLOSE_OBJECT ||
      ch === CLOSE_ARRAY ||
      ch === 32 ||
      ch === 10 ||
      Number.isNaN(ch)
    )
      break;
    end++;
  }
  at = end;
  // The number as the JSON answer writes it: canonical for doubles, the database's own text for JSON values.
  return end === pos ? null : s.slice(pos, end);
}

/** The position after the object or array starting at `pos`, strings skipped whole. */
function nestedEnd(s: string, pos: number): number {
  let depth = 0;
  let i = pos;
  for (;;) {
    const ch = s.charCodeAt(i);
    if (Number.isNaN(ch)) throw new SyntaxError('unterminated value in rows JSON');
    if (ch === QUOTE) {
      readString(s, i);
      i = at;
      continue;
    }
    if (ch === OPEN_OBJECT || ch === OPEN_ARRAY) depth++;
    else if (ch === CLOSE_OBJECT || ch === CLOSE_ARRAY) {
      depth--;
      if (depth === 0) return i + 1;
    }
    i++;
  }
}
