import { isRawJson, stringifyExact } from './json-text.js';
import type { QueryResult } from './types.js';

/**
 * Results whose rows travel as JSON text. The SQLite worker serializes a result's rows itself, off the
 * event loop: sending one string between threads is a copy, while structured-cloning 10,000 row objects
 * (and collecting them afterwards) cost the main thread more than serializing them. The HTTP response
 * serializer splices the text in unchanged; any other reader of `rows` gets them parsed on first access.
 */

/** The rows' JSON text, while it is still the truth about `rows`. */
const ROWS_JSON = Symbol('sqlgate.rowsJson');

type WithRowsJson = QueryResult & { [ROWS_JSON]?: string };

/** A wire result: `rows` left empty, their JSON text in `rowsJson` (when there were rows). */
export type WireResult = QueryResult & { rowsJson?: string };

/**
 * Below this many rows cloning the objects is as cheap as the text, and a plain result stays faster to
 * handle than one with a lazy `rows` (measured: a one-row point query got ~25% more CPU per request).
 */
export const MIN_WIRE_ROWS = 32;

/**
 * Worker side: moves the rows of a result of MIN_WIRE_ROWS or more rows, or with a JSON cell kept as the
 * database's text, into their JSON text.
 */
export function toWire(result: QueryResult): WireResult {
  if (result.rows.length < MIN_WIRE_ROWS && !result.rows.some(hasRawJson)) return result;
  return { ...result, rows: [], rowsJson: stringifyExact(result.rows) };
}

/** A row with a JSON cell kept as text (json-text.ts): a class instance that cloning would not keep. */
function hasRawJson(row: QueryResult['rows'][number]): boolean {
  return (Array.isArray(row) ? row : Object.values(row)).some(isRawJson);
}

/**
 * Main-thread side: a QueryResult whose `rows` parses the text on first read. From that read on the parsed
 * rows are the truth and the text is dropped, so a caller that changes them also changes the response.
 */
export function fromWire(wire: WireResult): QueryResult {
  const { rowsJson, ...result } = wire;
  if (rowsJson === undefined) return result;
  const r = result as WithRowsJson;
  let rows: QueryResult['rows'] | undefined;
  Object.defineProperty(r, ROWS_JSON, { value: rowsJson, writable: true, configurable: true });
  Object.defineProperty(r, 'rows', {
    enumerable: true,
    configurable: true,
    get() {
      if (rows === undefined) {
        rows = JSON.parse(rowsJson) as QueryResult['rows'];
        r[ROWS_JSON] = undefined;
      }
      return rows;
    },
    set(value: QueryResult['rows']) {
      rows = value;
      r[ROWS_JSON] = undefined;
    },
  });
  return r;
}

/** The rows' JSON text when nobody has read or replaced them since they arrived; else undefined. */
export function rowsJsonOf(result: QueryResult): string | undefined {
  return (result as WithRowsJson)[ROWS_JSON];
}
