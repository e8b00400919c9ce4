import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';

/**
 * Who is calling. Every request has one: with no auth configured it is the anonymous local principal
 * (the server then listens on loopback only). Sessions are bound to `id`.
 */
export interface Principal {
  /** Stable identity: `key:<name>`, `jwt:<sub>`, or `anonymous`. */
  id: string;
  /** Backends this principal may use; `['*']` for all. */
  backends: readonly string[];
  /** Writes are refused (by the database: read-only transactions / connections). */
  readOnly: boolean;
  /** Optional per-principal limits that tighten the global ones. */
  limits?: { maxRows?: number; maxSessions?: number; ratePerMinute?: number };
}

export const ANONYMOUS: Principal = Object.freeze({
  id: 'anonymous',
  backends: Object.freeze(['*']),
  readOnly: false,
});

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal;
  }
}

/** Until an auth plugin replaces it, every request is the anonymous principal. */
async function principalPlugin(app: FastifyInstance): Promise<void> {
  app.decorateRequest('principal', null as unknown as Principal);
  app.addHook('onRequest', async (request) => {
    request.principal ??= ANONYMOUS;
  });
}

export default fp(principalPlugin, { name: 'sqlgate-principal' });
