import { SqlgateError } from '../errors.js';
import type { Queryable } from '../queryable.js';
import type { Column, QueryResult } from '../result.js';
import { Session } from '../session.js';

/** What the drizzle helpers run statements on: the autocommit client, or a session (a transaction). */
export type Target = Queryable;

/** Turns one decoded value into the form the database's usual Node driver would have handed drizzle. */
export type Shaper = (value: unknown) => unknown;

/** Picks the shaper of a column by its GenericType; undefined leaves the value as the client decoded it. */
export type ShaperFor = (column: Column) => Shaper | undefined;

// Statements that open, end or nest a transaction. On the autocommit client each request may run on a
// different pooled connection, so a BEGIN there would hold nothing and the next INSERT would autocommit.
const TX_CONTROL = /^\s*(begin|start\s+transaction|commit|end|rollback|savepoint|release|set\s+transaction)\b/i;

/**
 * Refuses transaction control on the autocommit client before any request is sent (INVALID_TRANSACTION_STATE);
 * inside a session (withTransaction) it is the session's business and passes through.
 */
export function guard(target: Target, sql: string): void {
  if (target instanceof Session) return;
  const m = TX_CONTROL.exec(sql);
  if (m) {
    throw new SqlgateError(
      'INVALID_TRANSACTION_STATE',
      `"${(m[1] ?? '').toUpperCase()}" on the autocommit client would not hold a transaction (each statement may ` +
        'run on another pooled connection); use withTransaction() from @sqlgate/client/drizzle',
      { class: 'TransactionError' },
    );
  }
}

/** Applies the shapers to rows in place (arrays by index, objects by column name) and returns them. */
export function shapeRows(r: QueryResult<unknown>, shaperFor: ShaperFor, arrays: boolean): unknown[] {
  const todo: Array<[number | string, Shaper]> = [];
  r.columns.forEach((c, i) => {
    const s = shaperFor(c);
    if (s) todo.push([arrays ? i : c.name, s]);
  });
  if (todo.length === 0) return r.rows;
  for (const row of r.rows as Array<Record<string | number, unknown>>) {
    for (const [k, s] of todo) {
      const v = row[k];
      if (v !== null && v !== undefined) row[k] = s(v);
    }
  }
  return r.rows;
}

/** A JSON value as the text a driver returns for a json column; drizzle parses that text itself. */
export const jsonText: Shaper = (v) => JSON.stringify(v);

/** A bigint as a number where that is exact, else kept as the bigint (never rounded). */
export const numberIfSafe: Shaper = (v) =>
  typeof v === 'bigint' && v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
