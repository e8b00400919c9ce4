import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { BackendRegistry } from '../backend/backend-registry.js';
import type { StorageBackend } from '../backend/storage-backend.js';
import { SqlgateError } from '../errors.js';
import type { Principal } from './principal.js';

/**
 * What a principal may touch. A backend outside a principal's scope answers exactly like a backend that does
 * not exist (404 BACKEND_NOT_FOUND, same message), so a key cannot be used to probe which backends exist.
 */

/** True when `backends` (a principal's list, `*` = all) includes `name`. */
export function inScope(principal: Principal, name: string): boolean {
  return principal.backends.includes('*') || principal.backends.includes(name);
}

/** The message for an unknown and an out-of-scope backend alike. */
function notFound(name: string | undefined): SqlgateError {
  return new SqlgateError('BACKEND_NOT_FOUND', `no backend named "${name ?? 'default'}" is configured`);
}

/**
 * The backend a request names (or the default), when the request's principal may use it; otherwise
 * BACKEND_NOT_FOUND, indistinguishable from a backend that is not configured. Routes call this instead of
 * `app.backends.get` for anything a client names.
 */
export function authorizeBackend(
  request: FastifyRequest,
  registry: BackendRegistry,
  name: string | undefined,
): StorageBackend {
  const resolved = name ?? registry.defaultName;
  if (!inScope(request.principal, resolved)) throw notFound(name);
  return registry.get(resolved);
}

/** The backends a principal may see (GET /v1/backends lists only these). */
export function visibleBackends(principal: Principal, all: readonly StorageBackend[]): StorageBackend[] {
  return all.filter((b) => inScope(principal, b.name));
}

/** The optional per-principal limits of a config entry or token claim, without undefined members. */
export function principalLimits(src: {
  ratePerMinute?: number;
  maxSessions?: number;
  maxRows?: number;
  maxStreamRows?: number;
  maxStreamBytes?: number;
}): Pick<Principal, 'limits'> {
  const limits: NonNullable<Principal['limits']> = {};
  if (src.ratePerMinute !== undefined) limits.ratePerMinute = src.ratePerMinute;
  if (src.maxSessions !== undefined) limits.maxSessions = src.maxSessions;
  if (src.maxRows !== undefined) limits.maxRows = src.maxRows;
  if (src.maxStreamRows !== undefined) limits.maxStreamRows = src.maxStreamRows;
  if (src.maxStreamBytes !== undefined) limits.maxStreamBytes = src.maxStreamBytes;
  return Object.keys(limits).length > 0 ? { limits: Object.freeze(limits) } : {};
}

/** Routes whose body picks a backend (`backend`, or the default when omitted and no `session` is given). */
const BACKEND_ROUTES = new Set(['/v1/execute', '/v1/batch', '/v1/sessions']);

/**
 * A preHandler on every route: a body naming a backend (or a backend-choosing route relying on the default)
 * is checked against the principal's scope before any handler runs. Routes also call `authorizeBackend`;
 * this hook makes sure a new route that forgets to cannot become a way around the scope.
 */
export function enforceBackendScope(app: FastifyInstance): void {
  app.addHook('preHandler', async (request) => {
    if (request.method !== 'POST') return;
    const body = request.body as { backend?: unknown; session?: unknown } | null | undefined;
    if (!body || typeof body !== 'object' || Array.isArray(body)) return;
    const route = request.routeOptions.url ?? '';
    let name: string | undefined;
    if (typeof body.backend === 'string') name = body.backend;
    else if (BACKEND_ROUTES.has(route) && body.session === undefined) name = app.backends?.defaultName;
    if (name !== undefined && !inScope(request.principal, name)) throw notFound(body.backend as string);
  });
}
