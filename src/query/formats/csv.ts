import type { QueryResult } from '../../backend/types.js';
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
