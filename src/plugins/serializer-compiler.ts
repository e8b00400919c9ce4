import fastJsonStringify from 'fast-json-stringify';
import { stringifyExact } from '../backend/json-text.js';
import { rowsJsonOf } from '../backend/rows-json.js';
import type { QueryResult } from '../backend/types.js';
import { ErrorBodySchema } from '../error-body-schema.js';
import { pickQueryResult, stringifyQueryResult } from '../query/formats/query-result-json.js';

/** A compiled response serializer: the value to its JSON text. */
export type Serializer = (data: unknown) => string;

interface BatchResult {
  results: Array<QueryResult | { error: unknown }>;
  durationMs: number;
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
