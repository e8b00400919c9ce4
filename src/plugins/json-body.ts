import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { SqlgateError } from '../errors.js';

/**
 * The deepest nesting of `[` / `{` in a JSON text, counted outside strings, stopping as soon as it passes
 * `limit`. Linear and without recursion, so a hostile `[[[[...` of 4 MiB costs one scan and cannot overflow
 * the stack of the parser, the schema validator or the param decoder after it.
 */
export function exceedsDepth(text: string, limit: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c)
        i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) {
      inString = true;
    } else if (c === 0x5b || c === 0x7b) {
      if (++depth > limit) return true;
    } else if (c === 0x5d || c === 0x7d) {
      depth--;
    }
  }
  return false;
}

/**
 * Throws when a parsed value has an own `__proto__` key or a `constructor` key holding a `prototype`: keys
 * that pollute prototypes once some code merges the object. Recursion is bounded by the depth check above.
 */
function rejectPoisonedKeys(value: unknown): void {
  if (value === null || typeof value !== 'object') return;
  if (Array.isArray(value)) {
    for (const v of value) rejectPoisonedKeys(v);
    return;
  }
  for (const key of Object.keys(value)) {
    const v = (value as Record<string, unknown>)[key];
    if (key === '__proto__') throw poisoned();
    if (key === 'constructor' && v !== null && typeof v === 'object' && Object.hasOwn(v, 'prototype')) {
      throw poisoned();
    }
    rejectPoisonedKeys(v);
  }
}

function poisoned(): SqlgateError {
  return new SqlgateError(
    'BAD_REQUEST',
    'the request body contains a forbidden key (__proto__ or constructor.prototype)',
  );
}

/**
 * A JSON request body -> its value, with `limits.maxJsonDepth` enforced before parsing and
 * prototype-poisoning keys rejected; BAD_REQUEST without quoting the body (it holds params). Shared with
 * the protocol endpoints whose clients send JSON as text/plain (routes/compat/neon-sql.ts).
 */
export function parseJsonBody(text: string, maxDepth: number): unknown {
  if (text.length === 0) throw new SqlgateError('BAD_REQUEST', 'the request body is empty');
  if (exceedsDepth(text, maxDepth)) {
    throw new SqlgateError('BAD_REQUEST', `the request body is nested deeper than ${maxDepth} levels`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new SqlgateError('BAD_REQUEST', 'the request body is not valid JSON');
  }
  if (text.includes('__proto__') || text.includes('constructor') || text.includes('\\u')) {
    rejectPoisonedKeys(parsed);
  }
  return parsed;
}

/**
 * Replaces Fastify's JSON body parser with one that also enforces `limits.maxJsonDepth` (before parsing)
 * and rejects prototype-poisoning keys, answering 400 BAD_REQUEST without quoting the body (it holds params).
 * The body size limit (`server.bodyLimit` -> 413) still applies: Fastify counts the bytes before this runs.
 */
async function jsonBodyPlugin(app: FastifyInstance, opts: { maxDepth: number }): Promise<void> {
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, body, done) => {
    let parsed: unknown;
    try {
      parsed = parseJsonBody(body as string, opts.maxDepth);
    } catch (err) {
      return done(err as Error, undefined);
    }
    done(null, parsed);
  });
}

export default fp(jsonBodyPlugin, { name: 'sqlgate-json-body' });
