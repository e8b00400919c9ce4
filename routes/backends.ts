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
          200: Type.Object(
            { backends: Type.Array(BackendInfoSchema) },
            {
              description: 'Every configured backend the caller may use.',
              examples: [
                {
                  backends: [
                    {
                      name: 'main',
                      driver: 'postgres',
                      default: true,
                      serverVersion: 'PostgreSQL 15.18',
                      placeholderStyle: 'dollar',
                      placeholderExample: '$1',
                      capabilities: {
                        returning: true,
                        savepoints: true,
                        isolationLevels: [
                          'READ UNCOMMITTED',
                          'READ COMMITTED',
                          'REPEATABLE READ',
                          'SERIALIZABLE',
                        ],
                        readOnlyTransactions: true,
                        deferrable: true,
                        transactionalDdl: true,
                        arrays: true,
                      },
                      pool: { total: 4, idle: 3, inUse: 1, waiting: 0, max: 20 },
                    },
                    {
                      name: 'local',
                      driver: 'sqlite',
                      default: false,
                      serverVersion: 'SQLite 3.53.2',
                      placeholderStyle: 'question',
                      placeholderExample: '?',
                      capabilities: {
                        returning: true,
                        savepoints: true,
                        isolationLevels: ['SERIALIZABLE'],
                        readOnlyTransactions: true,
                        deferrable: false,
                        transactionalDdl: true,
                        arrays: false,
                      },
                      pool: { total: 1, idle: 1, inUse: 0, waiting: 0, max: 10 },
                    },
                  ],
                },
              ],
            },
          ),
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
