import { SqlgateError } from '../../src/index.js';

/** 2^53 + 1: the first integer a JS number cannot hold. */
export const BIG = 9007199254740993n;

/** Every byte value once. */
export const BYTES = new Uint8Array(Array.from({ length: 256 }, (_, i) => i));

/** Values shared by the type round-trip tests of every dialect. */
export const ROW_TYPES = {
  big: 9223372036854775807n,
  dec: '12345678901234567890.0123456789',
  dbl: 1.5e-300,
  vc: 'héllo ☃ "q" \\',
  txt: 'x'.repeat(5000),
  doc: { a: [1, 'two', null, true], b: { c: 'd' }, n: 1.25 },
  uuid: '123e4567-e89b-12d3-a456-426614174000',
};

/** The SqlgateError behind an ORM's wrapper error (drizzle wraps driver errors in DrizzleQueryError). */
export function causeOf(err: unknown): SqlgateError | undefined {
  let e: unknown = err;
  for (let i = 0; i < 5 && e; i++) {
    if (e instanceof SqlgateError) return e;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}
