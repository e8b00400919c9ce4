import { createHash, generateKeyPairSync } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { exportJWK, SignJWT, UnsecuredJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTestApp, type TestApp } from '../helpers/app.js';
import { tempSqliteFile } from '../helpers/backends.js';

/** Authentication: every way in that should fail does, with one generic 401; scopes hide backends. */

const ADMIN_KEY = 'adm-7Qm2vX9pL4kR8sT1wY6zB3nC5dF0gH';
const ANALYST_KEY = 'ana-Jk4Lm7Np2Qr5St8Uv1Wx3Yz6Ab9Cd0';
const JWT_SECRET = 'jwt-secret-9f8e7d6c5b4a3f2e1d0c9b8a7f6e5d4c';
const ISS = 'https://idp.example.test/';
const AUD = 'sqlgate-test';
const secret = new TextEncoder().encode(JWT_SECRET);
const bearer = (t: string) => ({ authorization: `Bearer ${t}` });

async function hsToken(
  claims: Record<string, unknown> = {},
  opts: {
    iss?: string;
    aud?: string;
    exp?: number | string;
    nbf?: number | string;
    sub?: string | null;
  } = {},
  key: Uint8Array = secret,
  alg = 'HS256',
): Promise<string> {
  const jwt = new SignJWT(claims).setProtectedHeader({ alg }).setIssuedAt();
  if (opts.sub !== null) jwt.setSubject(opts.sub ?? 'user-1');
  jwt.setIssuer(opts.iss ?? ISS).setAudience(opts.aud ?? AUD);
  jwt.setExpirationTime(opts.exp ?? '5m');
  if (opts.nbf !== undefined) jwt.setNotBefore(opts.nbf);
  return jwt.sign(key);
}

describe('authentication with API keys and HS256 JWTs', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await makeTestApp({
      auth: {
        apiKeys: [
          {
            name: 'admin',
            sha256: createHash('sha256').update(ADMIN_KEY).digest('hex'),
            backends: ['*'],
          },
          { name: 'analyst', key: ANALYST_KEY, backends: ['main'], readOnly: true },
        ],
        jwt: { secret: JWT_SECRET, issuer: ISS, audience: AUD },
      },
      backends: {
        main: { driver: 'sqlite', database: tempSqliteFile() },
        hidden: { driver: 'sqlite', database: tempSqliteFile() },
      },
      defaultBackend: 'main',
    });
  });
  afterAll(async () => t?.close());

  const select = (headers: Record<string, string>, backend?: string) =>
    t.post('/v1/execute', { sql: 'SELECT 1 AS x', ...(backend ? { backend } : {}) }, headers);

  const expect401 = (res: {
    status: number;
    body: { error: { code: string; message: string } };
    headers: Record<string, unknown>;
  }) => {
    expect(res.status).toBe(401);
    expect(res.body.error.code).toBe('UNAUTHORIZED');
    expect(res.body.error.message).toBe('missing or invalid credentials');
    expect(String(res.headers['www-authenticate'])).toMatch(/^Bearer realm="sqlgate"/);
  };

  it('accepts a key stored as SHA-256 and a plain key', async () => {
    expect((await select(bearer(ADMIN_KEY))).status).toBe(200);
    expect((await select(bearer(ANALYST_KEY))).status).toBe(200);
  });

  it('refuses a missing header, another scheme, an unknown or mangled key with the same 401', async () => {
    expect401(await select({}));
    expect401(await select({ authorization: `Basic ${Buffer.from(`a:${ADMIN_KEY}`).toString('base64')}` }));
    expect401(await select(bearer(`${ADMIN_KEY}x`)));
    expect401(await select(bearer(ADMIN_KEY.slice(0, -1))));
    expect401(await select(bearer('')));
    expect401(await select({ authorization: `bearer ${ADMIN_KEY} extra` }));
    expect401(await select(bearer('a'.repeat(20_000))));
    // The hash itself is not a key.
    expect401(await select(bearer(createHash('sha256').update(ADMIN_KEY).digest('hex'))));
  });

  it('refuses before reading the body: an unauthenticated oversized or invalid body is still 401', async () => {
    expect401(await t.post('/v1/execute', '{not json', {}));
  });

  it('accepts a valid JWT and maps its scope claim', async () => {
    const token = await hsToken({ sqlgate: { backends: ['main'], readOnly: false } });
    expect((await select(bearer(token))).status).toBe(200);
    const hidden = await select(bearer(token), 'hidden');
    expect(hidden.status).toBe(404);
  });

  it('a JWT without the scope claim gets the default scopes: no backend', async () => {
    const res = await select(bearer(await hsToken()));
    expect(res.status).toBe(404);
    expect(res.body.error.code).toBe('BACKEND_NOT_FOUND');
  });

  it('refuses expired, not-yet-valid, wrong issuer, wrong audience, wrong key, alg none and no subject', async () => {
    const now = Math.floor(Date.now() / 1000);
    const scope = { sqlgate: { backends: '*' } };
    expect401(await select(bearer(await hsToken(scope, { exp: now - 3600 }))));
    expect401(await select(bearer(await hsToken(scope, { nbf: now + 3600 }))));
    expect401(await select(bearer(await hsToken(scope, { iss: 'https://evil.example/' }))));
    expect401(await select(bearer(await hsToken(scope, { aud: 'another-service' }))));
    expect401(await select(bearer(await hsToken(scope, {}, new TextEncoder().encode('x'.repeat(40))))));
    expect401(await select(bearer(await hsToken(scope, { sub: null }))));
    const none = new UnsecuredJWT(scope)
      .setIssuer(ISS)
      .setAudience(AUD)
      .setSubject('user-1')
      .setExpirationTime('5m')
      .encode();
    expect401(await select(bearer(none)));
    // HS512 is allowed by default with a secret, but a token re-labelled to another alg fails its MAC.
    const good = await hsToken(scope);
    const [, payload, sig] = good.split('.');
    const relabelled = `${Buffer.from(JSON.stringify({ alg: 'HS512' })).toString('base64url')}.${payload}.${sig}`;
    expect401(await select(bearer(relabelled)));
    // An RS256 token when only a secret is configured.
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const rs = await new SignJWT(scope)
      .setProtectedHeader({ alg: 'RS256' })
      .setIssuer(ISS)
      .setAudience(AUD)
      .setSubject('u')
      .setExpirationTime('5m')
      .sign(privateKey);
    expect401(await select(bearer(rs)));
    // A malformed scope claim refuses the token instead of guessing.
    expect401(await select(bearer(await hsToken({ sqlgate: { backends: 'main', readOnly: 'no' } }))));
  });

  it('a backend outside the scope answers exactly like one that does not exist', async () => {
    const outOfScope = await select(bearer(ANALYST_KEY), 'hidden');
    const missing = await select(bearer(ANALYST_KEY), 'nonexistent');
    expect(outOfScope.status).toBe(404);
    expect(outOfScope.body.error.code).toBe('BACKEND_NOT_FOUND');
    expect(outOfScope.body.error.message).toBe('no backend named "hidden" is configured');
    expect(missing.body.error.message).toBe('no backend named "nonexistent" is configured');
  });

  it('GET /v1/backends needs credentials and lists only the backends in scope', async () => {
    expect401(await t.get('/v1/backends'));
    const admin = await t.get('/v1/backends', bearer(ADMIN_KEY));
    expect(admin.body.backends.map((b: { name: string }) => b.name).sort()).toEqual(['hidden', 'main']);
    const analyst = await t.get('/v1/backends', bearer(ANALYST_KEY));
    expect(analyst.body.backends.map((b: { name: string }) => b.name)).toEqual(['main']);
  });

  it('/healthz and /readyz are public; /metrics needs credentials by default', async () => {
    expect((await t.get('/healthz')).status).toBe(200);
    expect((await t.get('/readyz')).status).toBe(200);
    // /metrics (when the metrics route is registered) is not public unless auth.publicPaths lists it.
    expect((await t.get('/metrics')).status).toBe(401);
    expect((await t.get('/metrics', bearer(ADMIN_KEY))).status).not.toBe(401);
  });

  it('unknown routes need credentials too (no probing of what exists)', async () => {
    expect401(await t.get('/v1/nothing-here'));
  });
});

describe('JWT with a public key and with a JWKS file', () => {
  const ec = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const ed = generateKeyPairSync('ed25519');

  it('verifies ES256 with a PEM public key and refuses HS256 signed with that PEM as a secret', async () => {
    const pem = ec.publicKey.export({ type: 'spki', format: 'pem' }).toString();
    const t = await makeTestApp({
      auth: { jwt: { publicKey: pem, issuer: ISS, audience: AUD } },
      backends: { main: { driver: 'sqlite', database: tempSqliteFile() } },
    });
    try {
      const claims = { sqlgate: { backends: ['main'] } };
      const es = await new SignJWT(claims)
        .setProtectedHeader({ alg: 'ES256' })
        .setIssuer(ISS)
        .setAudience(AUD)
        .setSubject('svc')
        .setExpirationTime('1m')
        .sign(ec.privateKey);
      expect((await t.post('/v1/execute', { sql: 'SELECT 1' }, bearer(es))).status).toBe(200);
      // Key confusion: the public key used as an HMAC secret.
      const confused = await hsToken(claims, {}, new TextEncoder().encode(pem));
      expect((await t.post('/v1/execute', { sql: 'SELECT 1' }, bearer(confused))).status).toBe(401);
    } finally {
      await t.close();
    }
  });

  it('verifies EdDSA against a local JWKS file', async () => {
    const jwk = { ...(await exportJWK(ed.publicKey)), kid: 'k1', alg: 'EdDSA', use: 'sig' };
    const file = join(tempSqliteFile(), '..', 'jwks.json');
    writeFileSync(file, JSON.stringify({ keys: [jwk] }));
    const t = await makeTestApp({
      auth: { jwt: { jwksFile: file, issuer: [ISS], audience: AUD } },
      backends: { main: { driver: 'sqlite', database: tempSqliteFile() } },
    });
    try {
      const token = await new SignJWT({ sqlgate: { backends: '*' } })
        .setProtectedHeader({ alg: 'EdDSA', kid: 'k1' })
        .setIssuer(ISS)
        .setAudience(AUD)
        .setSubject('svc')
        .setExpirationTime('1m')
        .sign(ed.privateKey);
      expect((await t.post('/v1/execute', { sql: 'SELECT 1' }, bearer(token))).status).toBe(200);
      const other = generateKeyPairSync('ed25519');
      const forged = await new SignJWT({ sqlgate: { backends: '*' } })
        .setProtectedHeader({ alg: 'EdDSA', kid: 'k1' })
        .setIssuer(ISS)
        .setAudience(AUD)
        .setSubject('svc')
        .setExpirationTime('1m')
        .sign(other.privateKey);
      expect((await t.post('/v1/execute', { sql: 'SELECT 1' }, bearer(forged))).status).toBe(401);
    } finally {
      await t.close();
    }
  });
});

describe('backend scope on every statement route', () => {
  it('batch and session open refuse an out-of-scope backend (named or default) like a missing one', async () => {
    const t = await makeTestApp({
      auth: { apiKeys: [{ name: 'analyst', key: ANALYST_KEY, backends: ['main'] }] },
      backends: {
        main: { driver: 'sqlite', database: tempSqliteFile() },
        hidden: { driver: 'sqlite', database: tempSqliteFile() },
      },
      defaultBackend: 'hidden',
    });
    try {
      const h = bearer(ANALYST_KEY);
      for (const [url, body] of [
        ['/v1/execute', { sql: 'SELECT 1' }],
        ['/v1/execute', { sql: 'SELECT 1', backend: 'hidden' }],
        ['/v1/batch', { statements: [{ sql: 'SELECT 1' }] }],
        ['/v1/batch', { statements: [{ sql: 'SELECT 1' }], backend: 'hidden' }],
        ['/v1/sessions', {}],
        ['/v1/sessions', { backend: 'hidden' }],
      ] as const) {
        const res = await t.post(url, body, h);
        if (res.status === 404 && res.body.error.code === 'NOT_FOUND') continue; // route not in this build
        expect(res.status, `${url} ${JSON.stringify(body)}`).toBe(404);
        expect(res.body.error.code).toBe('BACKEND_NOT_FOUND');
      }
      expect((await t.post('/v1/execute', { sql: 'SELECT 1', backend: 'main' }, h)).status).toBe(200);
    } finally {
      await t.close();
    }
  });
});
