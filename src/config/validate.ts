import type { RawConfig } from './schema.js';

/*
 * The checks a schema cannot express (one field against another). They run even when the schema found
 * problems, so a file with both kinds gets every problem in one answer: each check looks only at values of
 * the type it expects and leaves anything else to the schema's own messages.
 */

type Loose<T> = { [K in keyof T]?: unknown };

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** Hosts that only this machine can reach. */
export function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '::1' || host === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/** The backend requests use when they name none: `defaultBackend`, else `default`, else the first. */
export function defaultBackendOf(raw: Loose<RawConfig>): string {
  const names = isObject(raw.backends) ? Object.keys(raw.backends) : [];
  if (typeof raw.defaultBackend === 'string') return raw.defaultBackend;
  return (names.includes('default') ? 'default' : names[0]) ?? 'default';
}

/** Every cross-field problem of the document, each with the JSON path it is about. */
export function crossFieldProblems(raw: Loose<RawConfig>): string[] {
  const problems: string[] = [];
  const backends = isObject(raw.backends) ? raw.backends : {};
  if (isObject(raw.backends) && Object.keys(backends).length === 0) {
    problems.push('/backends: at least one backend is required');
  }
  for (const [name, b] of Object.entries(backends)) {
    if (!isObject(b) || typeof b.driver !== 'string') continue;
    if (b.driver === 'sqlite' && !b.database)
      problems.push(`/backends/${name}: a sqlite backend needs "database"`);
    if (b.driver !== 'sqlite' && !b.url)
      problems.push(`/backends/${name}: a ${b.driver} backend needs "url"`);
    if (b.driver !== 'sqlite' && b.database) {
      problems.push(`/backends/${name}: "database" is for sqlite; use "url"`);
    }
  }
  const defaultBackend = defaultBackendOf(raw);
  if (!Object.hasOwn(backends, defaultBackend))
    problems.push(`/defaultBackend: no backend named "${defaultBackend}"`);
  problems.push(...authProblems(raw.auth));
  const server = isObject(raw.server) ? raw.server : {};
  const { requestTimeoutMs, headersTimeoutMs } = server;
  if (typeof requestTimeoutMs === 'number' && typeof headersTimeoutMs === 'number') {
    if (requestTimeoutMs > 0 && headersTimeoutMs > requestTimeoutMs) {
      problems.push('/server/headersTimeoutMs: must not exceed requestTimeoutMs');
    }
  }
  const sessions = isObject(raw.sessions) ? raw.sessions : {};
  if (typeof sessions.idleTimeoutMs === 'number' && typeof sessions.maxLifetimeMs === 'number') {
    if (sessions.idleTimeoutMs > sessions.maxLifetimeMs) {
      problems.push('/sessions/idleTimeoutMs: must not exceed maxLifetimeMs');
    }
  }
  return problems;
}

/** Checks of the auth section that a schema cannot express. */
function authProblems(auth: unknown): string[] {
  const problems: string[] = [];
  if (!isObject(auth)) return problems;
  const seen = new Set<string>();
  const keys = Array.isArray(auth.apiKeys) ? auth.apiKeys : [];
  for (const k of keys) {
    if (!isObject(k) || typeof k.name !== 'string') continue;
    if (!k.key === !k.sha256) problems.push(`/auth/apiKeys/${k.name}: give exactly one of "key" or "sha256"`);
    if (seen.has(k.name)) problems.push(`/auth/apiKeys/${k.name}: names must be unique`);
    seen.add(k.name);
  }
  if (isObject(auth.jwt)) problems.push(...jwtProblems(auth.jwt));
  return problems;
}

function jwtProblems(jwt: Record<string, unknown>): string[] {
  const problems: string[] = [];
  const sources = [jwt.secret, jwt.publicKey, jwt.jwksUrl, jwt.jwksFile].filter((v) => v !== undefined);
  if (sources.length !== 1) {
    problems.push('/auth/jwt: give exactly one of "secret", "publicKey", "jwksUrl" or "jwksFile"');
  }
  const algorithms = Array.isArray(jwt.algorithms) ? (jwt.algorithms as unknown[]) : undefined;
  const hmac = algorithms?.filter((a) => typeof a === 'string' && a.startsWith('HS')) ?? [];
  if (jwt.secret && algorithms && hmac.length !== algorithms.length) {
    problems.push('/auth/jwt/algorithms: a "secret" only verifies HS256/HS384/HS512');
  }
  if (!jwt.secret && hmac.length > 0) problems.push('/auth/jwt/algorithms: HS* algorithms need "secret"');
  if (typeof jwt.jwksUrl === 'string') {
    let url: URL | undefined;
    try {
      url = new URL(jwt.jwksUrl);
    } catch {
      problems.push('/auth/jwt/jwksUrl: not a valid URL');
    }
    if (url && url.protocol !== 'https:' && !(url.protocol === 'http:' && isLoopbackHost(url.hostname))) {
      problems.push('/auth/jwt/jwksUrl: must be https:// (http:// only on loopback)');
    }
  }
  return problems;
}
