import { readFileSync } from 'node:fs';
import SwaggerParser from '@apidevtools/swagger-parser';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatOpenApi, generateOpenApi, OPENAPI_FILE } from '../../scripts/gen-openapi.js';
import { ERROR_CODES, type ErrorCode } from '../../src/errors.js';
import { makeTestApp, type TestApp } from '../helpers/app.js';
import { tempSqliteFile } from '../helpers/backends.js';

/**
 * openapi/openapi.json is the contract: it must be what the routes generate, valid OpenAPI 3.1, with
 * examples for every operation that match their schemas, and the same document the server serves.
 */

// biome-ignore lint/suspicious/noExplicitAny: the test walks an untyped JSON document
type Json = Record<string, any>;

const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options', 'trace'];

function operations(doc: Json): Array<{ id: string; op: Json }> {
  const out: Array<{ id: string; op: Json }> = [];
  for (const [path, item] of Object.entries(doc.paths as Json)) {
    for (const m of METHODS) if (item[m]) out.push({ id: `${m.toUpperCase()} ${path}`, op: item[m] });
  }
  return out;
}

/** Every example value of a media type object, resolving `#/components/examples/...` references. */
function mediaExamples(doc: Json, media: Json): unknown[] {
  if (media.example !== undefined) return [media.example];
  return Object.values((media.examples ?? {}) as Json).map((e: Json) => {
    if (typeof e.$ref === 'string') return doc.components.examples[e.$ref.split('/').pop()!].value;
    return e.value;
  });
}

let generated: Json;
let committed: Json;

beforeAll(async () => {
  generated = await generateOpenApi();
  committed = JSON.parse(readFileSync(OPENAPI_FILE, 'utf8'));
});

describe('openapi/openapi.json', () => {
  it('is what the routes generate (run `npm run openapi` after changing a route)', () => {
    const stale = JSON.stringify(committed) !== JSON.stringify(generated);
    expect(
      stale ? 'openapi/openapi.json is stale: run npm run openapi and commit the file' : 'up to date',
    ).toBe('up to date');
    // Same text too, so the file never drifts in formatting.
    expect(readFileSync(OPENAPI_FILE, 'utf8')).toBe(formatOpenApi(generated));
  });

  it('validates as OpenAPI 3.1', async () => {
    expect(committed.openapi).toBe('3.1.0');
    // The parser dereferences in place: give it a copy.
    await expect(SwaggerParser.validate(structuredClone(committed) as never)).resolves.toBeTruthy();
  });

  it('the validator rejects a broken document (so the check above means something)', async () => {
    const broken = structuredClone(committed);
    broken.paths['/v1/execute'].post.responses['200'].content['application/json'].schema = {
      $ref: '#/components/schemas/NoSuchSchema',
    };
    await expect(SwaggerParser.validate(broken as never)).rejects.toThrow(/NoSuchSchema/);
  });

  it('describes the core endpoints with the bearer scheme', () => {
    const ids = operations(committed).map((o) => o.id);
    for (const id of [
      'POST /v1/execute',
      'GET /v1/backends',
      'GET /healthz',
      'GET /readyz',
      'GET /metrics',
      'GET /openapi.json',
    ]) {
      expect(ids).toContain(id);
    }
    expect(committed.components.securitySchemes.bearer).toMatchObject({ type: 'http', scheme: 'bearer' });
    for (const probe of ['/healthz', '/readyz']) expect(committed.paths[probe].get.security).toEqual([]);
    expect(committed.components.schemas.QueryResult).toBeDefined();
    expect(committed.components.schemas.ErrorBody).toBeDefined();
  });

  it('has a summary, a tag, a request example and an example for every response of every operation', () => {
    const missing: string[] = [];
    for (const { id, op } of operations(committed)) {
      if (!op.summary) missing.push(`${id}: summary`);
      if (!op.tags?.length) missing.push(`${id}: tags`);
      for (const [type, media] of Object.entries((op.requestBody?.content ?? {}) as Json)) {
        if (mediaExamples(committed, media).length === 0) missing.push(`${id}: request body ${type} example`);
      }
      for (const [status, response] of Object.entries(op.responses as Json)) {
        for (const [type, media] of Object.entries((response.content ?? {}) as Json)) {
          if (mediaExamples(committed, media).length === 0) missing.push(`${id}: ${status} ${type} example`);
        }
      }
    }
    // Add `examples: [...]` to the TypeBox schema of the body or response, then run npm run openapi.
    expect(missing).toEqual([]);
  });

  it('every example matches its schema', () => {
    const ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: false });
    // `#/components/schemas/X` references resolve against a root that carries the components.
    ajv.addSchema({ $id: 'sqlgate:openapi', components: committed.components }, undefined, undefined, false);
    const problems: string[] = [];
    const check = (where: string, schema: Json, values: unknown[]) => {
      const rooted = JSON.parse(
        JSON.stringify(schema).replaceAll('"#/components/', '"sqlgate:openapi#/components/'),
      );
      const validate = ajv.compile(rooted);
      values.forEach((v, i) => {
        if (!validate(v)) problems.push(`${where} example ${i + 1}: ${ajv.errorsText(validate.errors)}`);
      });
    };
    for (const { id, op } of operations(committed)) {
      for (const [type, media] of Object.entries((op.requestBody?.content ?? {}) as Json)) {
        check(`${id} request ${type}`, media.schema, mediaExamples(committed, media));
      }
      for (const [status, response] of Object.entries(op.responses as Json)) {
        for (const [type, media] of Object.entries((response.content ?? {}) as Json)) {
          check(`${id} ${status} ${type}`, media.schema, mediaExamples(committed, media));
        }
      }
    }
    for (const [name, schema] of Object.entries(committed.components.schemas as Json)) {
      check(`components.schemas.${name}`, schema, schema.examples ?? []);
    }
    expect(problems).toEqual([]);
  });

  it('lists, on every error response, exactly the codes with that status, and Retry-After on 429/503', () => {
    for (const { id, op } of operations(committed)) {
      for (const [status, response] of Object.entries(op.responses as Json)) {
        const media = response.content?.['application/json'];
        if (media?.schema?.$ref !== '#/components/schemas/ErrorBody') continue;
        const codes = Object.keys(media.examples ?? {});
        const expected = (Object.keys(ERROR_CODES) as ErrorCode[]).filter(
          (c) => ERROR_CODES[c].status === Number(status),
        );
        expect(codes, `${id} ${status}`).toEqual(expected);
        for (const value of mediaExamples(committed, media) as Json[]) {
          const spec = ERROR_CODES[value.error.code as ErrorCode];
          expect(value.error).toMatchObject({ class: spec.class, retryable: spec.retryable });
        }
        if (status === '429' || status === '503') expect(response.headers?.['Retry-After']).toBeDefined();
      }
    }
  });
});

describe('served document', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await makeTestApp({ backends: { main: { driver: 'sqlite', database: tempSqliteFile() } } });
  });
  afterAll(async () => t?.close());

  it('GET /openapi.json serves the generated document, independent of the configuration', async () => {
    const res = await t.get('/openapi.json');
    expect(res.status).toBe(200);
    expect(String(res.headers['content-type'])).toMatch(/^application\/json/);
    expect(res.body).toEqual(generated);
  });

  it('GET /docs serves Swagger UI pointing at the document', async () => {
    const page = await t.get('/docs/');
    expect(page.status).toBe(200);
    expect(String(page.headers['content-type'])).toMatch(/^text\/html/);
    expect(page.body).toContain('swagger-ui');
    const json = await t.get('/docs/json');
    expect(json.status).toBe(200);
    expect(json.body).toEqual(generated);
  });

  it('does not list the Swagger UI routes themselves', () => {
    expect(Object.keys(generated.paths).filter((p) => p.startsWith('/docs'))).toEqual([]);
  });
});
