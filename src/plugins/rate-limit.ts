import rateLimit from '@fastify/rate-limit';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import type { Config } from '../config.js';
import { SqlgateError } from '../errors.js';

/** Requests per minute the request's principal may make; 0 = unlimited. */
function perMinute(request: FastifyRequest, fallback: number): number {
  return request.principal?.limits?.ratePerMinute ?? fallback;
}

/**
 * Whether any principal can have a rate limit: the global one, an API key's own, or a JWT's claims (which
 * may carry `ratePerMinute`, so any JWT configuration counts).
 */
export function anyRateLimit(config: Config): boolean {
  return (
    config.limits.ratePerMinute > 0 ||
    config.auth?.jwt !== undefined ||
    (config.auth?.apiKeys ?? []).some((k) => (k.ratePerMinute ?? 0) > 0)
  );
}

/**
 * Per-principal rate limit (@fastify/rate-limit, in memory, one-minute window keyed by `principal.id`, so a
 * key shared by many clients shares one budget). The limit is the principal's `ratePerMinute`, else
 * `limits.ratePerMinute`; 0 turns it off. Over the limit: 429 RATE_LIMITED with Retry-After. Runs after the
 * principal is known and before the body is parsed. Requests on public paths have no principal limit and are
 * not counted.
 */
async function rateLimitPlugin(app: FastifyInstance, opts: { config: Config }): Promise<void> {
  const fallback = opts.config.limits.ratePerMinute;
  if (!anyRateLimit(opts.config)) return; // nothing to count: no hook on every request
  await app.register(rateLimit, {
    global: true,
    hook: 'onRequest',
    timeWindow: 60_000,
    keyGenerator: (request) => request.principal.id,
    max: (request) => perMinute(request, fallback) || Number.MAX_SAFE_INTEGER,
    allowList: (request) => request.principal.id === 'unauthenticated' || perMinute(request, fallback) === 0,
    errorResponseBuilder: (_request, context) =>
      new SqlgateError('RATE_LIMITED', `rate limit of ${context.max} requests per minute exceeded`, {
        retryAfter: Math.max(1, Math.ceil(context.ttl / 1000)),
      }),
  });
}

export default fp(rateLimitPlugin, { name: 'sqlgate-rate-limit', dependencies: ['sqlgate-principal'] });
