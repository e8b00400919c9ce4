import cors from '@fastify/cors';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { stripCredentials } from '../auth/redact.js';
import type { Config } from '../config.js';

/**
 * Response headers for an API that browsers may reach: no MIME sniffing, nothing cached (results and errors
 * are per-principal data), no framing, no referrer, and a CSP that lets a JSON response do nothing if it is
 * ever rendered. The Swagger UI page (HTML) keeps its own CSP. CORS is off (no Access-Control headers at
 * all) unless `server.cors.origins` lists the exact origins allowed; credentials (cookies) are never allowed
 * because the API authenticates with bearer tokens only.
 */
async function securityHeadersPlugin(app: FastifyInstance, opts: { config: Config }): Promise<void> {
  const corsConfig = opts.config.server.cors;
  if (corsConfig) {
    await app.register(cors, {
      origin: [...corsConfig.origins],
      methods: ['GET', 'POST', 'DELETE'],
      // neon-*: what @neondatabase/serverless sends from a browser (POST /sql, docs/compat.md).
      allowedHeaders: [
        'authorization',
        'content-type',
        'x-request-id',
        'neon-connection-string',
        'neon-raw-text-output',
        'neon-array-mode',
        'neon-batch-isolation-level',
        'neon-batch-read-only',
        'neon-batch-deferrable',
      ],
      exposedHeaders: [
        'x-request-id',
        'retry-after',
        'x-ratelimit-limit',
        'x-ratelimit-remaining',
        'x-ratelimit-reset',
      ],
      credentials: false,
      maxAge: corsConfig.maxAgeSec,
      strictPreflight: true,
    });
  }

  const resourcePolicy = corsConfig ? 'cross-origin' : 'same-origin';
  // Callback style: one hook call per response without a promise. Also echoes the request id, so every
  // response (errors included) carries it.
  app.addHook('onSend', (request, reply, payload, done) => {
    // Error bodies carry database messages; a driver that quotes its DSN must not hand out the password.
    const body = reply.statusCode >= 400 && typeof payload === 'string' ? stripCredentials(payload) : payload;
    reply.header('x-request-id', request.id);
    reply.header('x-content-type-options', 'nosniff');
    reply.header('referrer-policy', 'no-referrer');
    reply.header('x-frame-options', 'DENY');
    if (!reply.hasHeader('cache-control')) reply.header('cache-control', 'no-store');
    const type = reply.getHeader('content-type');
    if (typeof type === 'string' && (type.startsWith('application/json') || type.startsWith('text/plain'))) {
      reply.header('content-security-policy', "default-src 'none'; frame-ancestors 'none'");
      reply.header('cross-origin-resource-policy', resourcePolicy);
    }
    done(null, body);
  });
}

export default fp(securityHeadersPlugin, { name: 'sqlgate-security-headers' });
