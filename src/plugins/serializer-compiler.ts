import fastJsonStringify from 'fast-json-stringify';
import { ErrorBodySchema } from '../../routes/schemas.js';
import { stringifyExact } from '../backend/json-text.js';
import { rowsJsonOf } from '../backend/rows-json.js';
import type { QueryResult } from '../backend/types.js';

/** A compiled response serializer: the value to its JSON text. */
export type Serializer = (data: unknown) => string;

interface BatchResult {
  results: Array<QueryResult | { error: unknown }>;
  durationMs: number;
}

const pickColumns = (columns: QueryResult['columns']) =>
  columns.map((c) => ({ name: c.name, type: c.type, dbType: c.dbType, nullable: c.nullable }));

/** The schema fields of a QueryResult, in schema order, as a fresh object (nothing else leaks out). */
function pickQueryResult(r: QueryResult) {
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

/** Past this many characters a result body is handed to Fastify as UTF-8 bytes (see asPayload). */
const BUFFER_PAYLOAD_CHARS = 64 * 1024;

/**
 * A large body as one Buffer: Fastify measures a string payload with Buffer.byteLength (a pass over the
 * whole text, which first flattens the concatenation it was built from) and the socket then encodes it in
 * a second pass; Buffer.from does both in one, and the length of a Buffer is known. Results are where bodies
 * get large (a 10,000-row result is megabytes); small ones stay strings.
 */
function asPayload(json: string): string {
  return json.length > BUFFER_PAYLOAD_CHARS ? (Buffer.from(json) as unknown as string) : json;
}

/**
 * Response serializers, compiled once per schema object. Fastify compiles every response schema of every
 * route at start-up; most routes declare the same ErrorBody schema for a dozen statuses, so the default
 * compiler built hundreds of identical serializers, the largest part of the cold start. Here each distinct
 * schema is compiled once, on its first use, and shared by every route and status that declares it.
 * QueryResult and BatchResult go through the native JSON.stringify (see above).
 */
export function createSerializerCompiler(): (route: { schema: unknown }) => Serializer {
  const cache = new WeakMap<object, Serializer>();
  const compiled = (schema: object): Serializer => {
    let fn = cache.get(schema);
    if (!fn) {
      // Compiled on the first response that needs it: compiling every route's schemas at start-up was
      // 30-50 ms of the cold start. Every route's responses (results and errors) are exercised by the tests.
      let compiledFn: Serializer | undefined;
      fn = (data: unknown) => {
        compiledFn ??= fastJsonStringify(schema as Parameters<typeof fastJsonStringify>[0]) as Serializer;
        return compiledFn(data);
      };
      cache.set(schema, fn);
    }
    return fn;
  };
  const errorBody = compiled(ErrorBodySchema);
  const stringifyBatch = (data: unknown): string => {
    const b = data as BatchResult;
    if (!b.results.some((r) => 'error' in r || rowsJsonOf(r) !== undefined)) {
      return stringifyExact({
        results: b.results.map((r) => pickQueryResult(r as QueryResult)),
        durationMs: b.durationMs,
      });
    }
    // Error entries keep the ErrorBody serializer: it drops fields outside the schema and coerces types.
    const parts = b.results.map((r) => ('error' in r ? errorBody(r) : stringifyQueryResult(r)));
    return `{"results":[${parts.join(',')}],"durationMs":${JSON.stringify(b.durationMs)}}`;
  };
  return ({ schema }) => {
    const id = (schema as { $id?: unknown }).$id;
    if (id === 'QueryResult') return (data) => asPayload(stringifyQueryResult(data as QueryResult));
    if (id === 'BatchResult') return (data) => asPayload(stringifyBatch(data));
    return compiled(schema as object);
  };
}
