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

/** A `\uD800`-`\uDFFF` escape: the only way a lone surrogate can get into a body that is valid UTF-8. */
const SURROGATE_ESCAPE = /\\u[dD][89a-fA-F]/;

/**
 * Throws when a string (value or key) holds a lone UTF-16 surrogate. Such a string has no UTF-8 form:
 * every driver would send U+FFFD in its place, silently changing the SQL or the value.
 */
function rejectLoneSurrogates(value: unknown): void {
  if (typeof value === 'string') {
    if (!wellFormed(value)) throw loneSurrogate();
    return;
  }
  if (value === null || typeof value !== 'object') return;
  if (Array.isArray(value)) {
    for (const v of value) rejectLoneSurrogates(v);
    return;
  }
  for (const [k, v] of Object.entries(value)) {
    if (!wellFormed(k)) throw loneSurrogate();
    rejectLoneSurrogates(v);
  }
}

/** `String.prototype.isWellFormed` (Node 20; newer than the compiler's lib setting). */
const wellFormed = (s: string): boolean => (s as unknown as { isWellFormed(): boolean }).isWellFormed();

function loneSurrogate(): SqlgateError {
  return new SqlgateError(
    'BAD_REQUEST',
    'the request body holds a lone UTF-16 surrogate (a \\uD800-\\uDFFF escape without its pair), which has ' +
      'no UTF-8 form; send well-formed Unicode (binary data as {"$type": "BLOB", "base64": ...})',
  );
}

const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

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
    if (SURROGATE_ESCAPE.test(text)) rejectLoneSurrogates(parsed);
  }
  return parsed;
}

/**
 * Replaces Fastify's JSON body parser with one that also enforces `limits.maxJsonDepth` (before parsing)
 * and rejects prototype-poisoning keys, bodies that are not valid UTF-8 and lone surrogates in strings, answering 400 BAD_REQUEST without quoting the body (it holds params).
 * The body size limit (`server.bodyLimit` -> 413) still applies: Fastify counts the bytes before this runs.
 */
async function jsonBodyPlugin(app: FastifyInstance, opts: { maxDepth: number }): Promise<void> {
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (_request, body, done) => {
    let parsed: unknown;
    try {
      // Invalid UTF-8 would otherwise become U+FFFD without a word (in SQL, in string params).
      let text: string;
      try {
        text = UTF8.decode(body as Buffer);
      } catch {
        throw new SqlgateError(
          'BAD_REQUEST',
          'the request body is not valid UTF-8 (JSON must be UTF-8 encoded)',
        );
      }
      parsed = parseJsonBody(text, opts.maxDepth);
    } catch (err) {
      return done(err as Error, undefined);
    }
    done(null, parsed);
  });
}

export default fp(jsonBodyPlugin, { name: 'sqlgate-json-body' });
