import { stringifyExact } from '../../backend/json-text.js';
import type { Column, JsonValue, QueryResult } from '../../backend/types.js';

/**
 * The text of one result value, shared by the CSV and table formats. Values arrive already encoded the way
 * the JSON API sends them (BIGINT and DECIMAL as exact digit strings, BLOB as base64, timestamps as ISO
 * 8601 with microseconds), so the text formats carry exactly the same values as JSON. `null` is SQL NULL;
 * each format decides how to show it apart from an empty string.
 */
export function cellText(value: JsonValue | undefined): string | null {
  if (value === null || value === undefined) return null;
  switch (typeof value) {
    case 'string':
      return value;
    case 'number':
    case 'boolean':
      return String(value);
    default:
      // JSON and ARRAY columns: their JSON text, numbers exactly as the database wrote them.
      return stringifyExact(value);
  }
}

/** The rows of a result as arrays in column order, whichever rowMode produced them. */
export function rowCells(result: QueryResult): Array<Array<JsonValue | undefined>> {
  const rows = result.rows;
  if (rows.length === 0 || Array.isArray(rows[0])) return rows as JsonValue[][];
  const names = result.columns.map((c: Column) => c.name);
  return (rows as Array<Record<string, JsonValue>>).map((r) => names.map((n) => r[n]));
}
