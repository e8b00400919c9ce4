import { expect } from 'vitest';
import { ERROR_CODES, type ErrorCode } from '../../src/errors.js';

/**
 * Client-side bounds and checks for the fault suite (test/fault): a request that does not answer within
 * the client timeout fails the test as "hung" instead of waiting for vitest's own timeout, and every
 * failure must be a coded error whose `retryable` is the registry's.
 */

/** Rejects with a "hung" error when `p` has not settled within `ms`. */
export async function within<T>(ms: number, what: string, p: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const hung = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`${what}: no response within the client timeout (${ms} ms)`)),
      ms,
    );
  });
  try {
    return await Promise.race([p, hung]);
  } finally {
    clearTimeout(timer);
  }
}

/** An HTTP reply from the gateway (app.inject or a socket), as the tests see it. */
export interface Reply {
  status: number;
  body: any;
}

/**
 * The reply is the coded error body of one of `codes`, with the registry's status, class and retryable.
 * Returns the code.
 */
export function expectCodedFailure(res: Reply, codes: ErrorCode[]): ErrorCode {
  const code = res.body?.error?.code as ErrorCode;
  expect(codes, `unexpected reply ${res.status} ${JSON.stringify(res.body)}`).toContain(code);
  const spec = ERROR_CODES[code];
  expect(res.status).toBe(spec.status);
  expect(res.body.error.retryable).toBe(spec.retryable);
  expect(res.body.error.class).toBe(spec.class);
  return code;
}

/** Polls `check` until it returns true (or throws after `ms`); for waiting on a server to come back. */
export async function eventually(ms: number, what: string, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await check().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`${what} did not happen within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
