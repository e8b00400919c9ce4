import { decodeJsonText } from '../../backend/json-text.js';
import { rowsJsonOf } from '../../backend/rows-json.js';
import type { QueryResult } from '../../backend/types.js';
import { cellText } from './cell-text.js';
import { rowTexts } from './rows-text.js';

/**
 * Every cell of a result for the CSV and table writers, without a string per cell where it can be helped.
 *
 * rows-text.ts reads the rows' JSON text into one string per cell; for 10,000 rows that is 60,000 small
 * strings, allocated, measured, padded, concatenated and encoded again (bench/formats.mjs: most of the
 * text formats' cost). Most cells are plain: a JSON string without escapes, a number, `true`/`false`.
 * Their text is a stretch of the rows' JSON text as it stands, so the grid only records where it is
 * (`RANGE`), and the writers copy it straight into the response bytes. Everything else (strings with
 * escapes, nested JSON) becomes a `TEXT` cell with its string, exactly as rows-text.ts would give it.
 * The tokenizing is the one of rows-text.ts, so each cell's text is the same as `rowTexts` gives.
 */

/** Cell kinds (`CellGrid.kind`). */
export const NULL_CELL = 0;
/** The cell's text is `src.slice(start, end)`. */
export const RANGE = 1;
/** The cell's text is `texts[start]`. */
export const TEXT = 2;

/** `CellGrid.flags` of a RANGE cell: what it holds besides printable ASCII. */
export const CONTROL_CHAR = 1;
/** Some character at or above U+0080 (the writers then encode UTF-8; the table trims with trimEnd). */
export const NON_ASCII = 2;
/** A comma, double quote, CR or LF: a CSV field that must be quoted. */
export const CSV_SPECIAL = 4;

/** The cells of a result, row-major. */
export interface CellGrid {
  /** Columns per row. */
  n: number;
  /** Number of rows. */
  rows: number;
  /** NULL_CELL, RANGE or TEXT per cell. */
  kind: Uint8Array;
  /** RANGE: first position in `src`; TEXT: index into `texts`. */
  start: Int32Array;
  /** RANGE: position after the last character in `src`. */
  end: Int32Array;
  /** RANGE: CONTROL_CHAR | NON_ASCII | CSV_SPECIAL of its characters. */
  flags: Uint8Array;
  /** The rows' JSON text that RANGE cells point into. */
  src: string;
  /** The texts of TEXT cells. */
  texts: string[];
}

/** The grid of a result: from its rows' JSON text when it has one, else from the rows (all TEXT cells). */
export function cellGrid(result: QueryResult): CellGrid {
  const names = result.columns.map((c) => c.name);
  const json = rowsJsonOf(result);
  if (json !== undefined) {
    const grid = new Scanner(json, names, result.rowCount).scan();
    if (grid !== undefined) return grid;
  }
  const rows = rowTexts(result);
  const grid = new Scanner('', names, rows.length);
  for (const row of rows) {
    grid.startRow();
    for (let i = 0; i < names.length; i++) grid.setText(i, row[i] ?? null);
  }
  return grid.done();
}

const QUOTE = 34;
const BACKSLASH = 92;
const OPEN_OBJECT = 123;
const CLOSE_OBJECT = 125;
const OPEN_ARRAY = 91;
const CLOSE_ARRAY = 93;
const COMMA = 44;
const COLON = 58;

/** The flags one character adds (called only for characters outside printable ASCII, `"` and `,`). */
function flagOf(c: number): number {
  if (c < 0x20 || c === 0x7f) return c === 10 || c === 13 ? CONTROL_CHAR | CSV_SPECIAL : CONTROL_CHAR;
  if (c >= 0x80) return NON_ASCII;
  return c === QUOTE || c === COMMA ? CSV_SPECIAL : 0;
}

/** The tokenizer of rows-text.ts, recording ranges; `at` is where the last token ended. */
class Scanner {
  private at = 0;
  private base = -1;
  private count = 0;
  private kind: Uint8Array;
  private start: Int32Array;
  private end: Int32Array;
  private flags: Uint8Array;
  private readonly texts: string[] = [];
  private readonly n: number;

  constructor(
    private readonly s: string,
    private readonly names: string[],
    rowsHint: number,
  ) {
    this.n = names.length;
    const cap = Math.max(16, rowsHint) * Math.max(1, this.n);
    this.kind = new Uint8Array(cap);
    this.start = new Int32Array(cap);
    this.end = new Int32Array(cap);
    this.flags = new Uint8Array(cap);
  }

  /** A new row of NULL cells. */
  startRow(): void {
    const need = (this.count + 1) * this.n;
    if (need > this.kind.length) this.grow(need * 2);
    this.base = this.count * this.n;
    this.kind.fill(NULL_CELL, this.base, need);
    this.count++;
  }

  private grow(cap: number): void {
    const copy = <T extends Uint8Array | Int32Array>(a: T, b: T): T => {
      b.set(a);
      return b;
    };
    this.kind = copy(this.kind, new Uint8Array(cap));
    this.start = copy(this.start, new Int32Array(cap));
    this.end = copy(this.end, new Int32Array(cap));
    this.flags = copy(this.flags, new Uint8Array(cap));
  }

  setText(col: number, text: string | null): void {
    const k = this.base + col;
    if (text === null) this.kind[k] = NULL_CELL;
    else {
      this.kind[k] = TEXT;
      this.start[k] = this.texts.push(text) - 1;
    }
  }

  done(): CellGrid {
    const { n, count: rows, kind, start, end, flags, s: src, texts } = this;
    return { n, rows, kind, start, end, flags, src, texts };
  }

  /** The grid of `[{...}, ...]` or `[[...], ...]`; undefined if the text is not that shape. */
  scan(): CellGrid | undefined {
    const { s, n } = this;
    const index = new Map<string, number[]>();
    this.names.forEach((name, i) => {
      const list = index.get(name);
      if (list) list.push(i);
      else index.set(name, [i]);
    });
    // Rows written by JSON.stringify have their keys in column order: try the next expected key first.
    const order = [...index.keys()];
    const quoted = order.map((name) => JSON.stringify(name));
    let pos = skipWs(s, 0);
    if (s.charCodeAt(pos) !== OPEN_ARRAY) return undefined;
    pos = skipWs(s, pos + 1);
    if (s.charCodeAt(pos) === CLOSE_ARRAY) return this.done();
    for (;;) {
      const open = s.charCodeAt(pos);
      if (open !== OPEN_OBJECT && open !== OPEN_ARRAY) return undefined;
      const isObject = open === OPEN_OBJECT;
      this.startRow();
      pos = skipWs(s, pos + 1);
      let col = 0;
      let guess = 0;
      if (s.charCodeAt(pos) !== (isObject ? CLOSE_OBJECT : CLOSE_ARRAY)) {
        for (;;) {
          let targets: number[] | undefined;
          if (isObject) {
            if (s.charCodeAt(pos) !== QUOTE) return undefined;
            const q = quoted[guess];
            if (q !== undefined && matches(s, pos, q)) {
              targets = index.get(order[guess] as string);
              this.at = pos + q.length;
              guess++;
            } else {
              const key = this.readString(pos, -1);
              targets = index.get(key);
              guess = targets ? order.indexOf(key) + 1 : guess;
            }
            pos = skipWs(s, this.at);
            if (s.charCodeAt(pos) !== COLON) return undefined;
            pos = skipWs(s, pos + 1);
          }
          if (isObject) {
            if (targets) {
              if (!this.readValue(pos, this.base + (targets[0] as number))) return undefined;
              for (let t = 1; t < targets.length; t++)
                this.copyCell(targets[0] as number, targets[t] as number);
            } else if (!this.readValue(pos, -1)) return undefined;
          } else if (!this.readValue(pos, col < n ? this.base + col : -1)) return undefined;
          col++;
          pos = skipWs(s, this.at);
          if (s.charCodeAt(pos) === COMMA) pos = skipWs(s, pos + 1);
          else break;
        }
      }
      pos = skipWs(s, pos + 1); // past } or ]
      const c = s.charCodeAt(pos);
      if (c === COMMA) pos = skipWs(s, pos + 1);
      else if (c === CLOSE_ARRAY) return this.done();
      else return undefined;
    }
  }

  private copyCell(from: number, to: number): void {
    const a = this.base + from;
    const b = this.base + to;
    this.kind[b] = this.kind[a] as number;
    // A TEXT cell gets its own entry: the table rewrites each cell's text in place (cut, escaped).
    this.start[b] =
      this.kind[a] === TEXT
        ? this.texts.push(this.texts[this.start[a] as number] as string) - 1
        : (this.start[a] as number);
    this.end[b] = this.end[a] as number;
    this.flags[b] = this.flags[a] as number;
  }

  private range(k: number, from: number, to: number, flags: number): void {
    this.kind[k] = RANGE;
    this.start[k] = from;
    this.end[k] = to;
    this.flags[k] = flags;
  }

  /**
   * The JSON string at `pos` (the quote). Stored in cell `k` (unless k < 0): a RANGE without escapes, else
   * a TEXT. Returns the decoded string only for k < 0 (object keys); `at` is then just past the quote.
   */
  private readString(pos: number, k: number): string {
    const s = this.s;
    const len = s.length;
    let i = pos + 1;
    let escaped = false;
    let flags = 0;
    for (;;) {
      if (i >= len) throw new SyntaxError('unterminated string in rows JSON');
      const c = s.charCodeAt(i);
      if (c === QUOTE) break;
      // One test for the common case (printable ASCII other than `\` and `,`).
      if (c < 0x20 || c >= 0x7f || c === COMMA || c === BACKSLASH) {
        if (c === BACKSLASH) {
          escaped = true;
          i++;
        } else flags |= flagOf(c);
      }
      i++;
    }
    this.at = i + 1;
    if (k < 0 || escaped) {
      const text = escaped ? (JSON.parse(s.slice(pos, i + 1)) as string) : s.slice(pos + 1, i);
      if (k >= 0) this.setText(k - this.base, text);
      return text;
    }
    this.range(k, pos + 1, i, flags);
    return '';
  }

  /** One JSON value at `pos` into cell `k` (skipped when k < 0); false when there is no value there. */
  private readValue(pos: number, k: number): boolean {
    const s = this.s;
    const c = s.charCodeAt(pos);
    if (c === QUOTE) {
      this.readString(pos, k);
      return true;
    }
    if (c === 110 && s.startsWith('null', pos)) {
      this.at = pos + 4;
      if (k >= 0) this.kind[k] = NULL_CELL;
      return true;
    }
    const literal =
      c === 116 && s.startsWith('true', pos) ? 4 : c === 102 && s.startsWith('false', pos) ? 5 : 0;
    if (literal > 0) {
      this.at = pos + literal;
      if (k >= 0) this.range(k, pos, pos + literal, 0);
      return true;
    }
    if (c === OPEN_OBJECT || c === OPEN_ARRAY) {
      const end = this.nestedEnd(pos);
      this.at = end;
      if (k >= 0) this.setText(k - this.base, cellText(decodeJsonText(s.slice(pos, end))));
      return true;
    }
    let end = pos;
    let flags = 0;
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
      if (ch < 0x20 || ch >= 0x7f || ch === QUOTE) flags |= flagOf(ch);
      end++;
    }
    this.at = end;
    if (end === pos) return false;
    // The number as the JSON answer writes it: canonical for doubles, the database's own text for JSON values.
    if (k >= 0) this.range(k, pos, end, flags);
    return true;
  }

  /** The position after the object or array starting at `pos`, strings skipped whole. */
  private nestedEnd(pos: number): number {
    const s = this.s;
    let depth = 0;
    let i = pos;
    for (;;) {
      const ch = s.charCodeAt(i);
      if (Number.isNaN(ch)) throw new SyntaxError('unterminated value in rows JSON');
      if (ch === QUOTE) {
        this.readString(i, -1);
        i = this.at;
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
}

/** Whether `s` holds `q` at `pos` (a short key: a loop is cheaper than a startsWith call per cell). */
function matches(s: string, pos: number, q: string): boolean {
  const n = q.length;
  if (pos + n > s.length) return false;
  for (let j = 0; j < n; j++) if (s.charCodeAt(pos + j) !== q.charCodeAt(j)) return false;
  return true;
}

function skipWs(s: string, pos: number): number {
  let c = s.charCodeAt(pos);
  while (c === 32 || c === 10 || c === 13 || c === 9) c = s.charCodeAt(++pos);
  return pos;
}
