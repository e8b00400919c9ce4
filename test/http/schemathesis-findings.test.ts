import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTestApp, type TestApp } from '../helpers/app.js';
import { expectErrorBody } from '../helpers/errors.js';

/**
 * What schemathesis (scripts/schemathesis.sh, run by .ci/steps/schemathesis.sh) found on its first run
 * against the built gateway (issue #15), each pinned here so it cannot come back between fuzz runs.
 */

const KEY = 'st-findings-key-0123456789abcdef';
const auth = { authorization: `Bearer ${KEY}` };
let t: TestApp;

beforeAll(async () => {
  t = await makeTestApp({
    auth: { apiKeys: [{ name: 'app', key: KEY, backends: ['*'] }] },
    backends: { local: { driver: 'sqlite', database: ':memory:' } },
  });
});
afterAll(async () => t.close());

describe('the bulk batch form with a missing half', () => {
  it('paramSets without sql is a coded 400, not a 500', async () => {
    const res = await t.post('/v1/batch', { paramSets: [[1, 'open']] }, auth);
    expectErrorBody(res, 'BAD_REQUEST');
    expect(res.body.error.message).toBe('the bulk form needs both "sql" and "paramSets"');
  });

  it('sql without paramSets is the same coded 400', async () => {
    const res = await t.post('/v1/batch', { sql: 'select 1' }, auth);
    expectErrorBody(res, 'BAD_REQUEST');
    expect(res.body.error.message).toBe('the bulk form needs both "sql" and "paramSets"');
  });

  it('in a session too, and the session is still usable afterwards', async () => {
    const opened = await t.post('/v1/sessions', { begin: true }, auth);
    expect(opened.status).toBe(201);
    const id = opened.body.id as string;
    const bad = await t.post(`/v1/sessions/${id}/batch`, { paramSets: [[1]] }, auth);
    expectErrorBody(bad, 'BAD_REQUEST');
    const ok = await t.post(`/v1/sessions/${id}/execute`, { sql: 'select 2 as n' }, auth);
    expect(ok.status).toBe(200);
    expect(ok.body.rows).toEqual([{ n: '2' }]);
    const del = await t.app.inject({ method: 'DELETE', url: `/v1/sessions/${id}`, headers: auth });
    expect(del.statusCode).toBe(200);
  });
});

describe('a method the spec does not list', () => {
  it('QUERY (a body-carrying method) without a Content-Type gets 405 with Allow, not a 400', async () => {
    const res = await t.app.inject({ method: 'QUERY' as 'GET', url: '/healthz', headers: auth });
    expect(res.statusCode).toBe(405);
    expect(res.headers.allow).toBe('GET, HEAD');
    expect(res.json().error).toMatchObject({ code: 'METHOD_NOT_ALLOWED', retryable: false });
  });

  it('QUERY on a POST route is 405 too; on an unknown path 404', async () => {
    const onPost = await t.app.inject({ method: 'QUERY' as 'GET', url: '/v1/batch', headers: auth });
    expect(onPost.statusCode).toBe(405);
    expect(onPost.headers.allow).toBe('POST');
    const unknown = await t.app.inject({ method: 'QUERY' as 'GET', url: '/v1/nothing', headers: auth });
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json().error.code).toBe('NOT_FOUND');
  });
});

describe('a method the spec does not list, without credentials', () => {
  it('is still 401 on a non-public path (no probing of what exists)', async () => {
    const res = await t.app.inject({ method: 'QUERY' as 'GET', url: '/v1/nothing' });
    expect(res.statusCode).toBe(401);
    expect(res.json().error.code).toBe('UNAUTHORIZED');
  });
});

describe('GET /metrics without credentials', () => {
  it('answers the JSON error body, and the spec documents application/json for that 401', async () => {
    const res = await t.get('/metrics');
    expectErrorBody(res, 'UNAUTHORIZED');
    expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
    const spec = JSON.parse(readFileSync(new URL('../../openapi/openapi.json', import.meta.url), 'utf8'));
    const responses = spec.paths['/metrics'].get.responses;
    expect(Object.keys(responses['401'].content)).toEqual(['application/json']);
    expect(Object.keys(responses['200'].content)).toEqual(['text/plain']);
  });

  it('with credentials still answers the text exposition', async () => {
    const res = await t.get('/metrics', auth);
    expect(res.status).toBe(200);
    expect(String(res.headers['content-type'])).toMatch(/^text\/plain/);
    expect(String(res.body)).toContain('# TYPE sqlgate_http_requests_total counter');
  });
});
