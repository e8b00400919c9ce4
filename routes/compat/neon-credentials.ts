import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';

/**
 * neon() authenticates with the password of its connection string unless it is given an `authToken`.
 * For POST /sql without an Authorization header, this hook hands that password to the ordinary bearer
 * authentication (an API key or a JWT), so a connection string such as
 * `postgresql://app:<api-key>@gateway/main` just works. Registered before the principal plugin; the header
 * itself is redacted in logs (REDACT_PATHS).
 */
async function neonCredentials(app: FastifyInstance): Promise<void> {
  app.addHook('onRequest', (request, _reply, done) => {
    if (request.method === 'POST' && request.routeOptions.url === '/sql' && !request.headers.authorization) {
      const cs = request.headers['neon-connection-string'];
      if (typeof cs === 'string') {
        try {
          const password = decodeURIComponent(new URL(cs).password);
          if (password !== '') request.headers.authorization = `Bearer ${password}`;
        } catch {
          // not a URL: the route answers with a coded error
        }
      }
    }
    done();
  });
}

export default fp(neonCredentials, { name: 'sqlgate-neon-credentials' });
