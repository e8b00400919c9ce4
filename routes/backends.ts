import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { visibleBackends } from '../src/auth/scopes.js';
import { errorResponses, IsolationLevelSchema } from './schemas.js';

const BackendInfoSchema = Type.Object({
  name: Type.String(),
  driver: Type.String(),
  default: Type.Boolean(),
  serverVersion: Type.Union([Type.String(), Type.Null()], {
    description: 'null when the database is unreachable.',
  }),
  placeholderStyle: Type.Union([Type.Literal('dollar'), Type.Literal('question')]),
  placeholderExample: Type.String(),
  capabilities: Type.Object({
    returning: Type.Boolean(),
    savepoints: Type.Boolean(),
    isolationLevels: Type.Array(IsolationLevelSchema),
    readOnlyTransactions: Type.Boolean(),
    deferrable: Type.Boolean(),
    transactionalDdl: Type.Boolean(),
    arrays: Type.Boolean(),
  }),
  pool: Type.Object({
    total: Type.Integer(),
    idle: Type.Integer(),
    inUse: Type.Integer(),
    waiting: Type.Integer(),
    max: Type.Integer(),
  }),
});

/** GET /v1/backends: what each configured backend is and can do. */
const backendsRoute: FastifyPluginAsyncTypebox = async (app) => {
  const versions = new Map<string, string>();
  app.get(
    '/v1/backends',
    {
      schema: {
        summary: 'List backends',
        description: 'Name, driver, server version, capabilities and placeholder style of each backend.',
        tags: ['backends'],
        response: {
          200: Type.Object({ backends: Type.Array(BackendInfoSchema) }),
          ...errorResponses(401, 403, 500),
        },
      },
    },
    async (request) => {
      const backends = await Promise.all(
        visibleBackends(request.principal, app.backends.all()).map(async (b) => {
          let serverVersion = versions.get(b.name) ?? null;
          if (serverVersion === null) {
            try {
              serverVersion = (await b.serverInfo()).version;
              versions.set(b.name, serverVersion);
            } catch {
              serverVersion = null;
            }
          }
          const { placeholderStyle, ...capabilities } = b.dialect.capabilities;
          return {
            name: b.name,
            driver: b.driver,
            default: b.name === app.backends.defaultName,
            serverVersion,
            placeholderStyle,
            placeholderExample: b.dialect.placeholder(0),
            capabilities: { ...capabilities, isolationLevels: [...capabilities.isolationLevels] },
            pool: b.poolStats(),
          };
        }),
      );
      return { backends };
    },
  );
};

export default backendsRoute;
