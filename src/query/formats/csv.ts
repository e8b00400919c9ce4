import type { QueryResult } from '../../backend/types.js';
import { ByteSink } from './byte-sink.js';
import { type CellGrid, CSV_SPECIAL, cellGrid, RANGE, TEXT } from './cell-grid.js';
import { rowTexts } from './rows-text.js';

/**
 * A result as CSV (RFC 4180): a header row with the column names, then one record per row, CRLF line
 * ends. Values are the exact text of the JSON values (see cell-text.ts): BLOB is base64, JSON/ARRAY are
 * their JSON text, booleans `true`/`false`.
 *
 * NULL vs empty string: SQL NULL is an empty unquoted field (`a,,b`); an empty string is a quoted empty
 * field (`a,"",b`), the convention of PostgreSQL's `COPY ... CSV`. Other fields are quoted only when they
 * hold a comma, a double quote, CR or LF (quotes doubled inside).
 */
const NEEDS_QUOTES = /[",\r\n]/;

function field(text: string | null): string {
  if (text === null) return '';
  if (text === '') return '""';
  if (!NEEDS_QUOTES.test(text)) return text;
  return `"${text.replaceAll('"', '""')}"`;
}

/**
 * A statement without result columns (INSERT, UPDATE, DDL) gets one summary record instead:
 * `command,affectedRows,lastInsertId`.
 */
function summaryCsv(result: QueryResult): string {
  const id = result.lastInsertId === null ? null : String(result.lastInsertId);
  return `command,affectedRows,lastInsertId\r\n${field(result.command)},${result.affectedRows},${field(id)}\r\n`;
}

/** The CSV as a string, field by field: the reference of csvBytes, for results without rows JSON text. */
export function toCsv(result: QueryResult): string {
  if (result.columns.length === 0) return summaryCsv(result);
  // Cells straight from the rows' JSON text where there is one (rows-text.ts): this runs for results of
  // up to maxRows rows and must stay close to the JSON answer's speed (bench/formats.mjs).
  let out = `${result.columns.map((c) => field(c.name)).join(',')}\r\n`;
  for (const cells of rowTexts(result)) {
    let line = '';
    for (let i = 0; i < cells.length; i++) {
      if (i > 0) line += ',';
      line += field(cells[i] as string | null);
    }
    out += `${line}\r\n`;
  }
  return out;
}

/**
 * The CSV as UTF-8 bytes, byte for byte `Buffer.from(toCsv(result))`, written from the cell grid
 * (cell-grid.ts): plain fields are copied from the rows' JSON text into the body without a string each.
 */
export function csvBytes(result: QueryResult): Buffer {
  if (result.columns.length === 0) return Buffer.from(summaryCsv(result));
  const head = `${result.columns.map((c) => field(c.name)).join(',')}\r\n`;
  const grid = cellGrid(result);
  const sink = new ByteSink(
    head.length * 3 + Math.ceil(grid.src.length * 0.7) + grid.rows * (grid.n + 1) + 512,
  );
  sink.write(head);
  writeRecords(grid, sink);
  return sink.bytes();
}

/** The records, a function apart from the result object so V8 optimizes its loop once and keeps it. */
function writeRecords(grid: CellGrid, sink: ByteSink): void {
  const { n, kind, start, end, flags, src, texts } = grid;
  const total = grid.rows * n;
  for (let k = 0, i = 0; k < total; k++) {
    if (i > 0) sink.byte(44);
    const kd = kind[k];
    if (kd === RANGE) {
      const from = start[k] as number;
      const to = end[k] as number;
      if (from === to) sink.write('""');
      else if (((flags[k] as number) & CSV_SPECIAL) === 0) sink.write(src, from, to);
      else sink.write(field(src.slice(from, to)));
    } else if (kd === TEXT) sink.write(field(texts[start[k] as number] as string));
    if (++i === n) {
      i = 0;
      sink.byte(13);
      sink.byte(10);
    }
  }
}
