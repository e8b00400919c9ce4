import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';

const ReadySchema = Type.Object({
  status: Type.Union([Type.Literal('ready'), Type.Literal('unavailable'), Type.Literal('draining')], {
    description: '`ready` when every backend answered its ping; `draining` once shutdown has begun.',
  }),
  backends: Type.Record(
    Type.String(),
    Type.Object({
      ok: Type.Boolean(),
      error: Type.Optional(Type.String({ description: 'The error code of a failed ping.' })),
    }),
    { description: 'Each configured backend by name.' },
  ),
});

const ReadyOkSchema = Type.Object(ReadySchema.properties, {
  description: 'Every backend answered a ping in time.',
  examples: [{ status: 'ready', backends: { main: { ok: true }, local: { ok: true } } }],
});

const NotReadySchema = Type.Object(ReadySchema.properties, {
  description: 'A backend failed its ping (named with its error code), or the server is shutting down.',
  examples: [
    {
      status: 'unavailable',
      backends: { main: { ok: false, error: 'BACKEND_UNAVAILABLE' }, local: { ok: true } },
    },
    { status: 'draining', backends: { main: { ok: true }, local: { ok: true } } },
  ],
});

declare module 'fastify' {
  interface FastifyInstance {
    /** Set when shutdown starts: /readyz turns 503 so load balancers stop sending traffic. */
    draining: boolean;
  }
}

/** GET /healthz (the process answers) and GET /readyz (every backend pings within a timeout). */
const healthRoute: FastifyPluginAsyncTypebox<{ pingTimeoutMs?: number }> = async (app, opts) => {
  const pingTimeoutMs = opts.pingTimeoutMs ?? 1500;
  if (!app.hasDecorator('draining')) app.decorate('draining', false);

  app.get(
    '/healthz',
    {
      schema: {
        summary: 'Liveness',
        description: 'Answers while the process runs; it never touches a database.',
        tags: ['health'],
        security: [],
        response: {
          200: Type.Object(
            { status: Type.Literal('ok') },
            { description: 'The process is alive.', examples: [{ status: 'ok' }] },
          ),
        },
      },
      logLevel: 'warn',
    },
    async () => ({ status: 'ok' as const }),
  );

  app.get(
    '/readyz',
    {
      schema: {
        summary: 'Readiness',
        description:
          'Pings every backend; 503 names the ones that failed, and while the server drains. Public by ' +
          'default when auth is configured (`auth.publicPaths`).',
        tags: ['health'],
        security: [],
        response: { 200: ReadyOkSchema, 503: NotReadySchema },
      },
      logLevel: 'warn',
    },
    async (_request, reply) => {
      const entries = await Promise.all(
        app.backends.all().map(async (b) => {
          try {
            await withTimeout(b.ping(pingTimeoutMs), pingTimeoutMs);
            return [b.name, { ok: true }] as const;
          } catch (err) {
            return [
              b.name,
              { ok: false, error: (err as { code?: string }).code ?? 'BACKEND_UNAVAILABLE' },
            ] as const;
          }
        }),
      );
      const backends = Object.fromEntries(entries);
      const allOk = entries.every(([, v]) => v.ok);
      const status = app.draining ? 'draining' : allOk ? 'ready' : 'unavailable';
      return reply.code(status === 'ready' ? 200 : 503).send({ status, backends });
    },
  );
};

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const t = setTimeout(
      () => reject(Object.assign(new Error('ping timed out'), { code: 'BACKEND_UNAVAILABLE' })),
      ms,
    );
    p.then(
      (v) => {
        clearTimeout(t);
        resolve(v);
      },
      (e) => {
        clearTimeout(t);
        reject(e);
      },
    );
  });
}

export default healthRoute;
