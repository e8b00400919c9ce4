import type { JsonValue, QueryResult } from '../../backend/types.js';
import { cellText } from './cell-text.js';

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
  // One pass straight over the rows, without building per-row cell arrays: this runs for every row of
  // results of up to maxRows, and must stay close to the JSON serializer's speed (bench/formats.mjs).
  const names = result.columns.map((c) => c.name);
  const n = names.length;
  const rows = result.rows as ReadonlyArray<unknown>;
  const arrayRows = rows.length > 0 && Array.isArray(rows[0]);
  let out = `${names.map(field).join(',')}\r\n`;
  for (const row of rows) {
    let line = '';
    for (let i = 0; i < n; i++) {
      const v = arrayRows ? (row as JsonValue[])[i] : (row as Record<string, JsonValue>)[names[i] as string];
      if (i > 0) line += ',';
      if (v === null || v === undefined) continue;
      line += typeof v === 'string' ? field(v) : (field(cellText(v)) as string);
    }
    out += `${line}\r\n`;
  }
  return out;
}
