import { randomUUID } from 'node:crypto';
import type { Socket } from 'node:net';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ERROR_CODES, type ErrorCode, SqlgateError, toErrorBody } from '../errors.js';

/**
 * Coded answers for what fails before a route runs (issue #15, protocol edges), so that every response
 * is the documented error body instead of Fastify's or Node's own text:
 * - a header block over `server.maxHeaderBytes` (Node's 431) -> 431 HEADERS_TOO_LARGE;
 * - malformed HTTP (Node's 400) -> 400 BAD_REQUEST;
 * - a path parameter over MAX_PARAM_LENGTH (Fastify's raw 414) or a malformed URL -> 400 BAD_REQUEST;
 * - a known path with a method it does not have -> 405 METHOD_NOT_ALLOWED with `Allow`.
 */

/** Longest path parameter the router accepts; longer ones get the coded 400 (ids are at most 64). */
export const MAX_PARAM_LENGTH = 1024;

/** The raw answer on a socket whose request never became a Fastify request. */
function writeRaw(socket: Socket, code: ErrorCode, message: string): void {
  const body = JSON.stringify(toErrorBody(new SqlgateError(code, message), randomUUID()));
  const status = ERROR_CODES[code].status;
  socket.write(
    `HTTP/1.1 ${status} ${code}\r\nContent-Type: application/json; charset=utf-8\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}

/** Fastify's `clientErrorHandler`: Node could not parse the request (headers too large, bad syntax). */
export function clientErrorHandler(
  this: FastifyInstance,
  err: Error & { code?: string },
  socket: Socket,
): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  this.log.debug({ code: err.code }, 'client error');
  if (socket.writable) {
    if (err.code === 'HPE_HEADER_OVERFLOW') {
      writeRaw(socket, 'HEADERS_TOO_LARGE', 'the request headers exceed server.maxHeaderBytes');
    } else if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
      // Node's own 408 timing: no coded equivalent is promised for a client that sent nothing usable.
      socket.write('HTTP/1.1 408 Request Timeout\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
    } else {
      writeRaw(socket, 'BAD_REQUEST', 'the request is not valid HTTP');
    }
  }
  socket.destroy(err);
}

/** Fastify's `frameworkErrors`: errors of the router, before any hook (so before auth). */
export function frameworkErrors(err: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  const message =
    err.code === 'FST_ERR_MAX_PARAM_LENGTH'
      ? `a path parameter is longer than ${MAX_PARAM_LENGTH} characters`
      : 'the URL is malformed';
  const body = toErrorBody(new SqlgateError('BAD_REQUEST', message), String(request.id));
  void reply.code(400).type('application/json; charset=utf-8').send(body);
}

/** Route patterns -> methods, collected as routes are added, for the 405 answer. */
export class RouteMethods {
  private readonly routes: Array<{ pattern: RegExp; methods: Set<string> }> = [];

  add(url: string, methods: string[]): void {
    const source = url
      .split('/')
      .map((seg) => (seg.startsWith(':') ? '[^/]+' : seg.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
      .join('/');
    const pattern = new RegExp(`^${source}/?$`);
    const existing = this.routes.find((r) => r.pattern.source === pattern.source);
    if (existing) for (const m of methods) existing.methods.add(m);
    else this.routes.push({ pattern, methods: new Set(methods) });
  }

  /** The methods the path has, or an empty list when the path is unknown. */
  allowed(path: string): string[] {
    const out = new Set<string>();
    for (const r of this.routes) if (r.pattern.test(path)) for (const m of r.methods) out.add(m);
    return [...out].sort();
  }
}

/** Collects every route's methods (register before the routes). */
export function trackRouteMethods(app: FastifyInstance): RouteMethods {
  const table = new RouteMethods();
  app.addHook('onRoute', (route) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    table.add(
      route.url,
      methods.map((m) => m.toUpperCase()),
    );
  });
  return table;
}
