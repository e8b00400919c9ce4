import type { JsonValue } from './types.js';

/**
 * The shared arithmetic of result limits: every backend counts rows and an estimate of the encoded bytes
 * while it reads, and stops the statement (RESULT_TOO_LARGE) instead of buffering past the limit.
 */

/** A cheap upper-ish estimate of a JSON value's encoded size; exact enough to stop runaway results. */
export function approxJsonSize(v: JsonValue): number {
  if (v === null) return 4;
  switch (typeof v) {
    case 'string':
      return v.length + 3;
    case 'number':
      return 12;
    case 'boolean':
      return 5;
    default:
      return JSON.stringify(v).length;
  }
}

/** The message of RESULT_TOO_LARGE; `what` names the limit, e.g. `maxRows (1000)`. */
export function resultTooLargeMessage(what: string): string {
  return `the result exceeds ${what}; narrow the query or page through it`;
}
