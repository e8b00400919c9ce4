import { randomUUID } from 'node:crypto';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import backendsRoute from '../routes/backends.js';
import batchRoute from '../routes/batch.js';
import compatRoutes from '../routes/compat/index.js';
import neonCredentials from '../routes/compat/neon-credentials.js';
import consoleRoute from '../routes/console.js';
import executeRoute from '../routes/execute.js';
import executeGetRoute from '../routes/execute-get.js';
import healthRoute from '../routes/health.js';
import metricsRoute from '../routes/metrics.js';
import sessionsRoute from '../routes/sessions.js';
import { LOG_SANITIZERS } from './auth/redact.js';
import type { Config } from './config.js';
import backendsPlugin from './plugins/backends.js';
import drainPlugin from './plugins/drain.js';
import errorHandlerPlugin from './plugins/error-handler.js';
import jsonBodyPlugin from './plugins/json-body.js';
import { lazyChildLoggerFactory } from './plugins/lazy-child-logger.js';
import { lazyValidatorFactory } from './plugins/lazy-validator.js';
import metricsPlugin from './plugins/metrics.js';
import openapiPlugin from './plugins/openapi.js';
import principalPlugin from './plugins/principal.js';
import { clientErrorHandler, frameworkErrors, MAX_PARAM_LENGTH } from './plugins/protocol-errors.js';
import rateLimitPlugin from './plugins/rate-limit.js';
import securityHeadersPlugin from './plugins/security-headers.js';
import { createSerializerCompiler } from './plugins/serializer-compiler.js';
import sessionsPlugin from './sessions/plugin.js';

export interface BuildOptions {
  /** A pino logger config or instance; defaults to the configured level. Tests pass a capturing stream. */
  logger?: FastifyServerOptions['logger'];
  loggerInstance?: FastifyServerOptions['loggerInstance'];
}

/** Log paths that may hold secrets or params; pino replaces them with "[redacted]". */
export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-api-key"]',
  'req.headers["proxy-authorization"]',
  'req.headers["neon-connection-string"]',
  'res.headers["set-cookie"]',
  'headers.authorization',
  'params',
  'body.params',
  'url',
  'password',
  '*.password',
  'connectionString',
  '*.connectionString',
  'readOnlyUrl',
  '*.readOnlyUrl',
  'secret',
  '*.secret',
];

/** Builds the Fastify app with every plugin and route registered. Never listens. */
export async function buildApp(config: Config, opts: BuildOptions = {}): Promise<FastifyInstance> {
  const logger =
    opts.loggerInstance === undefined
      ? (opts.logger ?? {
          level: config.logging.level,
          redact: { paths: REDACT_PATHS, censor: '[redacted]' },
          // Also strip user:password@ from any message or field (driver errors that quote a DSN).
          ...LOG_SANITIZERS,
        })
      : undefined;
  const app = Fastify({
    ...(logger !== undefined ? { logger } : {}),
    ...(opts.loggerInstance ? { loggerInstance: opts.loggerInstance } : {}),
    bodyLimit: config.server.bodyLimit,
    trustProxy: config.server.trustProxy,
    requestTimeout: config.server.requestTimeoutMs,
    // Slow clients: all headers within headersTimeoutMs, idle keep-alive sockets closed after keepAliveTimeoutMs.
    keepAliveTimeout: config.server.keepAliveTimeoutMs,
    // Router and parser failures answer with the coded error body too (src/plugins/protocol-errors.ts).
    clientErrorHandler,
    frameworkErrors,
    routerOptions: { maxParamLength: MAX_PARAM_LENGTH },
    http: {
      maxHeaderSize: config.server.maxHeaderBytes,
      headersTimeout: config.server.headersTimeoutMs,
      requestTimeout: config.server.requestTimeoutMs,
      connectionsCheckingInterval: Math.min(30_000, Math.max(250, config.server.headersTimeoutMs / 4)),
    },
    // Per-request child loggers made on first use (see lazy-child-logger.ts).
    childLoggerFactory: lazyChildLoggerFactory,
    // While shutting down, src/plugins/drain.ts answers with the coded 503 (and Connection: close) instead.
    return503OnClosing: false,
    requestIdHeader: 'x-request-id',
    genReqId: () => randomUUID(),
    // Keep the raw JSON parser strict: no __proto__ / constructor.prototype pollution.
    onProtoPoisoning: 'error',
    onConstructorPoisoning: 'error',
    // validateSchema: false: our schemas are fixed TypeBox output, valid by construction and checked by
    // test/http/openapi.test.ts (it validates the OpenAPI document that holds them all); checking each
    // against the JSON Schema meta-schema first compiled that meta-schema, ~30 ms of the first request.
    ajv: {
      customOptions: {
        removeAdditional: false,
        coerceTypes: false,
        useDefaults: true,
        validateSchema: false,
      },
    },
    // Request validators compiled on each route's first request, not all at start-up (cold start).
    schemaController: { compilersFactory: { buildValidator: lazyValidatorFactory() } },
  }).withTypeProvider<TypeBoxTypeProvider>();

  // The API speaks JSON only; a text/plain body would otherwise reach the schema as a string.
  app.removeContentTypeParser('text/plain');
  // Each response schema compiled once however many routes share it; QueryResult via native JSON.stringify.
  app.setSerializerCompiler(createSerializerCompiler());

  // On the root instance, so /readyz (in a child context) sees what the CLI sets on SIGTERM.
  app.decorate('draining', false);
  // First: connecting starts when the backends are created (a SQLite worker boots, a server handshakes),
  // so it overlaps the registration of everything below (cold start).
  await app.register(backendsPlugin, { config });
  await app.register(errorHandlerPlugin);
  // Before every route: swagger collects routes as they are added, metrics hooks see every request.
  await app.register(drainPlugin);
  await app.register(openapiPlugin);
  await app.register(metricsPlugin);
  await app.register(jsonBodyPlugin, { maxDepth: config.limits.maxJsonDepth });
  await app.register(securityHeadersPlugin, { config });
  // Before the principal: neon() may carry its API key as the connection string's password.
  if (config.compat.neon.enabled) await app.register(neonCredentials);
  await app.register(principalPlugin, { config });
  await app.register(rateLimitPlugin, { config });
  // After backends: onClose runs in reverse order, so sessions roll back before the pools close.
  await app.register(sessionsPlugin, { config });
  await app.register(healthRoute);
  await app.register(metricsRoute);
  await app.register(executeRoute, { config });
  await app.register(executeGetRoute, { config });
  if (config.console.enabled) await app.register(consoleRoute);
  await app.register(batchRoute, { config });
  await app.register(sessionsRoute, { config });
  await app.register(backendsRoute);
  await app.register(compatRoutes, { config });
  return app;
}
