import fc from 'fast-check';
import fastJsonStringify from 'fast-json-stringify';
import { describe, expect, it } from 'vitest';
import { BatchResultSchema } from '../../routes/batch.js';
import { ErrorBodySchema, QueryResultSchema } from '../../routes/schemas.js';
import { fromWire, MIN_WIRE_ROWS, rowsJsonOf, toWire } from '../../src/backend/rows-json.js';
import { GENERIC_TYPES, type QueryResult } from '../../src/backend/types.js';
import { createSerializerCompiler } from '../../src/plugins/serializer-compiler.js';
import { stringifyQueryResult } from '../../src/query/formats/query-result-json.js';
import { makeTestApp } from '../helpers/app.js';

/** What fastify's default compiler would have produced: the reference the fast paths must match. */
const reference = (schema: object) => fastJsonStringify(schema as Parameters<typeof fastJsonStringify>[0]);

const json = fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.parse(JSON.stringify(v)));
const column = fc.record({
  name: fc.string(),
  type: fc.constantFrom(...GENERIC_TYPES),
  dbType: fc.string(),
  nullable: fc.constantFrom(true, false, null),
});
const queryResult: fc.Arbitrary<QueryResult> = fc.record({
  columns: fc.array(column, { maxLength: 4 }),
  rows: fc.oneof(
    fc.array(fc.array(json, { maxLength: 4 }), { maxLength: 5 }),
    fc.array(fc.dictionary(fc.string(), json, { maxKeys: 4 }), { maxLength: 5 }),
  ),
  rowCount: fc.nat(),
  affectedRows: fc.nat(),
  lastInsertId: fc.oneof(fc.constant(null), fc.string(), fc.integer()),
  command: fc.constantFrom('SELECT', 'INSERT', 'UPDATE', ''),
  durationMs: fc.double({ min: 0, max: 1e6, noNaN: true }),
});

describe('response serializer compiler', () => {
  const compile = createSerializerCompiler();

  it('serializes a QueryResult exactly as the schema serializer does', () => {
    const ref = reference(QueryResultSchema);
    fc.assert(
      fc.property(queryResult, (r) => {
        expect(JSON.parse(stringifyQueryResult(r))).toEqual(JSON.parse(ref(r)));
        expect(compile({ schema: QueryResultSchema })(r)).toBe(stringifyQueryResult(r));
      }),
    );
  });

  it('splices rows that arrived as JSON text (the SQLite worker path) without changing the output', () => {
    const ref = reference(QueryResultSchema);
    const batch = compile({ schema: BatchResultSchema });
    const many = (r: QueryResult): QueryResult => ({
      ...r,
      rows: Array.from(
        { length: Math.ceil(MIN_WIRE_ROWS / Math.max(1, r.rows.length)) },
        () => r.rows,
      ).flat(),
    });
    fc.assert(
      fc.property(queryResult.map(many), (r) => {
        const wired = fromWire(structuredClone(toWire(r)));
        expect(JSON.parse(stringifyQueryResult(wired))).toEqual(JSON.parse(ref(r)));
        expect(JSON.parse(batch({ results: [wired], durationMs: 1 })).results[0]).toEqual(JSON.parse(ref(r)));
        expect(wired.rows).toEqual(r.rows);
        expect(wired).toEqual(r);
      }),
    );
  });

  it('parses wire rows on first read; from then on the parsed rows are what gets sent', () => {
    const r = fromWire(
      toWire({
        columns: [{ name: 'a', type: 'TEXT', dbType: 'text', nullable: null }],
        rows: Array.from({ length: MIN_WIRE_ROWS }, () => ({ a: 'x' })),
        rowCount: MIN_WIRE_ROWS,
        affectedRows: 0,
        lastInsertId: null,
        command: 'SELECT',
        durationMs: 1,
      }),
    );
    expect(rowsJsonOf(r)).toBe(JSON.stringify(Array.from({ length: MIN_WIRE_ROWS }, () => ({ a: 'x' }))));
    (r.rows[0] as Record<string, string>).a = 'changed';
    expect(rowsJsonOf(r)).toBeUndefined();
    expect(JSON.parse(stringifyQueryResult(r)).rows[0]).toEqual({ a: 'changed' });
    r.rows = [];
    expect(JSON.parse(stringifyQueryResult(r)).rows).toEqual([]);
    expect({ ...r }.rows).toEqual([]);
  });

  it('drops fields a QueryResult or a column must not carry', () => {
    const r = {
      columns: [{ name: 'a', type: 'TEXT', dbType: 'text', nullable: null, secret: 'x' }],
      rows: [{ a: 'b' }],
      rowCount: 1,
      affectedRows: 0,
      lastInsertId: null,
      command: 'SELECT',
      durationMs: 1,
      internal: 'leak',
    } as unknown as QueryResult;
    const out = JSON.parse(stringifyQueryResult(r));
    expect(out).not.toHaveProperty('internal');
    expect(out.columns[0]).not.toHaveProperty('secret');
    expect(out).toEqual(JSON.parse(reference(QueryResultSchema)(r)));
  });

  it('serializes batch results, error entries through the ErrorBody schema', () => {
    const ref = reference(BatchResultSchema);
    const fast = compile({ schema: BatchResultSchema });
    const error = {
      error: {
        code: 'UNIQUE_VIOLATION',
        message: 'duplicate',
        class: 'IntegrityError',
        retryable: false,
        position: 12,
        notInSchema: 'dropped',
        requestId: 'r1',
      },
    };
    fc.assert(
      fc.property(
        fc.array(fc.oneof(queryResult, fc.constant(error)), { maxLength: 6 }),
        fc.double({ noNaN: true }),
        (results, d) => {
          const batch = { results, durationMs: d };
          expect(JSON.parse(fast(batch))).toEqual(JSON.parse(ref(batch)));
        },
      ),
    );
    const out = JSON.parse(fast({ results: [error], durationMs: 1 }));
    expect(out.results[0].error).not.toHaveProperty('notInSchema');
    expect(out.results[0].error.position).toBe(12);
  });

  it('hands a large result to Fastify as its UTF-8 bytes, a small one as text', () => {
    const rows = Array.from({ length: 3000 }, (_, i) => ({ id: i, s: `é😀 "row" ${i}` }));
    const big: QueryResult = {
      columns: [],
      rows,
      rowCount: rows.length,
      affectedRows: 0,
      lastInsertId: null,
      command: 'SELECT',
      durationMs: 1,
    };
    const out = compile({ schema: QueryResultSchema })(big) as unknown;
    expect(Buffer.isBuffer(out)).toBe(true);
    expect((out as Buffer).toString('utf8')).toBe(stringifyQueryResult(big));
    const small = { ...big, rows: rows.slice(0, 2), rowCount: 2 };
    expect(compile({ schema: QueryResultSchema })(small)).toBe(stringifyQueryResult(small));
  });

  it('compiles a schema once, however many routes and statuses declare it', () => {
    const a = compile({ schema: ErrorBodySchema });
    const b = compile({ schema: ErrorBodySchema });
    expect(a).toBe(b);
    const body = {
      error: { code: 'BAD_REQUEST', message: 'm', class: null, retryable: false, requestId: 'x' },
    };
    expect(a(body)).toBe(reference(ErrorBodySchema)(body));
  });

  it('serves results and errors through the app', async () => {
    const t = await makeTestApp({ backends: { default: { driver: 'sqlite', database: ':memory:' } } });
    try {
      const ok = await t.post('/v1/execute', { sql: 'select 1 as a, ? as b', params: ['x'] });
      expect(ok.status).toBe(200);
      expect(ok.body).toMatchObject({ rows: [{ a: '1', b: 'x' }], rowCount: 1, command: 'SELECT' });
      expect(Object.keys(ok.body)).toEqual([
        'columns',
        'rows',
        'rowCount',
        'affectedRows',
        'lastInsertId',
        'command',
        'durationMs',
      ]);
      const bad = await t.post('/v1/execute', { sql: 'select * from nowhere' });
      expect(bad.status).toBe(400);
      expect(bad.body.error.code).toBe('UNDEFINED_OBJECT');
    } finally {
      await t.close();
    }
  });
});
