import { describe, expect, it } from 'vitest';
import { isFatalMysqlError, mapMysqlError } from '../../src/backend/mysql/mysql-errors.js';
import { ERROR_CODES } from '../../src/errors.js';

/**
 * Issue #15 defect 8: a MariaDB connection reset mid-statement reached the client as 400 QUERY_FAILED
 * "read ECONNRESET". mysql2 hands over Node's own socket error there: `code` names the failure and `errno`
 * is the negative OS number, which was looked up as if it were a server errno. The real reset (a proxy
 * that cuts the connection mid-result) is in test/fault/mysql-faults.test.ts.
 */

/** What mysql2 rejects a query with when the socket dies under it: Node's system error, marked fatal. */
function socketError(code: string, errno: number, syscall: string): Error {
  return Object.assign(new Error(`${syscall} ${code}`), { code, errno, syscall, fatal: true });
}

describe('MySQL socket failures', () => {
  for (const [code, errno, syscall] of [
    ['ECONNRESET', -104, 'read'],
    ['EPIPE', -32, 'write'],
    ['ETIMEDOUT', -110, 'read'],
    ['ECONNREFUSED', -111, 'connect'],
  ] as const) {
    it(`${syscall} ${code} (errno ${errno}) is BACKEND_UNAVAILABLE, retryable, and fatal`, () => {
      const mapped = mapMysqlError(socketError(code, errno, syscall), 'shop');
      expect(mapped.code).toBe('BACKEND_UNAVAILABLE');
      expect(mapped.status).toBe(503);
      expect(ERROR_CODES[mapped.code].retryable).toBe(true);
      expect(mapped.details.dbCode).toBe(code);
      expect(mapped.details.backend).toBe('shop');
      expect(isFatalMysqlError(socketError(code, errno, syscall))).toBe(true);
    });
  }

  it('an unknown fatal client error with a negative errno is still BACKEND_UNAVAILABLE', () => {
    const mapped = mapMysqlError(socketError('ESOMETHING', -999, 'read'), 'shop');
    expect(mapped.code).toBe('BACKEND_UNAVAILABLE');
  });

  it('server errnos still map as before', () => {
    const err = Object.assign(new Error('x'), {
      errno: 1062,
      sqlState: '23000',
      sqlMessage: "Duplicate entry 'v' for key 'k'",
    });
    expect(mapMysqlError(err, 'shop').code).toBe('UNIQUE_VIOLATION');
  });
});
