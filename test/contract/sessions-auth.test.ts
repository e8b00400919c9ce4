import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestApp } from '../helpers/app.js';
import { makeTestApp } from '../helpers/app.js';
import { type TestBackend, testBackends } from '../helpers/backends.js';

/**
 * Sessions with API keys: ownership (another key cannot tell a session exists), backend scopes, per-key
 * maxSessions and read-only keys. Part of the sessions contract suite, split by topic.
 */
const backends = await testBackends();

describe('sessions with API keys', () => {
  const KEY_A = 'key-a-0123456789abcdef';
  const KEY_B = 'key-b-0123456789abcdef';
  const KEY_RO = 'key-ro-0123456789abcdef';
  const KEY_OTHER = 'key-other-0123456789abc';
  const as = (key: string) => ({ authorization: `Bearer ${key}` });
  let t: TestApp;
  beforeAll(async () => {
    const sqlite = backends.find((b) => b.driver === 'sqlite') as TestBackend;
    t = await makeTestApp({
      auth: {
        apiKeys: [
          { name: 'a', key: KEY_A },
          { name: 'b', key: KEY_B },
          { name: 'ro', key: KEY_RO, readOnly: true },
          { name: 'other', key: KEY_OTHER, backends: ['elsewhere'], maxSessions: 1 },
        ],
      },
      backends: { db: sqlite.backendDoc(), elsewhere: sqlite.backendDoc() },
      defaultBackend: 'db',
    });
    await t.post('/v1/execute', { sql: 'CREATE TABLE k (id INTEGER PRIMARY KEY)' }, as(KEY_A));
  });
  afterAll(() => t?.close());

  it('a session opened with key A answers 404 to key B, on every route, and stays intact', async () => {
    const open = await t.post('/v1/sessions', {}, as(KEY_A));
    expect(open.status, JSON.stringify(open.body)).toBe(201);
    const id = open.body.id;
    await t.post(`/v1/sessions/${id}/execute`, { sql: 'INSERT INTO k (id) VALUES (1)' }, as(KEY_A));
    const probes = [
      t.get(`/v1/sessions/${id}`, as(KEY_B)),
      t.post(`/v1/sessions/${id}/execute`, { sql: 'SELECT 1' }, as(KEY_B)),
      t.post('/v1/execute', { sql: 'SELECT 1', session: id }, as(KEY_B)),
      t.post(`/v1/sessions/${id}/batch`, { statements: [{ sql: 'SELECT 1' }] }, as(KEY_B)),
      t.post(`/v1/sessions/${id}/savepoints`, {}, as(KEY_B)),
      t.post(`/v1/sessions/${id}/commit`, {}, as(KEY_B)),
      t.post(`/v1/sessions/${id}/rollback`, {}, as(KEY_B)),
      t.app.inject({ method: 'DELETE', url: `/v1/sessions/${id}`, headers: as(KEY_B) }).then((r) => ({
        status: r.statusCode,
        body: r.json(),
      })),
    ];
    for (const res of await Promise.all(probes)) {
      expect(res.status).toBe(404);
      expect(res.body.error.code).toBe('SESSION_NOT_FOUND');
    }
    expect((await t.get(`/v1/sessions/${id}`)).status).toBe(401);
    const mine = await t.get(`/v1/sessions/${id}`, as(KEY_A));
    expect(mine.body).toMatchObject({ inTransaction: true });
    expect((await t.post(`/v1/sessions/${id}/commit`, {}, as(KEY_A))).status).toBe(200);
    // Ended: the owner learns so (410), anyone else still cannot tell the id ever existed.
    expect((await t.get(`/v1/sessions/${id}`, as(KEY_A))).status).toBe(410);
    expect((await t.get(`/v1/sessions/${id}`, as(KEY_B))).status).toBe(404);
  });

  it('honours backend scopes, per-key maxSessions and read-only keys', async () => {
    const hidden = await t.post('/v1/sessions', { backend: 'db' }, as(KEY_OTHER));
    expect(hidden.status).toBe(404);
    expect(hidden.body.error.code).toBe('BACKEND_NOT_FOUND');
    const batch = await t.post('/v1/batch', { statements: [{ sql: 'SELECT 1' }] }, as(KEY_OTHER));
    expect(batch.body.error.code).toBe('BACKEND_NOT_FOUND');
    const first = await t.post('/v1/sessions', { backend: 'elsewhere' }, as(KEY_OTHER));
    expect(first.status).toBe(201);
    const second = await t.post('/v1/sessions', { backend: 'elsewhere' }, as(KEY_OTHER));
    expect(second.status).toBe(429);
    expect(second.body.error.code).toBe('TOO_MANY_SESSIONS');
    await t.app.inject({ method: 'DELETE', url: `/v1/sessions/${first.body.id}`, headers: as(KEY_OTHER) });

    const ro = await t.post('/v1/sessions', {}, as(KEY_RO));
    expect(ro.status, JSON.stringify(ro.body)).toBe(201);
    const write = await t.post(
      `/v1/sessions/${ro.body.id}/execute`,
      { sql: 'INSERT INTO k (id) VALUES (2)' },
      as(KEY_RO),
    );
    expect(write.status).toBe(403);
    expect(write.body.error.code).toBe('READ_ONLY_VIOLATION');
    const read = await t.post(
      `/v1/sessions/${ro.body.id}/execute`,
      { sql: 'SELECT COUNT(*) AS n FROM k' },
      as(KEY_RO),
    );
    expect(read.status).toBe(200);
    await t.app.inject({ method: 'DELETE', url: `/v1/sessions/${ro.body.id}`, headers: as(KEY_RO) });
    const roBatch = await t.post(
      '/v1/batch',
      { statements: [{ sql: 'INSERT INTO k (id) VALUES (3)' }] },
      as(KEY_RO),
    );
    expect(roBatch.status).toBe(403);
    expect(roBatch.body.error.code).toBe('READ_ONLY_VIOLATION');
  });
});
