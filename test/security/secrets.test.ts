import { createHash } from 'node:crypto';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stripCredentials } from '../../src/auth/redact.js';
import { loadConfig } from '../../src/config.js';
import { capturedLogs, makeTestApp, type TestApp } from '../helpers/app.js';
import { PG_URL, tempSqliteFile, testBackends } from '../helpers/backends.js';

/**
 * Secrets never leak: a full round of requests (auth failures and successes, errors, batches, sessions, an
 * unreachable backend whose URL holds a password) with known secret values, then every captured log line
 * and every response body and header is searched for them.
 */

const API_KEY = 'SECRET-apikey-7hV2mQ9xL4pR8sT1';
const HASHED_KEY = 'SECRET-hashed-3kD8fJ2nB6vC9xZ0';
const RO_KEY = 'SECRET-rokey-5gH1jK4lM7nP0qR3';
const JWT_SECRET = 'SECRET-jwt-9f8e7d6c5b4a3f2e1d0c9b8a7f6e5d4c';
const DB_PASSWORD = 'S3cr3tDbPw-Zx81';
const RO_PASSWORD = 'S3cr3tRoPw-Qa55';
const SENTINEL = 'PARAM-SENTINEL-4qW7eR';

const tb = (await testBackends()).find((b) => b.driver === 'postgres');
const pgReachable = tb?.skipReason === null;

describe('secrets never reach logs, responses or headers', () => {
  let t: TestApp;
  let jwt: string;
  const responses: string[] = [];

  const record = (res: { status: number; body: unknown; headers: Record<string, unknown> }) => {
    responses.push(`${res.status} ${JSON.stringify(res.body)} ${JSON.stringify(res.headers)}`);
    return res;
  };
  const post = async (url: string, body: unknown, key?: string) =>
    record(await t.post(url, body, key ? { authorization: `Bearer ${key}` } : {}));
  const get = async (url: string, key?: string) =>
    record(await t.get(url, key ? { authorization: `Bearer ${key}` } : {}));

  beforeAll(async () => {
    const backends: Record<string, unknown> = {
      main: { driver: 'sqlite', database: tempSqliteFile() },
      down: {
        driver: 'postgres',
        url: `postgres://app_user:${DB_PASSWORD}@127.0.0.1:1/x`,
        readOnlyUrl: `postgres://ro_user:${RO_PASSWORD}@127.0.0.1:1/x`,
        connectTimeoutMs: 500,
        pool: { acquireTimeoutMs: 1000 },
      },
    };
    if (pgReachable) backends.pg = { driver: 'postgres', url: PG_URL };
    t = await makeTestApp({
      auth: {
        apiKeys: [
          { name: 'app', key: API_KEY },
          { name: 'hashed', sha256: createHash('sha256').update(HASHED_KEY).digest('hex') },
          { name: 'ro', key: RO_KEY, readOnly: true },
        ],
        jwt: { secret: JWT_SECRET, issuer: 'iss', audience: 'aud' },
      },
      backends,
      defaultBackend: 'main',
    });
    jwt = await new SignJWT({ sqlgate: { backends: '*' } })
      .setProtectedHeader({ alg: 'HS256' })
      .setIssuer('iss')
      .setAudience('aud')
      .setSubject('svc')
      .setExpirationTime('5m')
      .sign(new TextEncoder().encode(JWT_SECRET));
  });
  afterAll(async () => t?.close());

  it('runs the round of requests', async () => {
    // Auth failures: a wrong key that contains a real one, the JWT secret as a key, a broken JWT.
    await post('/v1/execute', { sql: 'SELECT 1' }, `${API_KEY}-wrong`);
    await post('/v1/execute', { sql: 'SELECT 1' }, JWT_SECRET.replace(/[^A-Za-z0-9-]/g, ''));
    await post('/v1/execute', { sql: 'SELECT 1' }, `${jwt.slice(0, -4)}AAAA`);
    await post('/v1/execute', { sql: 'SELECT 1', params: [SENTINEL] });
    // Successes that do not echo the param.
    for (const key of [API_KEY, HASHED_KEY, jwt]) {
      expect(
        (await post('/v1/execute', { sql: 'SELECT length(?) AS n', params: [SENTINEL] }, key)).status,
      ).toBe(200);
    }
    await post('/v1/execute', { sql: 'CREATE TABLE s (id TEXT PRIMARY KEY)' }, API_KEY);
    await post('/v1/execute', { sql: 'INSERT INTO s VALUES (?)', params: [SENTINEL] }, API_KEY);
    // Errors with the sentinel in params.
    await post('/v1/execute', { sql: 'INSERT INTO s VALUES (?)', params: [SENTINEL] }, API_KEY); // unique
    await post('/v1/execute', { sql: 'SELEC ?', params: [SENTINEL] }, API_KEY);
    await post('/v1/execute', { sql: 'SELECT * FROM nosuch WHERE x = ?', params: [SENTINEL] }, API_KEY);
    await post('/v1/execute', { sql: 'SELECT ?', params: [{ $type: 'BIGINT', value: SENTINEL }] }, API_KEY);
    await post('/v1/execute', { sql: 'SELECT ?', params: [{ $type: 'DATE', value: SENTINEL }] }, API_KEY);
    await post('/v1/execute', { sql: 'SELECT ?', params: [{ $type: 'BLOB', base64: SENTINEL }] }, API_KEY);
    await post('/v1/execute', { sql: 'SELECT ?, ?', params: [SENTINEL] }, API_KEY);
    await post('/v1/execute', { sql: 'SELECT :a', params: { b: SENTINEL } }, API_KEY);
    await post('/v1/execute', `{"sql":"SELECT ?","params":["${SENTINEL}"`, API_KEY);
    await post('/v1/execute', { sql: 'SELECT ?', params: [SENTINEL], extra: SENTINEL }, API_KEY);
    await post('/v1/execute', { sql: 'INSERT INTO s VALUES (?)', params: [`${SENTINEL}-ro`] }, RO_KEY);
    // Batches.
    await post(
      '/v1/batch',
      {
        statements: [
          { sql: 'INSERT INTO s VALUES (?)', params: [`${SENTINEL}-b`] },
          { sql: 'SELEC ?', params: [SENTINEL] },
        ],
      },
      API_KEY,
    );
    await post(
      '/v1/batch',
      { sql: 'INSERT INTO s VALUES (?)', paramSets: [[SENTINEL], [SENTINEL]] },
      API_KEY,
    );
    // Sessions (begin true, a failing statement, commit).
    const s = await post('/v1/sessions', { begin: true }, API_KEY);
    if (s.status === 201) {
      const id = (s.body as { id: string }).id;
      await post(
        `/v1/sessions/${id}/execute`,
        { sql: 'INSERT INTO s VALUES (?)', params: [`${SENTINEL}-s`] },
        API_KEY,
      );
      await post(
        `/v1/sessions/${id}/execute`,
        { sql: 'INSERT INTO s VALUES (?)', params: [SENTINEL] },
        API_KEY,
      );
      await post(`/v1/sessions/${id}/rollback`, {}, API_KEY);
    }
    // The unreachable backend whose URLs hold passwords: execute, read-only execute, batch, session, health.
    await post('/v1/execute', { sql: 'SELECT ?', params: [SENTINEL], backend: 'down' }, API_KEY);
    await post('/v1/execute', { sql: 'SELECT ?', params: [SENTINEL], backend: 'down' }, RO_KEY);
    await post('/v1/batch', { statements: [{ sql: 'SELECT 1' }], backend: 'down' }, API_KEY);
    await post('/v1/sessions', { backend: 'down' }, API_KEY);
    await get('/readyz');
    await get('/v1/backends', API_KEY);
    await get('/metrics', API_KEY);
    if (pgReachable) {
      await post(
        '/v1/execute',
        { sql: 'CREATE TEMP TABLE IF NOT EXISTS u (v text UNIQUE)', backend: 'pg' },
        API_KEY,
      );
      await post(
        '/v1/batch',
        {
          backend: 'pg',
          statements: [
            { sql: 'CREATE TEMP TABLE u (v text UNIQUE)' },
            { sql: 'INSERT INTO u VALUES ($1)', params: [SENTINEL] },
            { sql: 'INSERT INTO u VALUES ($1)', params: [SENTINEL] },
          ],
        },
        API_KEY,
      );
      await post('/v1/execute', { sql: 'SELECT $1::int', params: [SENTINEL], backend: 'pg' }, API_KEY);
      await post(
        '/v1/execute',
        { sql: "SELECT 1/0 WHERE $1 = 'x'", params: [SENTINEL], backend: 'pg' },
        API_KEY,
      );
    }
    expect(responses.length).toBeGreaterThan(20);
  });

  it('no captured log line holds a secret or a param sentinel', () => {
    expect(capturedLogs.length).toBeGreaterThan(20);
    const logs = capturedLogs.join('\n');
    for (const secret of [API_KEY, HASHED_KEY, RO_KEY, JWT_SECRET, DB_PASSWORD, RO_PASSWORD, SENTINEL, jwt]) {
      const line = capturedLogs.find((l) => l.includes(secret));
      expect(line, `a log line holds ${secret.slice(0, 12)}...`).toBeUndefined();
    }
    expect(logs).toContain('authentication failed');
  });

  it('no response body or header holds a secret or a param sentinel', () => {
    for (const secret of [API_KEY, HASHED_KEY, RO_KEY, JWT_SECRET, DB_PASSWORD, RO_PASSWORD, SENTINEL, jwt]) {
      const hit = responses.find((r) => r.includes(secret));
      expect(hit, `a response holds ${secret.slice(0, 12)}...`).toBeUndefined();
    }
  });
});

describe('stripCredentials', () => {
  it('removes user:password@ from any URL and password= from key/value strings', () => {
    expect(stripCredentials('connect postgres://u:p4ss@db:5432/x failed')).toBe(
      'connect postgres://[redacted]@db:5432/x failed',
    );
    expect(stripCredentials('mysql://root@127.0.0.1:3306/test')).toBe(
      'mysql://[redacted]@127.0.0.1:3306/test',
    );
    expect(stripCredentials("host=db password='x y' user=u")).toBe('host=db password=[redacted] user=u');
    expect(stripCredentials('no secrets here: a@b.c')).toBe('no secrets here: a@b.c');
  });

  it('config errors do not print the URL values', () => {
    try {
      loadConfig({
        document: {
          backends: { x: { driver: 'postgres', url: `postgres://u:${DB_PASSWORD}@h/x`, bogus: 1 } },
        },
        env: {},
      });
      expect.unreachable();
    } catch (err) {
      expect(String((err as Error).message)).not.toContain(DB_PASSWORD);
    }
  });
});
