import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, isLoopbackHost, loadConfig } from '../../src/config.js';

function problemsOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  return [];
}

describe('configuration', () => {
  it('starts on one SQLite backend named default with no file', () => {
    const c = loadConfig({ env: {} });
    expect(c.defaultBackend).toBe('default');
    expect(c.backends.default).toMatchObject({ driver: 'sqlite', database: './data/sqlgate.sqlite' });
    expect(c.server).toMatchObject({ host: '127.0.0.1', port: 8080, bodyLimit: 4194304 });
    expect(Object.isFrozen(c)).toBe(true);
    expect(Object.isFrozen(c.backends.default?.pool)).toBe(true);
  });

  it('takes DATABASE_URL alone', () => {
    expect(loadConfig({ env: { DATABASE_URL: 'postgres://u@h/db' } }).backends.default?.driver).toBe(
      'postgres',
    );
    expect(loadConfig({ env: { DATABASE_URL: 'mysql://u@h/db' } }).backends.default?.driver).toBe('mysql');
    expect(loadConfig({ env: { DATABASE_URL: 'sqlite::memory:' } }).backends.default?.database).toBe(
      ':memory:',
    );
  });

  it('reads YAML with ${VAR} and ${VAR:-default} interpolation', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sqlgate-cfg-'));
    const file = join(dir, 'c.yaml');
    writeFileSync(
      file,
      [
        'server:',
        '  port: ${PORT:-9090}',
        'backends:',
        '  main: { driver: postgres, url: "${PG_URL}", pool: { max: "${POOL_MAX:-3}" } }',
        '  local: { driver: sqlite, database: ":memory:" }',
        'defaultBackend: main',
      ].join('\n'),
    );
    const c = loadConfig({ file, env: { PG_URL: 'postgres://x@y/z' } });
    expect(c.server.port).toBe(9090);
    expect(c.backends.main).toMatchObject({
      url: 'postgres://x@y/z',
      pool: { max: 3, acquireTimeoutMs: 10000 },
    });
    expect(c.defaultBackend).toBe('main');
  });

  it('lists every problem at once', () => {
    const problems = problemsOf(() =>
      loadConfig({
        env: {},
        document: {
          server: { port: 'eighty', extra: true },
          backends: {
            a: { driver: 'oracle' },
            b: { driver: 'postgres' },
            c: { driver: 'sqlite', url: '${NOPE}' },
          },
        },
      }),
    );
    expect(problems.length).toBeGreaterThanOrEqual(3);
    expect(problems.join('\n')).toMatch(/NOPE/);
    expect(problems.join('\n')).toMatch(/server\/port/);
    expect(problems.join('\n')).toMatch(/backends\/a/);
  });

  it('checks cross-field rules', () => {
    const problems = problemsOf(() =>
      loadConfig({
        env: {},
        document: {
          backends: { b: { driver: 'postgres' }, s: { driver: 'sqlite' } },
          defaultBackend: 'zzz',
          sessions: { idleTimeoutMs: 100000, maxLifetimeMs: 5000 },
        },
      }),
    );
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringContaining('/backends/b'),
        expect.stringContaining('/backends/s'),
        expect.stringContaining('/defaultBackend'),
        expect.stringContaining('idleTimeoutMs'),
      ]),
    );
  });

  it('lists schema and cross-field problems together, each with its path', () => {
    const problems = problemsOf(() =>
      loadConfig({
        env: {},
        document: {
          server: { port: 'eighty' },
          backends: {
            pg: { driver: 'postgres' },
            lite: { driver: 'sqlite', database: 'x.db', pool: { max: 0 } },
          },
          defaultBackend: 'nowhere',
          sessions: { idleTimeoutMs: 100000, maxLifetimeMs: 5000 },
          auth: { apiKeys: [{ name: 'k' }], jwt: { issuer: 'i', audience: 'a' } },
        },
      }),
    );
    // Schema violations ...
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^\/server\/port: /),
        expect.stringMatching(/^\/backends\/lite\/pool\/max: /),
      ]),
    );
    // ... and every cross-field rule in the same answer.
    expect(problems).toEqual(
      expect.arrayContaining([
        '/backends/pg: a postgres backend needs "url"',
        '/defaultBackend: no backend named "nowhere"',
        '/sessions/idleTimeoutMs: must not exceed maxLifetimeMs',
        '/auth/apiKeys/k: give exactly one of "key" or "sha256"',
        '/auth/jwt: give exactly one of "secret", "publicKey", "jwksUrl" or "jwksFile"',
      ]),
    );
  });

  it('lists a bad DATABASE_URL with the other problems', () => {
    const problems = problemsOf(() =>
      loadConfig({ env: { DATABASE_URL: 'oracle://x' }, document: { server: { port: -1 } } }),
    );
    expect(problems).toEqual(
      expect.arrayContaining([
        'DATABASE_URL: expected a postgres://, mysql:// or sqlite: URL',
        expect.stringMatching(/^\/server\/port: /),
      ]),
    );
  });

  it('knows loopback hosts', () => {
    expect(isLoopbackHost('127.0.0.1')).toBe(true);
    expect(isLoopbackHost('::1')).toBe(true);
    expect(isLoopbackHost('localhost')).toBe(true);
    expect(isLoopbackHost('0.0.0.0')).toBe(false);
    expect(isLoopbackHost('10.0.0.1')).toBe(false);
  });
});
