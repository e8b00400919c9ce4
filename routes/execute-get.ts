import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { FastifyRequest } from 'fastify';
import { authorizeBackend } from '../src/auth/scopes.js';
import { prepareStatement } from '../src/backend/prepare.js';
import type { Config } from '../src/config.js';
import { clientSignal } from '../src/query/client-signal.js';
import { execOptions } from '../src/query/exec-options.js';
import { runExplain } from '../src/query/explain.js';
import { negotiateFormatHook, sendResult } from '../src/query/formats/send-result.js';
import { runAsPrincipal } from '../src/query/read-only.js';
import { errorResponses, FormatQuerySchema, QueryResultSchema, STATEMENT_ERROR_STATUSES } from './schemas.js';

/**
 * GET /v1/execute?sql=...&backend=...&p=...: a read for a URL bar or a shared link.
 *
 * The statement runs exactly as a read-only principal's would (src/query/read-only.ts): on a connection
 * that refuses writes by itself, or inside a READ ONLY transaction the gateway begins; a backend that cannot
 * make that airtight (MySQL without `readOnlyUrl`, PostgreSQL with a superuser login and no `readOnlyUrl`)
 * refuses with FORBIDDEN. So a write sent as a GET is refused by the database and writes nothing, whatever
 * the caller's own rights are. The SQL is in the URL: our request logs show this route's URL as
 * `/v1/execute?[redacted]`; proxies, browsers (history) and other access logs do not know to (docs/api.md).
 */
export const ExecuteQuerySchema = Type.Object(
  {
    sql: Type.String({ minLength: 1, description: 'One read-only SQL statement.' }),
    backend: Type.Optional(
      Type.String({ minLength: 1, description: 'Backend name; the default when omitted.' }),
    ),
    p: Type.Optional(
      Type.Union([Type.String(), Type.Array(Type.String())], {
        description:
          'Positional params in order, one `p` each. A value that parses as JSON is that JSON value ' +
          '(`p=42`, `p=null`, `p="42"` for the string, `p={"$type":"BIGINT","value":"9007199254740993"}`); ' +
          'anything else is a string (`p=ada`).',
      }),
    ),
    explain: Type.Optional(
      Type.Union([Type.Literal('true'), Type.Literal('analyze')], {
        description: 'Return the plan (`true`) or the plan of a real run (`analyze`).',
      }),
    ),
    maxRows: Type.Optional(Type.String({ pattern: '^[1-9][0-9]{0,8}$' })),
    ...FormatQuerySchema.properties,
  },
  { additionalProperties: false },
);

/** One `p` value: JSON when it parses as JSON, else the text itself. */
export function parseGetParam(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** The request as our logs show it: the path only, the query string (SQL and params) redacted. */
function redactedRequest(request: FastifyRequest) {
  const path = request.url.split('?')[0];
  return {
    method: request.method,
    url: request.url.includes('?') ? `${path}?[redacted]` : path,
    host: request.host,
    remoteAddress: request.ip,
  };
}

const getExecuteRoute: FastifyPluginAsyncTypebox<{ config: Config }> = async (app, { config }) => {
  app.get(
    '/v1/execute',
    {
      schema: {
        summary: 'Run one read-only statement (GET form)',
        description:
          'For quick reads from a URL: the statement runs as a read-only principal would, so anything the ' +
          'read-only guard refuses (any write, DDL, ...) fails with READ_ONLY_VIOLATION or FORBIDDEN and ' +
          'changes nothing. Formats as for POST (`Accept`, `?format=csv|text|json`, `?pretty`). The SQL ' +
          'lands in URLs: browser history and proxy logs keep it; sqlgate redacts it from its own logs.',
        tags: ['statements'],
        querystring: ExecuteQuerySchema,
        response: { 200: QueryResultSchema, ...errorResponses(...STATEMENT_ERROR_STATUSES, 406) },
      },
      onRequest: negotiateFormatHook,
      // No automatic HEAD: link previewers and monitors probe URLs with HEAD, and that should not run SQL.
      exposeHeadRoute: false,
      logSerializers: { req: redactedRequest as never },
    },
    async (request, reply) => {
      const q = request.query;
      const raw = q.p === undefined ? undefined : Array.isArray(q.p) ? q.p : [q.p];
      const params = raw?.map(parseGetParam);
      const backend = authorizeBackend(request, app.backends, q.backend);
      const stmt = prepareStatement(backend.dialect, q.sql, params as never);
      const timing = { queueMs: 0 };
      const opts = {
        ...execOptions(
          config.limits,
          q.maxRows === undefined ? undefined : { maxRows: Number(q.maxRows) },
          clientSignal(reply),
          request.principal.limits?.maxRows,
        ),
        timing,
      };
      // Whoever calls, a GET runs with read-only rights.
      const principal = { ...request.principal, readOnly: true };
      if (q.explain !== undefined) {
        const mode = q.explain === 'analyze' ? 'analyze' : true;
        const result = await runExplain(principal, backend, stmt, opts, mode);
        return sendResult(request, reply, result, timing);
      }
      const result = await runAsPrincipal(principal, backend, stmt, opts);
      app.metrics.observeResult(backend.name, result);
      return sendResult(request, reply, result, timing);
    },
  );
};

export default getExecuteRoute;
