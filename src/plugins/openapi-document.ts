import { STATUS_CODES } from 'node:http';
import { ERROR_CODES, type ErrorCode } from '../errors.js';

/**
 * Post-processing of the document @fastify/swagger builds from the route schemas. Everything here is
 * derived from the routes and the error registry, so a route added later shows up with no extra work:
 *
 * - every TypeBox schema with an `$id` (QueryResult, ErrorBody, GenericType, ...) becomes one
 *   `components.schemas` entry and is referenced, instead of being copied into every operation;
 * - a media type whose schema is such a reference gets the component's `examples` as its examples;
 * - an error response gets one named example per error code with that HTTP status, built from
 *   `src/errors.ts`, and a description listing those codes;
 * - unions of string literals (TypeBox `Type.Union([Type.Literal(..)])`) become one `enum`, which is
 *   what readers of the spec and Swagger UI expect.
 */

const COMPONENTS = '#/components/schemas/';

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Keys whose value is data, not a subschema: never rewritten. */
const DATA_KEYS = new Set(['examples', 'example', 'default', 'const', 'enum']);

/**
 * A JSON copy of a route schema in which every subschema with an `$id` is replaced by a `$ref` to its
 * component; the originals are collected into `shared` (by `$id`). The route's own objects are not touched.
 */
export function hoistSharedSchemas(schema: unknown, shared: Map<string, Json>): unknown {
  const walk = (node: unknown, isRoot: boolean): unknown => {
    if (Array.isArray(node)) return node.map((n) => walk(n, false));
    if (!isObject(node)) return node;
    if (!isRoot && typeof node.$id === 'string' && !node.$id.startsWith('#')) {
      const id = node.$id;
      if (!shared.has(id)) {
        shared.set(id, {}); // placeholder first: a schema that refers to itself must not loop
        shared.set(id, walk(node, true) as Json);
      }
      return { $ref: `${COMPONENTS}${id}` };
    }
    const out: Json = {};
    for (const [k, v] of Object.entries(node))
      out[k] = DATA_KEYS.has(k) ? structuredClone(v) : walk(v, false);
    return out;
  };
  // The route schema object itself (body, response map) is never a component; its members may be.
  return walk(schema, true);
}

/** Keys whose value maps names to subschemas: the map itself is not a schema. */
const SCHEMA_MAP_KEYS = new Set(['properties', 'patternProperties', '$defs', 'definitions']);

/** `const` -> `enum`, unions of single-value enums of one type -> one enum; drops `$id`. In place. */
export function simplifySchema(node: unknown): void {
  if (Array.isArray(node)) {
    for (const n of node) simplifySchema(n);
    return;
  }
  if (!isObject(node)) return;
  for (const [k, v] of Object.entries(node)) {
    if (DATA_KEYS.has(k)) continue;
    if (SCHEMA_MAP_KEYS.has(k) && isObject(v)) for (const member of Object.values(v)) simplifySchema(member);
    else simplifySchema(v);
  }
  delete node.$id;
  if ('const' in node && !('enum' in node)) {
    node.enum = [node.const];
    delete node.const;
  }
  const anyOf = node.anyOf;
  if (Array.isArray(anyOf) && anyOf.length > 0 && !('type' in node) && !('enum' in node)) {
    const type = (anyOf[0] as Json).type;
    const plain = anyOf.every(
      (m) =>
        isObject(m) &&
        Object.keys(m).every((k) => k === 'type' || k === 'enum') &&
        m.type === type &&
        Array.isArray(m.enum) &&
        m.enum.length === 1,
    );
    if (plain && typeof type === 'string') {
      node.type = type;
      node.enum = anyOf.map((m) => ((m as Json).enum as unknown[])[0]);
      delete node.anyOf;
    }
  }
}

/** Realistic fields for the codes whose example would otherwise say little (PostgreSQL SQLSTATEs). */
const EXAMPLE_DETAILS: Partial<Record<ErrorCode, Json>> = {
  SQL_SYNTAX_ERROR: { message: 'syntax error at or near "SELEC"', sqlState: '42601', position: 1 },
  UNDEFINED_OBJECT: { message: 'relation "userz" does not exist', sqlState: '42P01', position: 15 },
  QUERY_FAILED: { message: 'division by zero', sqlState: '22012' },
  UNIQUE_VIOLATION: {
    message: 'duplicate key value violates unique constraint "users_email_key"',
    sqlState: '23505',
    constraint: 'users_email_key',
    table: 'users',
  },
  FOREIGN_KEY_VIOLATION: {
    message: 'insert or update on table "orders" violates foreign key constraint "orders_user_id_fkey"',
    sqlState: '23503',
    constraint: 'orders_user_id_fkey',
    table: 'orders',
  },
  NOT_NULL_VIOLATION: {
    message: 'null value in column "email" of relation "users" violates not-null constraint',
    sqlState: '23502',
    table: 'users',
    column: 'email',
  },
  CHECK_VIOLATION: { message: 'new row violates check constraint "price_positive"', sqlState: '23514' },
  DEADLOCK: { message: 'deadlock detected', sqlState: '40P01' },
  SERIALIZATION_FAILURE: {
    message: 'could not serialize access due to concurrent update',
    sqlState: '40001',
  },
  LOCK_TIMEOUT: { message: 'database is locked', dbCode: 'SQLITE_BUSY' },
  TRANSACTION_ABORTED: {
    message: 'current transaction is aborted, commands ignored until end of transaction block',
    sqlState: '25P02',
  },
  STATEMENT_TIMEOUT: { message: 'canceling statement due to statement timeout', sqlState: '57014' },
  BACKEND_NOT_FOUND: { message: 'no backend named "reports" is configured' },
  BACKEND_UNAVAILABLE: { message: 'could not connect to the database' },
};

/** A plausible error body for `code`; one per code goes into `components.examples`. */
export function errorExample(code: ErrorCode): Json {
  const spec = ERROR_CODES[code];
  const details = EXAMPLE_DETAILS[code] ?? {};
  const needsBackend = 'sqlState' in details || 'dbCode' in details || code === 'BACKEND_UNAVAILABLE';
  return {
    error: {
      code,
      message: spec.description,
      class: spec.class,
      retryable: spec.retryable,
      ...details,
      ...(needsBackend ? { backend: 'main' } : {}),
      requestId: '3f1c2a9e-5b7d-4e10-9c2a-8d6f0b1e4a77',
    },
  };
}

/** Every code answered with `status`, in registry order. */
export function codesWithStatus(status: number): ErrorCode[] {
  return (Object.keys(ERROR_CODES) as ErrorCode[]).filter((c) => ERROR_CODES[c].status === status);
}

/** The markdown table of every error code, for the `code` property of ErrorBody. */
function errorCodeTable(): string {
  const rows = (Object.keys(ERROR_CODES) as ErrorCode[]).map((code) => {
    const s = ERROR_CODES[code];
    return `| \`${code}\` | ${s.status} | ${s.class ?? '—'} | ${s.retryable ? 'yes' : 'no'} | ${s.description} |`;
  });
  return [
    'The error code; the HTTP status follows from it. See docs/errors.md for what a client should do.',
    '',
    '| code | HTTP | class | retryable | meaning |',
    '|---|---|---|---|---|',
    ...rows,
  ].join('\n');
}

function mediaOf(response: Json): Json[] {
  return isObject(response.content) ? Object.values(response.content).filter(isObject) : [];
}

function refName(schema: unknown): string | undefined {
  if (isObject(schema) && typeof schema.$ref === 'string' && schema.$ref.startsWith(COMPONENTS)) {
    return schema.$ref.slice(COMPONENTS.length);
  }
  return undefined;
}

/** Examples of a component as a media type's `examples` map (or `example` for one). */
function attachComponentExamples(media: Json, components: Record<string, Json>): void {
  if (media.example !== undefined || media.examples !== undefined) return;
  const name = refName(media.schema);
  const examples = name ? components[name]?.examples : undefined;
  if (!Array.isArray(examples) || examples.length === 0) return;
  if (examples.length === 1) media.example = examples[0];
  else media.examples = Object.fromEntries(examples.map((value, i) => [`example${i + 1}`, { value }]));
}

const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];

const EXAMPLES = '#/components/examples/';

/** The Retry-After header that 429 and 503 answers carry. */
const RETRY_AFTER = {
  'Retry-After': {
    description: 'Seconds to wait before retrying.',
    schema: { type: 'integer', minimum: 0 },
  },
};

/**
 * A POST under /v1/sessions whose body has no required member may be sent without a body: the sessions
 * routes read a missing body as `{}` (their preValidation hook), so the spec must not call it required.
 */
function bodyMayBeOmitted(path: string, method: string, body: Json, schemas: Record<string, Json>): boolean {
  if (method !== 'post' || !path.startsWith('/v1/sessions')) return false;
  return mediaOf(body).every((m) => {
    const name = refName(m.schema);
    const schema = (name ? schemas[name] : m.schema) as Json | undefined;
    return !Array.isArray(schema?.required) || schema.required.length === 0;
  });
}

/** Finishes the document @fastify/swagger built; `shared` holds the hoisted components. In place. */
export function finishDocument(doc: Json, shared: Map<string, Json>): Json {
  doc.components ??= {};
  const components = doc.components as Json;
  components.schemas ??= {};
  const schemas = components.schemas as Record<string, Json>;
  for (const [id, schema] of shared) {
    const copy = structuredClone(schema);
    copy.title ??= id;
    schemas[id] = copy;
  }
  simplifySchema(doc);
  const errorProps = ((schemas.ErrorBody?.properties as Json | undefined)?.error as Json | undefined)
    ?.properties as Json | undefined;
  if (isObject(errorProps?.code)) errorProps.code.description = errorCodeTable();
  if (schemas.ErrorBody) {
    components.examples = Object.fromEntries(
      (Object.keys(ERROR_CODES) as ErrorCode[]).map((c) => [
        c,
        { summary: ERROR_CODES[c].description, value: errorExample(c) },
      ]),
    );
  }

  for (const [path, pathItem] of Object.entries((doc.paths ?? {}) as Record<string, Json>)) {
    for (const method of HTTP_METHODS) {
      const op = pathItem[method];
      if (!isObject(op) || !isObject(op.responses)) continue;
      if (isObject(op.requestBody)) {
        for (const m of mediaOf(op.requestBody)) attachComponentExamples(m, schemas);
        if (bodyMayBeOmitted(path, method, op.requestBody, schemas)) op.requestBody.required = false;
      }
      for (const [status, response] of Object.entries(op.responses)) {
        if (!isObject(response)) continue;
        const isError = mediaOf(response).some((m) => refName(m.schema) === 'ErrorBody');
        if (!isError) {
          for (const m of mediaOf(response)) attachComponentExamples(m, schemas);
          if (response.description === 'Default Response')
            response.description = STATUS_CODES[status] ?? 'OK';
          continue;
        }
        const codes = codesWithStatus(Number(status));
        for (const m of mediaOf(response)) {
          delete m.example;
          m.examples = Object.fromEntries(codes.map((c) => [c, { $ref: `${EXAMPLES}${c}` }]));
        }
        if (response.description === 'Default Response') {
          response.description = `${STATUS_CODES[status] ?? 'Error'}: ${codes.join(', ') || 'error'}`;
        }
        if (status === '429' || status === '503')
          response.headers = { ...RETRY_AFTER, ...(response.headers as Json) };
      }
    }
  }
  return doc;
}
