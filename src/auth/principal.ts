import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { type Config, isAuthConfigured } from '../config.js';
import { refuseUnenforceableClientTransactions } from '../query/read-only.js';
import { Authenticator, AuthFailure } from './authenticator.js';
import { enforceBackendScope } from './scopes.js';

/**
 * Who is calling. Every request has one: with no auth configured it is the anonymous local principal
 * (the server then listens on loopback only). Sessions are bound to `id`.
 */
export interface Principal {
  /** Stable identity: `key:<name>`, `jwt:<sub>`, `anonymous`, or `unauthenticated` (public paths). */
  id: string;
  /** Backends this principal may use; `['*']` for all. */
  backends: readonly string[];
  /** Writes are refused (by the database: read-only transactions / connections). */
  readOnly: boolean;
  /** Optional per-principal limits that tighten the global ones. */
  limits?: {
    maxRows?: number;
    maxSessions?: number;
    ratePerMinute?: number;
    /** Rows per NDJSON stream (tightens limits.maxStreamRows). */
    maxStreamRows?: number;
    /** Bytes of row lines per NDJSON stream (tightens limits.maxStreamBytes). */
    maxStreamBytes?: number;
  };
}

export const ANONYMOUS: Principal = Object.freeze({
  id: 'anonymous',
  backends: Object.freeze(['*']),
  readOnly: false,
});

/** A request to a public path (`auth.publicPaths`) when auth is configured: may use no backend at all. */
export const UNAUTHENTICATED: Principal = Object.freeze({
  id: 'unauthenticated',
  backends: Object.freeze([] as string[]),
  readOnly: true,
});

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal;
  }
  interface FastifyContextConfig {
    /** A static page without data (routes/console.ts): served without credentials when auth is on. */
    publicPage?: boolean;
  }
}

/** Paths that never need credentials. */
const ALWAYS_PUBLIC = ['/healthz'];

/** True when the request's route (its pattern, so `/docs/*` matches `/docs`) is public. */
function isPublic(request: FastifyRequest, publicPaths: readonly string[]): boolean {
  const route = request.routeOptions.url;
  if (route === undefined) return false;
  // Static pages that hold no data (the query console, routes/console.ts): their API calls need auth.
  if (request.routeOptions.config?.publicPage === true) return true;
  return [...ALWAYS_PUBLIC, ...publicPaths].some((p) => route === p || route.startsWith(`${p}/`));
}

/**
 * Sets `request.principal` before anything else runs (before the body is even read). Without auth
 * configured every request is ANONYMOUS. With auth, `Authorization: Bearer <key-or-jwt>` is required except
 * on public paths; every failure is the same 401 with `WWW-Authenticate: Bearer`, and its reason is logged.
 */
async function principalPlugin(app: FastifyInstance, opts: { config?: Config }): Promise<void> {
  app.decorateRequest('principal', null as unknown as Principal);
  const auth = opts.config?.auth;
  if (!opts.config || !auth || !isAuthConfigured(opts.config)) {
    app.addHook('onRequest', (request, _reply, done) => {
      request.principal ??= ANONYMOUS;
      done();
    });
    return;
  }
  enforceBackendScope(app);
  refuseUnenforceableClientTransactions(app);
  const authenticator = await Authenticator.create(auth);
  const publicPaths = auth.publicPaths;
  const corsPreflight = opts.config.server.cors !== undefined;
  app.addHook('onRequest', async (request, reply) => {
    if (isPublic(request, publicPaths) || (corsPreflight && request.method === 'OPTIONS')) {
      request.principal = UNAUTHENTICATED;
      return;
    }
    try {
      request.principal = await authenticator.authenticate(request.headers.authorization);
    } catch (err) {
      if (err instanceof AuthFailure) {
        request.log.info({ reason: err.reason }, 'authentication failed');
        reply.header('www-authenticate', err.wwwAuthenticate);
      }
      throw err;
    }
  });
}

export default fp(principalPlugin, { name: 'sqlgate-principal' });
