import { ERROR_CODES, type SqlgateError } from '../../errors.js';

/**
 * An error as one line of text, for clients that asked for CSV or a text table (curl users):
 *
 *     ERROR UNIQUE_VIOLATION (409 IntegrityError): duplicate key value ... [sqlState 23505, requestId r-1]
 *
 * Same fields as the JSON body (nothing more: no params, no stack), newlines folded into spaces.
 */
export function errorLine(err: SqlgateError, requestId: string): string {
  const spec = ERROR_CODES[err.code];
  const d = err.details;
  const extra: string[] = [];
  if (d.sqlState !== undefined) extra.push(`sqlState ${d.sqlState}`);
  if (d.dbCode !== undefined && d.dbCode !== d.sqlState) extra.push(`dbCode ${d.dbCode}`);
  if (d.position !== undefined) extra.push(`position ${d.position}`);
  if (d.constraint !== undefined) extra.push(`constraint ${d.constraint}`);
  if (d.statementIndex !== undefined) extra.push(`statementIndex ${d.statementIndex}`);
  if (d.backend !== undefined) extra.push(`backend ${d.backend}`);
  if (spec.retryable) extra.push('retryable');
  extra.push(`requestId ${requestId}`);
  const what = spec.class ? `${spec.status} ${spec.class}` : String(spec.status);
  const oneLine = (s: string) => s.replace(/\s*[\r\n]+\s*/g, ' ');
  const hint = d.hint !== undefined ? ` (hint: ${oneLine(d.hint)})` : '';
  return `ERROR ${err.code} (${what}): ${oneLine(err.message)}${hint} [${extra.join(', ')}]\n`;
}
