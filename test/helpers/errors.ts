import { expect } from 'vitest';
import { ERROR_CODES, type ErrorCode, SqlgateError, toErrorBody } from '../../src/errors.js';

/** An HTTP error body matches the registry for its code (status, class, retryable), with no stack trace. */
export function expectErrorBody(
  res: { status: number; body: { error: Record<string, unknown> } },
  code: ErrorCode,
  db: { sqlState?: string; dbCode?: string | number } = {},
): void {
  const spec = ERROR_CODES[code];
  expect(res.status, JSON.stringify(res.body)).toBe(spec.status);
  expect(res.body.error).toMatchObject({ code, class: spec.class, retryable: spec.retryable });
  if (db.sqlState) expect(res.body.error.sqlState).toBe(db.sqlState);
  if (db.dbCode) expect(res.body.error.dbCode).toBe(db.dbCode);
  expect(JSON.stringify(res.body)).not.toMatch(/\bat .+\.(ts|js):\d+/);
}

/** The promise rejects with the SqlgateError the HTTP layer would answer `code` with; returns it. */
export async function expectRejection(p: Promise<unknown>, code: ErrorCode): Promise<SqlgateError> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(SqlgateError);
  const e = err as SqlgateError;
  expect(e.code, e.message).toBe(code);
  expect(e.status).toBe(ERROR_CODES[code].status);
  expect(toErrorBody(e, 'r').error).toMatchObject({
    class: ERROR_CODES[code].class,
    retryable: ERROR_CODES[code].retryable,
  });
  return e;
}
