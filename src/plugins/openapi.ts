import swagger from '@fastify/swagger';
import { Type } from '@sinclair/typebox';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import pkg from '../../package.json' with { type: 'json' };
import { finishDocument, hoistSharedSchemas } from './openapi-document.js';
import { addStreamMedia } from './openapi-stream.js';

const DESCRIPTION = `HTTP/JSON gateway for PostgreSQL, MySQL/MariaDB and SQLite: send SQL and parameters, get typed
results back as JSON.

- Every request body is JSON; \`backend\` picks a configured backend (the default when omitted).
- Every error has the body \`ErrorBody\` with a stable \`code\` (see the table on \`ErrorBody.error.code\`
  and docs/errors.md), the client exception \`class\` and whether a retry may succeed.
- Authentication: \`Authorization: Bearer <api key or JWT>\` when the server has \`auth\` configured;
  without it the server only listens on loopback and needs no credentials.

This document is generated from the route schemas (\`npm run openapi\` writes openapi/openapi.json).`;

const TAGS = [
  { name: 'statements', description: 'Run SQL in autocommit, in a batch, or inside a session.' },
  { name: 'sessions', description: 'Pinned connections with transactions, savepoints and timeouts.' },
  { name: 'backends', description: 'The configured databases and what each can do.' },
  { name: 'health', description: 'Liveness and readiness probes.' },
  { name: 'meta', description: 'Metrics and this document.' },
];

/** Headers of the Swagger UI app's responses that belong to its own connection, not to the client's. */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'content-length', 'date']);

/** The Swagger UI app: @fastify/swagger-ui in a Fastify instance of its own, reading `app`'s document. */
async function buildSwaggerUi(app: FastifyInstance): Promise<FastifyInstance> {
  const { default: swaggerUi } = await import('@fastify/swagger-ui');
  const ui = Fastify({ logger: false });
  // swagger-ui needs `swagger()` from a plugin named @fastify/swagger: the outer app's document.
  await ui.register(
    fp(
      async (instance: FastifyInstance) => {
        instance.decorate('swagger', ((opts?: { yaml?: boolean }) => app.swagger(opts as never)) as never);
      },
      { name: '@fastify/swagger' },
    ),
  );
  await ui.register(swaggerUi, {
    routePrefix: '/docs',
    staticCSP: true,
    uiConfig: {
      docExpansion: 'list',
      deepLinking: true,
      displayRequestDuration: true,
      tryItOutEnabled: true,
    },
  });
  await ui.ready();
  return ui;
}

/**
 * Swagger UI at /docs, set up by the first request for it. @fastify/swagger-ui with @fastify/static, glob,
 * send and mime is ~300 KiB of code and ~25 ms of every start; most servers never show the page. Its
 * routes live in a Fastify instance of their own, reached through inject(), so the request still passes
 * through this app's hooks (auth, security headers, request id, metrics) like any other route, and its
 * 404s get this app's not-found answer.
 */
function serveSwaggerUi(app: FastifyInstance): void {
  let ui: Promise<FastifyInstance> | undefined;
  const handler = async (request: FastifyRequest, reply: FastifyReply) => {
    ui ??= buildSwaggerUi(app).catch((err) => {
      ui = undefined; // a failed set-up is tried again by the next request
      throw err;
    });
    const res = await (await ui).inject({
      method: request.method as 'GET' | 'HEAD',
      url: request.url,
      headers: request.headers,
    });
    if (res.statusCode === 404) return reply.callNotFound();
    for (const [name, value] of Object.entries(res.headers)) {
      if (value !== undefined && !HOP_BY_HOP.has(name)) reply.header(name, value);
    }
    return reply.code(res.statusCode).send(res.rawPayload);
  };
  const options = { logLevel: 'warn', schema: { hide: true } } as const;
  app.get('/docs', options, handler);
  app.get('/docs/*', options, handler);
}

/**
 * The OpenAPI 3.1 document (built by @fastify/swagger from every route registered after this plugin),
 * served at /openapi.json, and Swagger UI at /docs. Register it before the routes.
 */
async function openapiPlugin(app: FastifyInstance): Promise<void> {
  // Components found while the routes are converted; filled anew each time the document is built.
  const shared = new Map<string, Record<string, unknown>>();
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'sqlgate',
        version: pkg.version,
        description: DESCRIPTION,
        license: { name: 'MIT', identifier: 'MIT' },
      },
      tags: TAGS,
      components: {
        securitySchemes: {
          bearer: {
            type: 'http',
            scheme: 'bearer',
            description:
              'An API key (auth.apiKeys) or a JWT, as `Authorization: Bearer <token>`. Not needed when the ' +
              'server runs without auth (loopback only).',
          },
        },
      },
      security: [{ bearer: [] }],
    },
    refResolver: {
      buildLocalReference: (json, _baseUri, _fragment, i) =>
        typeof json.$id === 'string' ? json.$id : `def-${i}`,
    },
    transform: ({ schema, url }) => ({ schema: hoistSharedSchemas(schema, shared) as typeof schema, url }),
    transformObject: (documentObject) => {
      const doc =
        'openapiObject' in documentObject ? documentObject.openapiObject : documentObject.swaggerObject;
      return addStreamMedia(finishDocument(doc as Record<string, unknown>, shared)) as typeof doc;
    },
  });

  serveSwaggerUi(app);

  app.get(
    '/openapi.json',
    {
      logLevel: 'warn',
      schema: {
        summary: 'This OpenAPI document',
        description: 'The OpenAPI 3.1 description of the API, as openapi/openapi.json in the repository.',
        tags: ['meta'],
        security: [],
        response: {
          200: Type.Object(
            { openapi: Type.String(), info: Type.Object({}, { additionalProperties: true }) },
            {
              additionalProperties: true,
              examples: [{ openapi: '3.1.0', info: { title: 'sqlgate', version: pkg.version }, paths: {} }],
            },
          ),
        },
      },
    },
    async () => app.swagger() as unknown as { openapi: string; info: Record<string, unknown> },
  );
}

export default fp(openapiPlugin, { name: 'sqlgate-openapi' });
