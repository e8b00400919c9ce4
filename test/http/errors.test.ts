import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { capturedLogs, makeTestApp, type TestApp } from '../helpers/app.js';
import { tempSqliteFile } from '../helpers/backends.js';

/** Protocol-level failures: every one has its documented code and status, and none leaks input. */
describe('HTTP error handling', () => {
  let t: TestApp;
  const SENTINEL = 'param-sentinel-31337';
  beforeAll(async () => {
    t = await makeTestApp({
      server: { bodyLimit: 2048 },
      backends: { db: { driver: 'sqlite', database: tempSqliteFile() } },
    });
  });
  afterAll(() => t.close());

  const raw = (payload: string, contentType = 'application/json') =>
    t.app.inject({ method: 'POST', url: '/v1/execute', payload, headers: { 'content-type': contentType } });

  it('malformed JSON -> 400 BAD_REQUEST without quoting the body', async () => {
    const res = await raw(`{"sql": "select ?", "params": ["${SENTINEL}"`);
    expect(res.statusCode).toBe(400);
    expect(res.json().error).toMatchObject({
      code: 'BAD_REQUEST',
      class: 'ValidationError',
      retryable: false,
    });
    expect(res.body).not.toContain(SENTINEL);
  });

  it('unknown fields and wrong types -> 400 BAD_REQUEST naming the field', async () => {
    const res = await t.post('/v1/execute', { sql: 'select 1', bogus: true });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('BAD_REQUEST');
    const res2 = await t.post('/v1/execute', { sql: 5 });
    expect(res2.status).toBe(400);
    expect(res2.body.error.message).toMatch(/sql/);
    const res3 = await t.post('/v1/execute', { sql: 'select 1', options: { rowMode: 'table' } });
    expect(res3.status).toBe(400);
  });

  it('a body over the limit -> 413 PAYLOAD_TOO_LARGE', async () => {
    const res = await t.post('/v1/execute', { sql: `select '${'x'.repeat(4000)}'` });
    expect(res.status).toBe(413);
    expect(res.body.error.code).toBe('PAYLOAD_TOO_LARGE');
  });

  it('a non-JSON body -> 415 UNSUPPORTED_MEDIA_TYPE', async () => {
    const res = await raw('select 1', 'text/plain');
    expect(res.statusCode).toBe(415);
    expect(res.json().error.code).toBe('UNSUPPORTED_MEDIA_TYPE');
  });

  it('__proto__ keys are refused', async () => {
    const res = await raw('{"sql":"select 1","__proto__":{"polluted":true}}');
    expect(res.statusCode).toBe(400);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('unknown routes -> 404 NOT_FOUND in the same error shape', async () => {
    const res = await t.get('/v1/nope');
    expect(res.status).toBe(404);
    expect(res.body.error.code).toBe('NOT_FOUND');
    // The not-found handler's replies get the request id and security headers like every other reply.
    expect(res.headers['x-request-id']).toBe(res.body.error.requestId);
    expect(res.headers['x-content-type-options']).toBe('nosniff');
  });

  it('bad tagged values never echo the value, and request ids are propagated', async () => {
    const res = await t.post(
      '/v1/execute',
      { sql: 'select :d', params: { d: { $type: 'DATE', value: SENTINEL } } },
      { 'x-request-id': 'my-trace-1' },
    );
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('PARAM_INVALID');
    expect(res.body.error.requestId).toBe('my-trace-1');
    expect(res.headers['x-request-id']).toBe('my-trace-1');
    expect(JSON.stringify(res.body)).not.toContain(SENTINEL);
  });

  it('no response or log line contains a param value or a stack trace', async () => {
    await t.post('/v1/execute', { sql: 'select :a as a', params: { a: SENTINEL } });
    await t.post('/v1/execute', { sql: 'select * from missing where x = :a', params: { a: SENTINEL } });
    const logs = capturedLogs.join('');
    expect(logs).not.toContain(SENTINEL);
    expect(logs).not.toMatch(/"stack"/);
  });
});
