import { SqlgateError } from '../../errors.js';
import { decodeJsonText, jsonCellText, stringifyExact } from '../json-text.js';
import type { GenericType, Int64Mode, JsonNumbersMode, JsonValue, ParamValue } from '../types.js';
import { encodeInt64 } from '../value-mapper.js';
import type { PgType, ValueKind } from './postgres-types.js';

/**
 * PostgreSQL text format <-> JSON values, both directions, without a JS Date anywhere (it would drop
 * microseconds and shift zones). Result text is what the server prints with DateStyle ISO (the default);
 * text that does not look like ISO output is passed through unchanged rather than guessed at.
 */

export type Decoder = (text: string) => JsonValue;

const TIMESTAMP_RE = /^(\d{4,}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2}(?:\.\d+)?)(.*)$/;
const OFFSET_RE = /([+-])(\d{2})(?::?(\d{2}))?(?::(\d{2}))?$/;

/**
 * `+05` -> `+05:00`, `+05:30` stays, `+00:53:28` (a pre-1900 local mean time offset) keeps its seconds:
 * ISO 8601 has no seconds in offsets, but dropping them would change the instant.
 */
function normalizeOffset(text: string): string {
  const m = OFFSET_RE.exec(text);
  if (!m) return text;
  const [whole, sign, hh, mm = '00', ss] = m;
  return text.slice(0, text.length - whole.length) + `${sign}${hh}:${mm}${ss ? `:${ss}` : ''}`;
}

/** `0`-`9` */
const isDigit = (c: number) => c >= 48 && c <= 57;

/** `2024-02-29 23:59:59.123456+00` -> `2024-02-29T23:59:59.123456+00:00`; ` BC` suffix and infinity kept. */
export function normalizeTimestamp(text: string, withZone: boolean): string {
  // The common shapes without a regex: `YYYY-MM-DD HH:MM:SS[.f]` and, with a zone, a `±HH` offset.
  const n = text.length;
  if (n >= 19 && text.charCodeAt(10) === 32 && text.charCodeAt(4) === 45 && text.charCodeAt(13) === 58) {
    if (!withZone) {
      if (isDigit(text.charCodeAt(n - 1))) return `${text.slice(0, 10)}T${text.slice(11)}`;
    } else {
      const sign = text.charCodeAt(n - 3);
      if ((sign === 43 || sign === 45) && isDigit(text.charCodeAt(n - 4)) && n >= 22) {
        return `${text.slice(0, 10)}T${text.slice(11)}:00`;
      }
    }
  }
  const m = TIMESTAMP_RE.exec(text);
  if (!m) return text; // infinity, -infinity, or a non-ISO DateStyle someone SET
  const [, date, time, rest = ''] = m;
  if (!withZone) return `${date}T${time}${rest}`;
  const bc = rest.endsWith(' BC');
  const zone = bc ? rest.slice(0, -3) : rest;
  return `${date}T${time}${normalizeOffset(zone)}${bc ? ' BC' : ''}`;
}

export function normalizeTimetz(text: string): string {
  return normalizeOffset(text);
}

const HEX_DIGITS = /^[0-9a-fA-F]*$/;

/** bytea output (`\x` hex, or the legacy escape format) -> base64. */
export function decodeBytea(text: string): string {
  if (text.charCodeAt(0) === 92 && text.charCodeAt(1) === 120) {
    // Buffer.from stops at the first non-hex pair: a full-length decode proves the text was all hex.
    const bytes = Buffer.from(text.slice(2), 'hex');
    if (bytes.length * 2 === text.length - 2) return bytes.toString('base64');
    if (HEX_DIGITS.test(text.slice(2))) return bytes.toString('base64');
  }
  // bytea_output = escape: printable bytes as-is, `\\` for a backslash, `\ooo` octal for the rest.
  const bytes: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 92) {
      if (text.charCodeAt(i + 1) === 92) {
        bytes.push(92);
        i++;
      } else {
        bytes.push(Number.parseInt(text.slice(i + 1, i + 4), 8));
        i += 3;
      }
    } else {
      bytes.push(c);
    }
  }
  return Buffer.from(bytes).toString('base64');
}

/**
 * json/jsonb text -> JSON value. jsonb keeps numbers exactly (as numeric) and json keeps the text; a JS
 * number cannot always (beyond ±(2^53-1), more digits than a double, 1e400, -0). Such a value keeps the
 * server's number text, or with `jsonNumbers: "string"` gets those numbers as strings (json-text.ts).
 */
export function decodeJson(text: string, jsonNumbers: JsonNumbersMode = 'exact'): JsonValue {
  return decodeJsonText(text, jsonNumbers);
}

function decodeFloat(text: string): number | string {
  // The server spells the special values exactly as the JSON API does.
  if (text === 'NaN' || text === 'Infinity' || text === '-Infinity') return text;
  return Number(text);
}

/** The decoder for one scalar kind. */
export function scalarDecoder(
  kind: ValueKind,
  int64: Int64Mode,
  jsonNumbers: JsonNumbersMode = 'exact',
): Decoder {
  switch (kind) {
    case 'bool':
      return (t) => t === 't';
    case 'int':
      return (t) => Number(t);
    case 'int64':
      return (t) => encodeInt64(t, int64);
    case 'decimal':
    case 'text':
    case 'date':
    case 'time':
      return (t) => t;
    case 'float':
      return decodeFloat;
    case 'bytea':
      return decodeBytea;
    case 'timetz':
      return normalizeTimetz;
    case 'timestamp':
      return (t) => normalizeTimestamp(t, false);
    case 'timestamptz':
      return (t) => normalizeTimestamp(t, true);
    case 'json':
      return (t) => decodeJsonText(t, jsonNumbers);
  }
}

/** The decoder for a column of the given type: arrays decode element-wise, any depth. */
export function decoderFor(type: PgType, int64: Int64Mode, jsonNumbers: JsonNumbersMode = 'exact'): Decoder {
  const element = scalarDecoder(type.kind, int64, jsonNumbers);
  if (type.generic !== 'ARRAY') return element;
  const delim = type.delim ?? ',';
  return (text) => parseArray(text, delim, element);
}

/** A value's text -> its JSON text (the same JSON the Decoder's value would serialize to). */
export type JsonEncoder = (text: string) => string;

/** Characters JSON.stringify would escape in a string (the server's text has no lone surrogates). */
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are exactly what JSON escapes
const NEEDS_ESCAPE_RE = /["\\\u0000-\u001f]/;

/** A string as JSON text; the common case (nothing to escape) without a call into JSON.stringify. */
export function quoteJson(text: string): string {
  return NEEDS_ESCAPE_RE.test(text) ? JSON.stringify(text) : `"${text}"`;
}

/** Text that never holds a character JSON escapes (numbers, dates, UUIDs), quoted. */
const quotePlain: JsonEncoder = (t) => `"${t}"`;

/** The JSON-text encoder for one scalar kind. */
function scalarEncoder(
  kind: ValueKind,
  generic: GenericType,
  int64: Int64Mode,
  jsonNumbers: JsonNumbersMode,
): JsonEncoder {
  switch (kind) {
    case 'bool':
      return (t) => (t === 't' ? 'true' : 'false');
    case 'int':
      // int2/int4 output is a plain decimal integer, already JSON; Number() keeps it identical otherwise.
      return (t) => String(Number(t));
    case 'int64':
      if (int64 === 'string') return quotePlain;
      // "auto" gives a string for an unsafe value: that one is quoted like the "string" mode's.
      return (t) => {
        const v = encodeInt64(t, int64);
        return typeof v === 'string' ? `"${v}"` : String(v);
      };
    case 'decimal':
    case 'date':
    case 'time':
      // Digits, signs, `.`, `:`, letters (NaN, infinity, BC, a non-ISO DateStyle): nothing to escape.
      return quotePlain;
    case 'text':
      return generic === 'UUID' ? quotePlain : quoteJson;
    case 'float':
      return (t) => (t === 'NaN' || t === 'Infinity' || t === '-Infinity' ? `"${t}"` : String(Number(t)));
    case 'bytea':
      return (t) => `"${decodeBytea(t)}"`;
    case 'timetz':
      return (t) => quoteJson(normalizeTimetz(t));
    case 'timestamp':
      return (t) => quoteJson(normalizeTimestamp(t, false));
    case 'timestamptz':
      return (t) => quoteJson(normalizeTimestamp(t, true));
    case 'json':
      // The server's json/jsonb text, numbers as the server wrote them (or as strings, see json-text.ts).
      return (t) => jsonCellText(t, jsonNumbers);
  }
}

/** The JSON-text encoder for a column of the given type (arrays through their decoded value). */
export function jsonEncoderFor(
  type: PgType,
  int64: Int64Mode,
  jsonNumbers: JsonNumbersMode = 'exact',
): JsonEncoder {
  if (type.generic !== 'ARRAY') return scalarEncoder(type.kind, type.generic, int64, jsonNumbers);
  const decode = decoderFor(type, int64, jsonNumbers);
  return (t) => stringifyExact(decode(t));
}

/**
 * Parses an array literal (`{1,2,NULL}`, `{{"a,b","c\"d"},{NULL,e}}`, `[0:1]={x,y}`) into nested JSON
 * arrays, decoding each element with `element`. Non-default lower bounds are dropped (JSON arrays start
 * at 0); an element spelled NULL without quotes is null.
 * @see https://www.postgresql.org/docs/15/arrays.html#ARRAYS-IO
 */
export function parseArray(text: string, delim: string, element: Decoder): JsonValue[] {
  let i = 0;
  if (text.charCodeAt(0) === 91) {
    // '[' dimension decoration up to '='
    const eq = text.indexOf('=');
    i = eq < 0 ? 0 : eq + 1;
  }
  const n = text.length;
  const fail = () => new SqlgateError('INTERNAL', 'the server sent an array literal the gateway cannot read');

  const parseLevel = (): JsonValue[] => {
    if (text[i] !== '{') throw fail();
    i++;
    const out: JsonValue[] = [];
    if (text[i] === '}') {
      i++;
      return out;
    }
    for (;;) {
      while (text[i] === ' ') i++;
      const c = text[i];
      if (c === '{') {
        out.push(parseLevel());
      } else if (c === '"') {
        i++;
        let s = '';
        let start = i;
        while (i < n && text[i] !== '"') {
          if (text[i] === '\\') {
            s += text.slice(start, i);
            i++;
            start = i;
          }
          i++;
        }
        s += text.slice(start, i);
        i++; // closing quote
        out.push(element(s));
      } else {
        const start = i;
        while (i < n && text[i] !== delim && text[i] !== '}') i++;
        const raw = text.slice(start, i).trim();
        out.push(raw.toUpperCase() === 'NULL' ? null : element(raw));
      }
      while (text[i] === ' ') i++;
      if (text[i] === delim) {
        i++;
        continue;
      }
      if (text[i] === '}') {
        i++;
        return out;
      }
      throw fail();
    }
  };
  return parseLevel();
}

function doubleText(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Number.POSITIVE_INFINITY) return 'Infinity';
  if (v === Number.NEGATIVE_INFINITY) return '-Infinity';
  // Shortest round-trip text; float8in and numeric_in read the exponent form too.
  return String(v);
}

/** An element inside an array literal: always quoted, so commas, braces, spaces and `NULL` stay text. */
function arrayElement(p: ParamValue): string {
  if (p.type === 'NULL') return 'NULL';
  if (p.type === 'ARRAY') return arrayLiteral(p.value);
  const text =
    p.type === 'BLOB' ? `\\x${Buffer.from(p.value).toString('hex')}` : (toPgParam(p) as string | null);
  return `"${String(text).replace(/[\\"]/g, '\\$&')}"`;
}

/** A JSON array param -> array literal text; nested arrays become more dimensions. */
export function arrayLiteral(values: ParamValue[]): string {
  return `{${values.map(arrayElement).join(',')}}`;
}

/**
 * A decoded param -> what goes into the Bind message: text for everything except BLOB, which is sent as
 * binary (raw bytes, no hex round trip). The server infers the parameter's type from the statement; the
 * text forms here are accepted by every input function they can meet (int, numeric, float8, timestamptz ...).
 */
export function toPgParam(p: ParamValue): string | Buffer | null {
  switch (p.type) {
    case 'NULL':
      return null;
    case 'BOOLEAN':
      return p.value ? 'true' : 'false';
    case 'INTEGER':
      return String(p.value);
    case 'BIGINT':
      return p.value.toString();
    case 'DOUBLE':
      return doubleText(p.value);
    case 'DECIMAL':
    case 'TEXT':
    case 'DATE':
    case 'TIME':
    case 'DATETIME':
    case 'TIMESTAMP':
    case 'UUID':
    case 'INTERVAL':
      return p.value;
    case 'BLOB':
      return Buffer.from(p.value.buffer, p.value.byteOffset, p.value.byteLength);
    case 'JSON':
      // Objects and arrays alike go as JSON text, never as a PostgreSQL array.
      return JSON.stringify(p.value);
    case 'ARRAY':
      return arrayLiteral(p.value);
  }
}
