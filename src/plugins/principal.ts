import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { Authenticator, AuthFailure } from '../auth/authenticator.js';
import { ANONYMOUS, type Principal, UNAUTHENTICATED } from '../auth/principal.js';
import { enforceBackendScope } from '../auth/scopes.js';
import { type Config, isAuthConfigured } from '../config.js';
import { refuseUnenforceableClientTransactions } from '../query/read-only.js';

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
