import { describe, expect, it } from 'vitest';
import { ApiKeyStore, hashApiKey } from '../../src/auth/api-keys.js';
import { Authenticator } from '../../src/auth/authenticator.js';
import { inScope } from '../../src/auth/scopes.js';
import { ConfigError, isAuthConfigured, loadConfig } from '../../src/config.js';
import { exceedsDepth } from '../../src/plugins/json-body.js';

const backends = { db: { driver: 'sqlite', database: ':memory:' } };
const problems = (auth: unknown, extra: Record<string, unknown> = {}): string[] => {
  try {
    loadConfig({ document: { auth, backends, ...extra }, env: {} });
    return [];
  } catch (err) {
    return (err as ConfigError).problems;
  }
};

describe('auth configuration checks', () => {
  const jwt = { issuer: 'i', audience: 'a' };
  it('needs exactly one JWT key source, and iss + aud', () => {
    expect(problems({ jwt })).toEqual([expect.stringMatching(/exactly one of "secret"/)]);
    expect(problems({ jwt: { ...jwt, secret: 's'.repeat(32), jwksUrl: 'https://x/jwks' } })).toHaveLength(1);
    expect(problems({ jwt: { secret: 's'.repeat(32) } }).join()).toMatch(/issuer/);
    expect(problems({ jwt: { ...jwt, secret: 'short' } }).join()).toMatch(/secret/);
  });
  it('refuses alg none, HS with a public key, and plain-http JWKS off loopback', () => {
    expect(
      problems({ jwt: { ...jwt, secret: 's'.repeat(32), algorithms: ['none'] } }).length,
    ).toBeGreaterThan(0);
    expect(problems({ jwt: { ...jwt, publicKey: 'PEM', algorithms: ['HS256'] } }).join()).toMatch(
      /HS\* algorithms need "secret"/,
    );
    expect(problems({ jwt: { ...jwt, secret: 's'.repeat(32), algorithms: ['RS256'] } }).join()).toMatch(
      /only verifies HS/,
    );
    expect(problems({ jwt: { ...jwt, jwksUrl: 'http://idp.example/jwks' } }).join()).toMatch(/https/);
    expect(problems({ jwt: { ...jwt, jwksUrl: 'http://127.0.0.1:9/jwks' } })).toEqual([]);
  });
  it('never makes /v1 public; key names are unique and need exactly one of key/sha256', () => {
    expect(problems({ apiKeys: [], publicPaths: ['/v1/execute'] }).length).toBeGreaterThan(0);
    const k = { name: 'a', key: 'k'.repeat(16) };
    expect(problems({ apiKeys: [k, k] }).join()).toMatch(/unique/);
    expect(problems({ apiKeys: [{ name: 'b' }] }).join()).toMatch(/exactly one of "key" or "sha256"/);
  });
  it('a key that passes the schema but cannot be used is a ConfigError naming the setting', async () => {
    const { JwtVerifier } = await import('../../src/auth/jwt.js');
    const bad = (extra: Record<string, unknown>): string[] => {
      try {
        new JwtVerifier({ ...jwt, ...extra } as never);
        return [];
      } catch (err) {
        expect(err).toBeInstanceOf(ConfigError);
        return (err as ConfigError).problems;
      }
    };
    expect(bad({ publicKey: 'not a pem' })).toEqual(['/auth/jwt/publicKey: not a PEM public key']);
    expect(bad({ jwksFile: '/nonexistent/jwks.json' })).toEqual([
      '/auth/jwt/jwksFile: /nonexistent/jwks.json cannot be read as a JSON key set',
    ]);
    expect(bad({})).toEqual(['/auth/jwt: no key configured']);
  });

  it('headersTimeoutMs may not exceed requestTimeoutMs', () => {
    expect(
      problems(undefined, { server: { headersTimeoutMs: 10_000, requestTimeoutMs: 5000 } }).join(),
    ).toMatch(/headersTimeoutMs/);
  });
  it('isAuthConfigured: keys or JWT', () => {
    expect(isAuthConfigured({ auth: undefined })).toBe(false);
    expect(isAuthConfigured(loadConfig({ document: { auth: { apiKeys: [] }, backends }, env: {} }))).toBe(
      false,
    );
    expect(
      isAuthConfigured(
        loadConfig({ document: { auth: { jwt: { ...jwt, secret: 's'.repeat(32) } }, backends }, env: {} }),
      ),
    ).toBe(true);
  });
});

describe('API keys', () => {
  const store = new ApiKeyStore([
    { name: 'a', key: 'key-aaaaaaaaaaaaaaaa', backends: ['*'], readOnly: false },
    {
      name: 'b',
      sha256: hashApiKey('key-bbbbbbbbbbbbbbbb').toString('hex'),
      backends: ['x'],
      readOnly: true,
      maxRows: 5,
    },
  ]);
  it('finds the principal by key, hashed or plain; nothing else matches', () => {
    expect(store.verify('key-aaaaaaaaaaaaaaaa')?.id).toBe('key:a');
    const b = store.verify('key-bbbbbbbbbbbbbbbb');
    expect(b).toMatchObject({ id: 'key:b', readOnly: true, backends: ['x'], limits: { maxRows: 5 } });
    expect(store.verify('key-bbbbbbbbbbbbbbb')).toBeUndefined();
    expect(store.verify(hashApiKey('key-bbbbbbbbbbbbbbbb').toString('hex'))).toBeUndefined();
    expect(store.verify('')).toBeUndefined();
  });
  it('principals are frozen', () => {
    const p = store.verify('key-aaaaaaaaaaaaaaaa');
    expect(Object.isFrozen(p)).toBe(true);
    expect(Object.isFrozen(p?.backends)).toBe(true);
  });
  it('the authenticator refuses other schemes and malformed headers with one message', async () => {
    const a = new Authenticator({
      apiKeys: [{ name: 'a', key: 'key-aaaaaaaaaaaaaaaa', backends: ['*'], readOnly: false }],
      publicPaths: [],
    });
    expect((await a.authenticate('Bearer key-aaaaaaaaaaaaaaaa')).id).toBe('key:a');
    expect((await a.authenticate('bearer   key-aaaaaaaaaaaaaaaa')).id).toBe('key:a');
    for (const h of [
      undefined,
      '',
      'Basic abc',
      'Bearer',
      'Bearer a b',
      'Bearer key\u0000x',
      ['Bearer a', 'Bearer b'],
    ]) {
      await expect(a.authenticate(h as string)).rejects.toMatchObject({
        code: 'UNAUTHORIZED',
        message: 'missing or invalid credentials',
      });
    }
  });
  it('scopes: * or the exact name', () => {
    expect(inScope({ id: 'x', backends: ['*'], readOnly: false }, 'any')).toBe(true);
    expect(inScope({ id: 'x', backends: ['a'], readOnly: false }, 'a')).toBe(true);
    expect(inScope({ id: 'x', backends: ['a'], readOnly: false }, 'ab')).toBe(false);
    expect(inScope({ id: 'x', backends: [], readOnly: false }, 'a')).toBe(false);
  });
});

describe('JSON depth scan', () => {
  it('counts only brackets outside strings, with escapes', () => {
    expect(exceedsDepth('[[1]]', 2)).toBe(false);
    expect(exceedsDepth('[[[1]]]', 2)).toBe(true);
    expect(exceedsDepth('["[[[[", {"a": "\\"[[[["}]', 2)).toBe(false);
    expect(exceedsDepth('{"a":{"b":{"c":1}}}', 3)).toBe(false);
    expect(exceedsDepth('{"a":{"b":{"c":{}}}}', 3)).toBe(true);
  });
});
