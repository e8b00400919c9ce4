import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { SqlgateError } from '../errors.js';

/** Routes that still answer while draining, so a load balancer sees `draining` instead of a refusal. */
const PROBES = new Set(['/healthz', '/readyz']);

/**
 * The HTTP side of a graceful shutdown (SIGTERM -> `app.close()`), in the order a client sees it:
 *
 * 1. `preClose`: `app.draining` is set and every idle keep-alive socket is closed at once, so no new request
 *    can arrive on it (Node's `server.close()` also stops accepting new connections right after).
 * 2. A request already running finishes normally, and its reply says `Connection: close`, so the client
 *    does not send the next request on a socket that is about to go away.
 * 3. A request that arrives during the drain on a socket that was busy (pipelined, or raced the close) gets
 *    the coded 503 `BACKEND_UNAVAILABLE` (retryable, `Retry-After: 1`, `Connection: close`) instead of
 *    Fastify's uncoded 503 body; `/healthz` and `/readyz` still answer (`readyz` says `draining`).
 *
 * Open sessions are rolled back at the same time by the sessions plugin's own `preClose` hook.
 * Register before the routes.
 */
async function drainPlugin(app: FastifyInstance): Promise<void> {
  app.addHook('onRequest', async (request, reply) => {
    if (!app.draining) return;
    reply.header('connection', 'close');
    if (PROBES.has(request.url.split('?')[0] ?? '')) return;
    throw new SqlgateError(
      'BACKEND_UNAVAILABLE',
      'the gateway is shutting down; retry the request (on another instance)',
      { retryAfter: 1 },
    );
  });
  app.addHook('onSend', async (_request, reply, payload) => {
    if (app.draining) reply.header('connection', 'close');
    return payload;
  });
  app.addHook('preClose', async () => {
    app.draining = true;
    // Only when listening: app.inject-only apps have no sockets. Sockets with a request in flight stay.
    if (app.server.listening) app.server.closeIdleConnections();
  });
}

export default fp(drainPlugin, { name: 'sqlgate-drain' });
