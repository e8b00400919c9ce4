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
 * JSON.parse (and nested ones back through JSON.stringify), so every value's text is exactly the one the
 * parsed rows would give.
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
  if (s[pos] !== '[') return undefined;
  pos = skipWs(s, pos + 1);
  if (s[pos] === ']') return out;
  for (;;) {
    const open = s[pos];
    const cells: Array<string | null> = new Array(n).fill(null);
    pos = skipWs(s, pos + 1);
    let col = 0;
    if (s[pos] !== (open === '{' ? '}' : ']')) {
      for (;;) {
        let targets: number[] | undefined;
        if (open === '{') {
          const key = readString(s, pos);
          targets = index.get(key.text);
          pos = skipWs(s, key.end);
          if (s[pos] !== ':') return undefined;
          pos = skipWs(s, pos + 1);
        } else if (open !== '[') return undefined;
        const value = readValue(s, pos);
        if (value === undefined) return undefined;
        if (open === '[') {
          if (col < n) cells[col] = value.text;
          col++;
        } else if (targets) for (const t of targets) cells[t] = value.text;
        pos = skipWs(s, value.end);
        if (s[pos] === ',') pos = skipWs(s, pos + 1);
        else break;
      }
    }
    out.push(cells);
    pos = skipWs(s, pos + 1); // past } or ]
    if (s[pos] === ',') pos = skipWs(s, pos + 1);
    else if (s[pos] === ']') return out;
    else return undefined;
  }
}

function skipWs(s: string, pos: number): number {
  let c = s.charCodeAt(pos);
  while (c === 32 || c === 10 || c === 13 || c === 9) c = s.charCodeAt(++pos);
  return pos;
}

/** A JSON string starting at `pos` (the quote): its value and the position after its closing quote. */
function readString(s: string, pos: number): { text: string; end: number } {
  let i = pos + 1;
  let escaped = false;
  for (;;) {
    const c = s.charCodeAt(i);
    if (c === QUOTE) break;
    if (c === BACKSLASH) {
      escaped = true;
      i++;
    }
    if (Number.isNaN(c)) throw new SyntaxError('unterminated string in rows JSON');
    i++;
  }
  const text = escaped ? (JSON.parse(s.slice(pos, i + 1)) as string) : s.slice(pos + 1, i);
  return { text, end: i + 1 };
}

/** One JSON value at `pos` as its cell text (`cellText` of the parsed value). */
function readValue(s: string, pos: number): { text: string | null; end: number } | undefined {
  const c = s[pos];
  if (c === '"') return readString(s, pos);
  if (c === 'n' && s.startsWith('null', pos)) return { text: null, end: pos + 4 };
  if (c === 't' && s.startsWith('true', pos)) return { text: 'true', end: pos + 4 };
  if (c === 'f' && s.startsWith('false', pos)) return { text: 'false', end: pos + 5 };
  if (c === '{' || c === '[') {
    const end = nestedEnd(s, pos);
    return { text: cellText(JSON.parse(s.slice(pos, end)) as JsonValue), end };
  }
  let end = pos;
  for (;;) {
    const ch = s[end];
    if (ch === ',' || ch === '}' || ch === ']' || ch === undefined || ch === ' ' || ch === '\n') break;
    end++;
  }
  if (end === pos) return undefined;
  return { text: String(Number(s.slice(pos, end))), end };
}

/** The position after the object or array starting at `pos`, strings skipped whole. */
function nestedEnd(s: string, pos: number): number {
  let depth = 0;
  let i = pos;
  for (;;) {
    const ch = s[i];
    if (ch === undefined) throw new SyntaxError('unterminated value in rows JSON');
    if (ch === '"') {
      i = readString(s, i).end;
      continue;
    }
    if (ch === '{' || ch === '[') depth++;
    else if (ch === '}' || ch === ']') {
      depth--;
      if (depth === 0) return i + 1;
    }
    i++;
  }
}
