import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { ErrorBodySchema } from './schemas.js';

const EXAMPLE = `# HELP sqlgate_http_requests_total HTTP requests answered, by route pattern, method and status.
# TYPE sqlgate_http_requests_total counter
sqlgate_http_requests_total{route="/v1/execute",method="POST",status="200"} 42
# HELP sqlgate_query_duration_seconds Statement latency as measured around the driver call, by backend and command.
# TYPE sqlgate_query_duration_seconds histogram
sqlgate_query_duration_seconds_bucket{le="0.001",backend="main",command="SELECT"} 40
sqlgate_query_duration_seconds_count{backend="main",command="SELECT"} 42
# HELP sqlgate_pool_connections Connections open (idle + in use), by backend.
# TYPE sqlgate_pool_connections gauge
sqlgate_pool_connections{backend="main"} 4
`;

/** GET /metrics: Prometheus text exposition of this instance's registry (see src/plugins/metrics.ts). */
const metricsRoute: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '/metrics',
    {
      logLevel: 'warn',
      schema: {
        summary: 'Prometheus metrics',
        description:
          'Requests, latency, queries, errors by code, pool and session gauges, and Node.js process metrics ' +
          'in the Prometheus text format (see docs/api.md for the list). Needs credentials when auth is ' +
          'configured, unless `/metrics` is listed in `auth.publicPaths`.',
        tags: ['meta'],
        // Media types per status: the metrics are text, a refusal is the JSON error body like everywhere else.
        response: {
          200: {
            description: 'Prometheus text exposition format 0.0.4.',
            content: {
              'text/plain': {
                schema: Type.String({ description: 'Prometheus text exposition format 0.0.4.' }),
                example: EXAMPLE,
              },
            },
          },
          // Without credentials (when auth is configured and /metrics is not public), or a bad token.
          401: {
            description: 'Unauthorized: UNAUTHORIZED',
            content: { 'application/json': { schema: ErrorBodySchema } },
          },
        },
      },
    },
    async (_request, reply) => {
      const text = await app.metrics.registry.metrics();
      return reply.type(app.metrics.registry.contentType).send(text);
    },
  );
};

export default metricsRoute;
