import { ERROR_CODES } from '../errors.js';

/**
 * The NDJSON form of the execute routes (src/query/stream.ts) in the OpenAPI document. Fastify's response
 * schemas describe the JSON body it serializes; a stream is written past the serializer, so its media type
 * is added to the generated document here: one line-oriented text body whose lines the schemas below name.
 */

type Json = Record<string, unknown>;

/** The routes that stream with `Accept: application/x-ndjson`. */
export const STREAM_PATHS = ['/v1/execute', '/v1/sessions/{id}/execute'];

const EXAMPLE = [
  '{"columns":[{"name":"id","type":"BIGINT","dbType":"int8","nullable":null}]}',
  '{"id":"1"}',
  '{"id":"2"}',
  '{"done":true,"rowCount":2,"affectedRows":0,"lastInsertId":null,"command":"SELECT","durationMs":0.8}',
  '',
].join('\n');

const SCHEMAS: Record<string, Json> = {
  StreamHeader: {
    title: 'StreamHeader',
    type: 'object',
    description: 'First line of an NDJSON stream: the columns, as in QueryResult.',
    required: ['columns'],
    properties: { columns: { $ref: '#/components/schemas/QueryResult/properties/columns' } },
  },
  StreamTrailer: {
    title: 'StreamTrailer',
    type: 'object',
    description:
      'Last line of an NDJSON stream. `done: true`: the statement completed and `rowCount` rows came. ' +
      '`done: false`: it ended early (database error, a stream limit, the idle timeout) after `rowCount` ' +
      'rows, and `error` says why. A body whose last line is not a trailer, or whose trailer `rowCount` ' +
      'differs from the rows received, was cut.',
    required: ['done', 'rowCount', 'durationMs'],
    properties: {
      done: { type: 'boolean' },
      rowCount: { type: 'integer', minimum: 0 },
      affectedRows: { type: 'integer', minimum: 0 },
      lastInsertId: { $ref: '#/components/schemas/QueryResult/properties/lastInsertId' },
      command: { type: 'string' },
      durationMs: { type: 'number' },
      error: { $ref: '#/components/schemas/ErrorBody/properties/error' },
    },
  },
};

/** An error line as src/query/formats/error-line.ts writes it, for the first registered code with `status`. */
function errorLineExample(status: number): string {
  const [code, spec] = Object.entries(ERROR_CODES).find(([, e]) => e.status === status) ?? [
    'INTERNAL',
    ERROR_CODES.INTERNAL,
  ];
  return `ERROR ${code} (${status} ${spec.class}): ${spec.description} [requestId 5a5e2dd6-3740-4487-b4e3-864e8d6a7e8b]\n`;
}

/** The execute routes that also answer CSV and text tables (src/query/formats/), by method. */
const FORMAT_ROUTES: Array<[string, string]> = [
  ['/v1/execute', 'post'],
  ['/v1/execute', 'get'],
  ['/v1/sessions/{id}/execute', 'post'],
];

/**
 * Adds the text formats to the execute routes: a 200 as `text/csv` or `text/plain` (Accept or `?format=`),
 * and every error status as one `text/plain` line when the client asked for a text format. In place.
 */
function addTextFormats(paths: Record<string, Json>): void {
  for (const [path, method] of FORMAT_ROUTES) {
    const responses = (paths[path]?.[method] as Json | undefined)?.responses as
      | Record<string, Json>
      | undefined;
    if (!responses) continue;
    for (const [status, response] of Object.entries(responses)) {
      response.content ??= {};
      const content = response.content as Json;
      if (status === '200') {
        content['text/csv'] = {
          schema: {
            type: 'string',
            description: 'RFC 4180 with a header row (docs/api.md, "Debugging with curl").',
          },
          example: 'id,email,balance\r\n1,ada@example.com,12.30\r\n',
        };
        content['text/plain'] = {
          schema: { type: 'string', description: 'An aligned table with the row count and time, like psql.' },
          example:
            ' id | email           | balance\n----+-----------------+---------\n  1 | ada@example.com |   12.30\n(1 row)\nTime: 0.412 ms\n',
        };
      } else if (/^[45]\d\d$/.test(status)) {
        content['text/plain'] = {
          schema: {
            type: 'string',
            description:
              'When a text format was asked for: one line, `ERROR <CODE> (<status> <class>): <message> [...]`.',
          },
          example: errorLineExample(Number(status)),
        };
      }
    }
  }
}

/** Adds the `application/x-ndjson` 200 response to the streaming routes, and the text formats. In place. */
export function addStreamMedia(doc: Json): Json {
  doc.components ??= {};
  const components = doc.components as Json;
  components.schemas ??= {};
  const schemas = components.schemas as Json;
  Object.assign(schemas, structuredClone(SCHEMAS));
  const paths = (doc.paths ?? {}) as Record<string, Json>;
  for (const path of STREAM_PATHS) {
    const ok = ((paths[path]?.post as Json | undefined)?.responses as Json | undefined)?.['200'] as
      | Json
      | undefined;
    if (!ok) continue;
    ok.content ??= {};
    const content = ok.content as Json;
    content['application/x-ndjson'] = {
      schema: {
        type: 'string',
        description:
          'Sent when the request has `Accept: application/x-ndjson`: one JSON value per line, a ' +
          'StreamHeader, then one row per line (an object or an array, encoded as QueryResult rows), then a ' +
          'StreamTrailer. An error before the first line is an ordinary error response with its status.',
      },
      example: EXAMPLE,
    };
  }
  addTextFormats(paths);
  return doc;
}
