import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { isSqlgateError, SqlgateError, toErrorBody } from '../errors.js';
import { errorLine } from '../query/formats/error-line.js';
import { wantsTextErrors } from '../query/formats/send-result.js';
import { toSqlgateError } from '../to-sqlgate-error.js';
import { trackRouteMethods } from './protocol-errors.js';

export function sendError(err: SqlgateError, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const status = err.status;
  if (request.server.hasDecorator('metrics')) request.server.metrics.countError(err.code);
  if (status >= 500 && err.code === 'INTERNAL') {
    request.log.error({ err: err.cause ?? err }, 'internal error');
  } else {
    request.log.info(
      {
        code: err.code,
        dbCode: err.details.dbCode,
        // A database's raw message can quote params or row values (PostgreSQL class 22/23); the mapped
        // message is already redacted by its backend, so only errors from outside the database log the cause.
        ...(err.details.dbCode === undefined
          ? { cause: (err.cause as Error)?.message }
          : { error: err.message }),
      },
      'request failed',
    );
  }
  const retryAfter = err.details.retryAfter ?? (status === 429 || status === 503 ? 1 : undefined);
  if (retryAfter !== undefined && (status === 429 || status === 503))
    reply.header('retry-after', String(retryAfter));
  // A client that asked for CSV or a text table (curl) gets the error as one readable line.
  if (wantsTextErrors(request)) {
    return reply
      .code(status)
      .type('text/plain; charset=utf-8')
      .send(errorLine(err, String(request.id)));
  }
  return reply.code(status).send(toErrorBody(err, String(request.id)));
}

async function errorHandlerPlugin(app: FastifyInstance): Promise<void> {
  const routes = trackRouteMethods(app);
  const notFound = (request: FastifyRequest, reply: FastifyReply) => {
    const path = request.url.split('?')[0] ?? '';
    const allowed = routes.allowed(path);
    if (allowed.length > 0) {
      reply.header('allow', allowed.join(', '));
      return sendError(
        new SqlgateError(
          'METHOD_NOT_ALLOWED',
          `${path} does not take ${request.method}; use ${allowed.join(', ')}`,
        ),
        request,
        reply,
      );
    }
    return sendError(new SqlgateError('NOT_FOUND', `no route ${request.method} ${path}`), request, reply);
  };
  // A framework error on the not-found route (Fastify refuses a body-carrying method such as QUERY
  // without a Content-Type before the handler runs) is still a request for a route or method that does
  // not exist: 404 / 405, not the body's problem. Our own errors there (401 from auth) stay as they are.
  app.setErrorHandler((err, request, reply) =>
    request.is404 && !isSqlgateError(err)
      ? notFound(request, reply)
      : sendError(toSqlgateError(err), request, reply),
  );
  app.setNotFoundHandler(notFound);
}

export default fp(errorHandlerPlugin, { name: 'sqlgate-error-handler' });
