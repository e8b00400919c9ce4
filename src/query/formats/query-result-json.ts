import { stringifyExact } from '../../backend/json-text.js';
import { rowsJsonOf } from '../../backend/rows-json.js';
import type { QueryResult } from '../../backend/types.js';

/*
 * A QueryResult's JSON body, shared by the response serializer (src/plugins/serializer-compiler.ts) and the
 * format negotiation of the execute routes (send-result.ts). It is a query-layer function so that the
 * query services never import a plugin.
 */

const pickColumns = (columns: QueryResult['columns']) =>
  columns.map((c) => ({ name: c.name, type: c.type, dbType: c.dbType, nullable: c.nullable }));

/** The schema fields of a QueryResult, in schema order, as a fresh object (nothing else leaks out). */
export function pickQueryResult(r: QueryResult) {
  return {
    columns: pickColumns(r.columns),
    rows: r.rows,
    rowCount: r.rowCount,
    affectedRows: r.affectedRows,
    lastInsertId: r.lastInsertId,
    command: r.command,
    durationMs: r.durationMs,
  };
}

/**
 * A QueryResult as JSON through the engine's own JSON.stringify. fast-json-stringify cannot help with
 * `rows` (`Type.Unknown()` items: it calls JSON.stringify once per row and concatenates), which makes a
 * 10,000-row result 2-3x slower to serialize than one native call over the whole object. The rows are JSON
 * values by construction (every backend's value mapper produces them), and the other fields are picked
 * explicitly, so the output is the same as the schema serializer's. Rows that arrived already serialized
 * (rows-json.ts) are spliced in as they are, and JSON cells kept as the database's text (json-text.ts) too.
 */
export function stringifyQueryResult(r: QueryResult): string {
  const rowsJson = rowsJsonOf(r);
  if (rowsJson === undefined) return stringifyExact(pickQueryResult(r));
  const tail = JSON.stringify({
    rowCount: r.rowCount,
    affectedRows: r.affectedRows,
    lastInsertId: r.lastInsertId,
    command: r.command,
    durationMs: r.durationMs,
  });
  return `{"columns":${JSON.stringify(pickColumns(r.columns))},"rows":${rowsJson},${tail.slice(1)}`;
}
