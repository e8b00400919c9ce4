import type { FastifyError } from 'fastify';
import { ERROR_CODES, type ErrorCode, isSqlgateError, SqlgateError } from './errors.js';

/*
 * One conversion from anything thrown (a driver error already mapped by its backend, a Fastify validation or
 * body-parser error, a bug) to the coded SqlgateError. It lives beside the registry, not in the error-handler
 * plugin, because the query services (batch, stream) and the protocol routes convert errors too, and those
 * layers must not import a plugin.
 */

/** Fastify's own error codes -> ours. */
const FASTIFY_CODES: Record<string, ErrorCode> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'BAD_REQUEST',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'BAD_REQUEST',
  FST_ERR_CTP_INVALID_JSON_BODY: 'BAD_REQUEST',
};

/**
 * Turns anything thrown into the documented error body. Messages from the JSON parser are replaced:
 * they quote the body, and the body holds params.
 */
export function toSqlgateError(err: unknown): SqlgateError {
  if (isSqlgateError(err)) return err;
  const e = err as FastifyError & { validation?: Array<{ instancePath?: string; message?: string }> };
  if (e?.validation) {
    const first = e.validation
      .slice(0, 5)
      .map((v) => `${v.instancePath || '/'} ${v.message ?? 'is invalid'}`)
      .join('; ');
    return new SqlgateError('BAD_REQUEST', `request ${e.validationContext ?? 'body'} is invalid: ${first}`);
  }
  const mapped = e?.code ? FASTIFY_CODES[e.code] : undefined;
  if (mapped === 'BAD_REQUEST' || (e instanceof SyntaxError && e.statusCode === 400)) {
    return new SqlgateError('BAD_REQUEST', 'the request body is not valid JSON');
  }
  if (mapped) return new SqlgateError(mapped, ERROR_CODES[mapped].description);
  if (e?.statusCode === 429)
    return new SqlgateError('RATE_LIMITED', 'rate limit exceeded', { retryAfter: 1 });
  if (e?.statusCode === 404) return new SqlgateError('NOT_FOUND', 'no such route');
  if (e?.statusCode && e.statusCode >= 400 && e.statusCode < 500) {
    return new SqlgateError('BAD_REQUEST', 'the request is invalid');
  }
  return new SqlgateError('INTERNAL', 'internal error', {}, { cause: err });
}
