import { randomBytes } from 'node:crypto';
import type { JsonNumbersMode, JsonValue } from './types.js';

/**
 * JSON values that come from the database (json/jsonb columns, JSON text read with `columnTypes` JSON)
 * with their numbers exactly as the database wrote them. JSON.parse turns every number into a double, so
 * `9007199254740993` became `…992`, `0.12345678901234567890` lost digits and `-0` lost its sign. Here:
 *
 * - `jsonNumbers: "exact"` (default): a value whose numbers all print back as written is parsed as usual
 *   (the common case costs one scan of the text). Otherwise the cell becomes a RawJson: the database's text
 *   (whitespace outside strings removed, so it stays on one NDJSON line), which the response serializers
 *   write verbatim through `stringifyExact`.
 * - `jsonNumbers: "string"`: every number a double cannot hold (more digits than a double, beyond ±2^53,
 *   out of range, `-0`) becomes a JSON string of its exact text; the rest stay numbers. No RawJson.
 */

/** JSON strings, or number tokens (only outside strings, since strings match first). */
const TOKEN_RE = /"(?:[^"\\]|\\.)*"|-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?/g;
/** Whitespace outside strings. */
const SPACE_RE = /"(?:[^"\\]|\\.)*"|\s+/g;

/** The significant digits of a number's text (sign, point, exponent, leading and trailing zeros dropped). */
function significant(num: string): string {
  const mantissa = (num.toLowerCase().split('e')[0] as string).replace('-', '').replace('.', '');
  return mantissa.replace(/^0+/, '').replace(/0+$/, '');
}

/** Whether a double (as JSON serializers write it) holds the number `token` exactly, sign of zero included. */
export function numberFitsDouble(token: string): boolean {
  const n = Number(token);
  if (!Number.isFinite(n) || Object.is(n, -0)) return false;
  return significant(String(n)) === significant(token);
}

/** Whether every number in `text` prints back exactly as written after JSON.parse + JSON.stringify. */
function numbersCanonical(text: string): boolean {
  if (!/\d/.test(text)) return true;
  for (const token of text.match(TOKEN_RE) ?? []) {
    if (token.charCodeAt(0) !== 34 && String(Number(token)) !== token) return false;
  }
  return true;
}

/** A JSON value kept as the database's text; see the module comment. Cells only, never nested. */
export class RawJson {
  /** @param text valid, minified JSON text */
  constructor(readonly text: string) {}

  /**
   * Outside `stringifyExact` (a reader that re-encodes values itself, e.g. a compat protocol) the value
   * parsed as usual; inside it, a placeholder that `stringifyExact` replaces with `text`.
   */
  toJSON(): unknown {
    if (collecting) {
      collecting.push(this.text);
      return `${TOKEN}${collecting.length - 1}`;
    }
    return JSON.parse(this.text);
  }
}

/** Whether a cell is a RawJson (rows hold them at the top level of a cell only). */
export function isRawJson(v: unknown): v is RawJson {
  return v instanceof RawJson;
}

/**
 * The placeholder prefix: a NUL (which JSON.stringify always escapes, so no string from the database can
 * produce the escaped form followed by this process's random nonce) and 96 random bits.
 */
const NONCE = randomBytes(12).toString('hex');
const TOKEN = `\u0000${NONCE}:`;
const PLACEHOLDER_RE = new RegExp(`"\\\\u0000${NONCE}:(\\d+)"`, 'g');
let collecting: string[] | null = null;

/** JSON.stringify (with `space` for indentation) that writes every RawJson inside `value` as its exact text. */
export function stringifyExact(value: unknown, space?: number): string {
  const outer = collecting;
  const texts: string[] = [];
  collecting = texts;
  let json: string;
  try {
    json = JSON.stringify(value, null, space);
  } finally {
    collecting = outer;
  }
  if (texts.length === 0) return json;
  return json.replace(PLACEHOLDER_RE, (_m, i: string) => texts[Number(i)] as string);
}

/** `text` (valid JSON) with each number a double cannot hold turned into a string of its exact text. */
function quoteUnsafeNumbers(text: string): string {
  return text.replace(TOKEN_RE, (t) => (t.charCodeAt(0) === 34 || numberFitsDouble(t) ? t : `"${t}"`));
}

/**
 * JSON text from the database -> the cell's value (throws SyntaxError when it is not JSON). In `exact`
 * mode a RawJson (typed as the JsonValue it stands for) when a number would not survive JSON.parse.
 */
export function decodeJsonText(text: string, mode: JsonNumbersMode = 'exact'): JsonValue {
  const parsed = JSON.parse(text) as JsonValue;
  if (numbersCanonical(text)) return parsed;
  if (mode === 'string') return JSON.parse(quoteUnsafeNumbers(text)) as JsonValue;
  return new RawJson(
    text.replace(SPACE_RE, (m) => (m.charCodeAt(0) === 34 ? m : '')),
  ) as unknown as JsonValue;
}

/**
 * JSON text from the database -> the cell's JSON text for a response: the same as stringifying
 * `decodeJsonText`'s value, without building it when the text is already what it would print.
 */
export function jsonCellText(text: string, mode: JsonNumbersMode = 'exact'): string {
  const v = decodeJsonText(text, mode);
  return v instanceof RawJson ? v.text : JSON.stringify(v);
}
