import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTestApp, type TestApp } from '../helpers/app.js';

/**
 * Issue #15 defect 9, protocol edges: every answer is the coded error body, and the spec says what the
 * server does. Raw sockets where Node or the router answer before Fastify's routes do.
 */

const KEY = 'edge-test-key-0123456789abcdef';
let t: TestApp;
let port: number;

beforeAll(async () => {
  t = await makeTestApp({
    auth: { apiKeys: [{ name: 'app', key: KEY, backends: ['*'] }] },
    backends: { local: { driver: 'sqlite', database: ':memory:' } },
  });
  await t.app.listen({ host: '127.0.0.1', port: 0 });
  port = (t.app.server.address() as { port: number }).port;
});
afterAll(async () => t.close());

/** Sends raw bytes, returns status, headers and the parsed body of the first response. */
function raw(request: string): Promise<{ status: number; headers: string; body: any }> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port });
    const chunks: Buffer[] = [];
    s.on('data', (c) => chunks.push(c));
    s.on('error', reject);
    s.on('close', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const [head = '', body = ''] = text.split('\r\n\r\n');
      resolve({ status: Number(head.split(' ')[1]), headers: head.toLowerCase(), body: JSON.parse(body) });
    });
    s.end(request);
  });
}

describe('protocol edges', () => {
  it("a session id over 100 characters is a coded 400, not the router's raw 414", async () => {
    const id = 'x'.repeat(150);
    const res = await t.get(`/v1/sessions/${id}`, { authorization: `Bearer ${KEY}` });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('BAD_REQUEST');
    // Auth still comes first for ids the router accepts.
    expect((await t.get(`/v1/sessions/${id}`)).status).toBe(401);
    const huge = await t.get(`/v1/sessions/${'y'.repeat(2000)}`);
    expect(huge.status).toBe(400);
    expect(huge.body.error.code).toBe('BAD_REQUEST');
    expect(typeof huge.body.error.requestId).toBe('string');
  });

  it("a 20 KB bearer token reaches auth and is a coded 401, not Node's raw 431", async () => {
    const res = await raw(
      `GET /v1/backends HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${'a'.repeat(20_000)}\r\nConnection: close\r\n\r\n`,
    );
    expect(res.status).toBe(401);
    expect(res.body.error.code).toBe('UNAUTHORIZED');
  });

  it('headers over server.maxHeaderBytes are a coded 431 HEADERS_TOO_LARGE', async () => {
    const res = await raw(
      `GET /v1/backends HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${'a'.repeat(70_000)}\r\n\r\n`,
    );
    expect(res.status).toBe(431);
    expect(res.body.error).toMatchObject({ code: 'HEADERS_TOO_LARGE', retryable: false });
    expect(res.headers).toContain('connection: close');
  });

  it('malformed HTTP is a coded 400', async () => {
    const res = await raw('GET / HTTP/1.1\r\nHost x\r\n\r\n');
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('BAD_REQUEST');
  });

  it('a known path with another method is 405 METHOD_NOT_ALLOWED with Allow', async () => {
    const res = await t.app.inject({
      method: 'PUT',
      url: '/v1/execute',
      headers: { authorization: `Bearer ${KEY}` },
    });
    expect(res.statusCode).toBe(405);
    expect(res.json().error.code).toBe('METHOD_NOT_ALLOWED');
    expect(res.headers.allow).toBe('GET, POST');
    const s = await t.app.inject({
      method: 'PATCH',
      url: '/v1/sessions/abc',
      headers: { authorization: `Bearer ${KEY}` },
    });
    expect(s.statusCode).toBe(405);
    expect(s.headers.allow).toBe('DELETE, GET, HEAD');
    const unknown = await t.app.inject({
      method: 'GET',
      url: '/v1/nope',
      headers: { authorization: `Bearer ${KEY}` },
    });
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json().error.code).toBe('NOT_FOUND');
  });

  it('/metrics answers a coded 401 without credentials, and the spec lists it', async () => {
    const res = await t.get('/metrics');
    expect(res.status).toBe(401);
    expect(res.body.error.code).toBe('UNAUTHORIZED');
    const spec = JSON.parse(readFileSync(new URL('../../openapi/openapi.json', import.meta.url), 'utf8'));
    expect(Object.keys(spec.paths['/metrics'].get.responses)).toContain('401');
  });

  it('POST /v1/sessions without a body opens a session, and the spec says the body is optional', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: '/v1/sessions',
      headers: { authorization: `Bearer ${KEY}` },
    });
    expect(res.statusCode).toBe(201);
    expect(res.json().inTransaction).toBe(true);
    const spec = JSON.parse(readFileSync(new URL('../../openapi/openapi.json', import.meta.url), 'utf8'));
    expect(spec.paths['/v1/sessions'].post.requestBody.required).toBe(false);
    expect(spec.paths['/v1/sessions/{id}/commit'].post.requestBody.required).toBe(false);
    expect(spec.paths['/v1/sessions/{id}/execute'].post.requestBody.required).toBe(true);
    expect(spec.paths['/v1/execute'].post.requestBody.required).toBe(true);
  });
});
