import { SqlgateError } from '../errors.js';
import { decodeJsonText, isRawJson } from './json-text.js';
import {
  GENERIC_TYPES,
  type GenericType,
  type Int64Mode,
  type JsonNumbersMode,
  type JsonValue,
  type ParamValue,
} from './types.js';

/**
 * The lossless half of value mapping shared by every backend: JSON params -> typed ParamValues, and the
 * encoders each backend uses for result values. Backends add their driver-specific half in
 * `<db>-types.ts`. Everything here throws rather than rounds.
 */

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

const RE_INT = /^[+-]?\d+$/;
const RE_DECIMAL = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;
// Dates may carry a PostgreSQL era suffix (` BC`) and offsets may have seconds (`+00:19:32`, LMT zones):
// both are what PostgreSQL itself returns, so a value read from it can always be sent back.
const DATE = String.raw`-?\d{4,6}-\d{2}-\d{2}`;
const CLOCK = String.raw`\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?`;
const OFFSET = String.raw`([zZ]|[+-]\d{2}(:?\d{2}(:?\d{2})?)?)`;
const ERA = '( BC)?';
const RE_DATE = new RegExp(`^(${DATE}${ERA}|infinity|-infinity)$`);
// TIME also covers MySQL durations: negative and beyond 99 hours (-838:59:59 .. 838:59:59).
const RE_TIME = new RegExp(`^-?\\d{0,1}${CLOCK}${OFFSET}?$`);
const RE_DATETIME = new RegExp(`^(${DATE}[T ]${CLOCK}${ERA}|infinity|-infinity)$`);
const RE_TIMESTAMP = new RegExp(`^(${DATE}[T ]${CLOCK}${OFFSET}?${ERA}|infinity|-infinity)$`);
const RE_UUID = /^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$/;
const RE_BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Tag names accepted in `{"$type": ...}`: every GenericType but OTHER (it has no input form), and NULL. */
const TAGS: readonly string[] = ['NULL', ...GENERIC_TYPES.filter((t) => t !== 'OTHER')];

function invalid(where: string, message: string): SqlgateError {
  // Never include the value itself: params are secrets as far as responses and logs go.
  return new SqlgateError('PARAM_INVALID', `${where}: ${message}`);
}

const RE_DATE_PARTS = /^(-?)(\d{4,6})-(\d{2})-(\d{2})/;
const RE_CLOCK_PARTS = /(?:^-?|[T ])(\d{1,3}):(\d{2})(?::(\d{2}))?/;
const RE_OFFSET_PARTS = /[+-](\d{2}):?(\d{2})?(?::?(\d{2}))?$/;
const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/**
 * What is impossible in a date/time text the format regexes accepted: month 13, February 30, hour 25,
 * minute 60, an offset beyond ±15:59 — or null. Leap years are the proleptic Gregorian calendar's (1 BC is
 * astronomical year 0). TIME may be a MySQL duration, so its hours are not capped; a clock inside a date is
 * 00:00–23:59:59.
 */
function calendarProblem(value: string, tag: 'DATE' | 'TIME' | 'DATETIME' | 'TIMESTAMP'): string | null {
  if (value === 'infinity' || value === '-infinity') return null;
  if (tag !== 'TIME') {
    const d = RE_DATE_PARTS.exec(value);
    if (!d) return 'not a valid date';
    const year = Number(d[2]) * (d[1] === '-' ? -1 : 1);
    const astronomical = value.endsWith(' BC') ? 1 - year : year;
    const month = Number(d[3]);
    const day = Number(d[4]);
    if (month < 1 || month > 12) return 'month must be 01-12';
    const leap = astronomical % 4 === 0 && (astronomical % 100 !== 0 || astronomical % 400 === 0);
    const days = month === 2 && leap ? 29 : DAYS_IN_MONTH[month - 1];
    if (day < 1 || day > (days ?? 31)) return `day must be 01-${days} for that month`;
    if (tag === 'DATE') return null;
  }
  const rest = tag === 'TIME' ? value : value.slice(value.search(/[T ]/));
  const c = RE_CLOCK_PARTS.exec(rest);
  if (!c) return 'not a valid time';
  if (tag !== 'TIME' && Number(c[1]) > 23) return 'hour must be 00-23';
  if (Number(c[2]) > 59) return 'minute must be 00-59';
  if (c[3] !== undefined && Number(c[3]) > 59) return 'second must be 00-59';
  if (tag === 'TIMESTAMP' || tag === 'TIME') {
    const zone = RE_OFFSET_PARTS.exec(rest.slice(c.index + c[0].length).replace(/\.\d+/, ''));
    if (zone && (Number(zone[1]) > 15 || Number(zone[2] ?? 0) > 59 || Number(zone[3] ?? 0) > 59))
      return 'offset must be within ±15:59:59';
  }
  return null;
}

/** Parses a decimal integer string (or safe integer) into an int64 bigint. */
export function toInt64(value: unknown, where: string): bigint {
  let big: bigint;
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value))
      throw invalid(where, 'BIGINT given as a JSON number must be a safe integer; send a string');
    big = BigInt(value);
  } else if (typeof value === 'string' && RE_INT.test(value)) {
    big = BigInt(value);
  } else {
    throw invalid(where, 'BIGINT value must be a decimal integer string');
  }
  if (big < INT64_MIN || big > INT64_MAX)
    throw invalid(where, 'BIGINT value is outside the signed 64-bit range');
  return big;
}

function tagged(obj: Record<string, unknown>, where: string): ParamValue {
  const tag = obj.$type;
  if (typeof tag !== 'string' || !TAGS.includes(tag)) {
    throw invalid(where, `unknown $type; expected one of ${TAGS.join(', ')}`);
  }
  const keys = Object.keys(obj);
  const valueKey = tag === 'BLOB' ? 'base64' : 'value';
  for (const k of keys) {
    if (k !== '$type' && k !== valueKey)
      throw invalid(where, `unexpected key "${k}" in a ${tag} tagged value`);
  }
  if (tag !== 'NULL' && !Object.hasOwn(obj, valueKey))
    throw invalid(where, `a ${tag} tagged value needs "${valueKey}"`);
  const v = obj[valueKey];
  if (v === null && tag !== 'JSON') return { type: 'NULL', value: null };
  const needString = (re?: RegExp, what = tag): string => {
    if (typeof v !== 'string' || (re && !re.test(v))) throw invalid(where, `not a valid ${what} value`);
    return v;
  };
  /** A date/time tag: the format, then the calendar (the databases differ in what they would do with 02-30). */
  const needCalendar = (t: 'DATE' | 'TIME' | 'DATETIME' | 'TIMESTAMP', re: RegExp): string => {
    const text = needString(re);
    const problem = calendarProblem(text, t);
    if (problem) throw invalid(where, `not a valid ${t} value (${problem})`);
    return text;
  };
  switch (tag) {
    case 'NULL':
      return { type: 'NULL', value: null };
    case 'BOOLEAN':
      if (typeof v !== 'boolean') throw invalid(where, 'BOOLEAN value must be true or false');
      return { type: 'BOOLEAN', value: v };
    case 'SMALLINT':
    case 'INTEGER':
      if (typeof v === 'number' && Number.isSafeInteger(v)) return { type: 'INTEGER', value: v };
      if (typeof v === 'string' && RE_INT.test(v) && Number.isSafeInteger(Number(v))) {
        return { type: 'INTEGER', value: Number(v) };
      }
      throw invalid(where, `${tag} value must be a safe integer`);
    case 'BIGINT':
      return { type: 'BIGINT', value: toInt64(v, where) };
    case 'DECIMAL':
      if (typeof v === 'number' && Number.isFinite(v)) return { type: 'DECIMAL', value: String(v) };
      return { type: 'DECIMAL', value: needString(RE_DECIMAL) };
    case 'FLOAT':
    case 'DOUBLE':
      if (typeof v === 'number') return { type: 'DOUBLE', value: v };
      if (v === 'NaN') return { type: 'DOUBLE', value: Number.NaN };
      if (v === 'Infinity') return { type: 'DOUBLE', value: Number.POSITIVE_INFINITY };
      if (v === '-Infinity') return { type: 'DOUBLE', value: Number.NEGATIVE_INFINITY };
      if (typeof v === 'string' && RE_DECIMAL.test(v)) return { type: 'DOUBLE', value: Number(v) };
      throw invalid(where, `${tag} value must be a number, "NaN", "Infinity" or "-Infinity"`);
    case 'CHAR':
    case 'VARCHAR':
    case 'TEXT':
    case 'ENUM':
      return { type: 'TEXT', value: needString() };
    case 'INTERVAL':
      return { type: 'INTERVAL', value: needString() };
    case 'DATE':
      return { type: 'DATE', value: needCalendar(tag, RE_DATE) };
    case 'TIME':
      return { type: 'TIME', value: needCalendar(tag, RE_TIME) };
    case 'DATETIME':
      return { type: 'DATETIME', value: needCalendar(tag, RE_DATETIME) };
    case 'TIMESTAMP':
      return { type: 'TIMESTAMP', value: needCalendar(tag, RE_TIMESTAMP) };
    case 'UUID':
      return { type: 'UUID', value: needString(RE_UUID) };
    case 'BLOB': {
      const b64 = needString(RE_BASE64, 'base64');
      return { type: 'BLOB', value: new Uint8Array(Buffer.from(b64, 'base64')) };
    }
    case 'JSON':
      return { type: 'JSON', value: v as JsonValue };
    case 'ARRAY':
      if (!Array.isArray(v)) throw invalid(where, 'ARRAY value must be a JSON array');
      return { type: 'ARRAY', value: v.map((e, i) => decodeParam(e, `${where}[${i}]`)) };
  }
  throw invalid(where, 'unknown $type');
}

/**
 * JSON param -> ParamValue. Plain JSON: null, boolean, number (safe integer -> INTEGER, other finite ->
 * DOUBLE), string -> TEXT, array -> ARRAY, object -> JSON; `{"$type": ...}` objects are tagged values.
 */
export function decodeParam(value: unknown, where: string): ParamValue {
  if (value === null) return { type: 'NULL', value: null };
  switch (typeof value) {
    case 'boolean':
      return { type: 'BOOLEAN', value };
    case 'number':
      if (Number.isInteger(value)) {
        if (!Number.isSafeInteger(value)) {
          throw invalid(
            where,
            'integer beyond ±(2^53-1) cannot be sent as a JSON number; use {"$type":"BIGINT","value":"..."}',
          );
        }
        return { type: 'INTEGER', value };
      }
      return { type: 'DOUBLE', value };
    case 'string':
      return { type: 'TEXT', value };
    case 'object': {
      if (Array.isArray(value))
        return { type: 'ARRAY', value: value.map((e, i) => decodeParam(e, `${where}[${i}]`)) };
      const obj = value as Record<string, unknown>;
      if (Object.hasOwn(obj, '$type')) return tagged(obj, where);
      return { type: 'JSON', value: obj as JsonValue };
    }
    default:
      throw invalid(where, 'unsupported value');
  }
}

/** Decodes a params list or object; the keys of an object are kept. */
export function decodeParams(
  params: unknown[] | Record<string, unknown> | undefined,
): ParamValue[] | Record<string, ParamValue> | undefined {
  if (params === undefined) return undefined;
  if (Array.isArray(params)) return params.map((p, i) => decodeParam(p, `params[${i}]`));
  const out: Record<string, ParamValue> = {};
  for (const [k, v] of Object.entries(params)) out[k] = decodeParam(v, `params.${k}`);
  return out;
}

/**
 * A 64-bit integer as the `int64` option asks: `"string"` always a string; `"number"` a number, refused
 * when it is not exactly representable; `"auto"` a number when it is a safe integer, else a string (per value).
 */
export function encodeInt64(value: bigint | number | string, mode: Int64Mode): string | number {
  if (mode === 'string') return typeof value === 'string' ? value : String(value);
  const n = typeof value === 'number' ? value : Number(value);
  if (!Number.isSafeInteger(n) || (typeof value !== 'number' && BigInt(value) !== BigInt(n))) {
    if (mode === 'auto') return typeof value === 'string' ? value : String(value);
    throw new SqlgateError(
      'TYPE_CONVERSION_ERROR',
      'a 64-bit integer in the result is beyond ±(2^53-1) and cannot be a JSON number; use int64: "string"',
    );
  }
  return n;
}

/** Doubles: finite numbers as JSON numbers; NaN and infinities as the strings JSON cannot otherwise say. */
export function encodeFloat(value: number): number | string {
  if (Number.isFinite(value)) return value;
  if (Number.isNaN(value)) return 'NaN';
  return value > 0 ? 'Infinity' : '-Infinity';
}

export function encodeBytes(value: Uint8Array): string {
  return Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64');
}

/**
 * Applies a client's `columnTypes` coercion to an already-encoded value. Used where the database has no
 * exact type of its own (SQLite's 0/1 booleans, text dates). Refuses what does not convert exactly.
 */
export function coerceValue(
  value: JsonValue,
  to: GenericType,
  int64: Int64Mode,
  column: string,
  jsonNumbers: JsonNumbersMode = 'exact',
): JsonValue {
  if (value === null) return null;
  const fail = () =>
    new SqlgateError('TYPE_CONVERSION_ERROR', `column "${column}" holds a value that is not a valid ${to}`);
  switch (to) {
    case 'BOOLEAN':
      if (typeof value === 'boolean') return value;
      if (value === 0 || value === '0' || value === 'false' || value === 'f') return false;
      if (value === 1 || value === '1' || value === 'true' || value === 't') return true;
      throw fail();
    case 'SMALLINT':
    case 'INTEGER':
      if (typeof value === 'number' && Number.isSafeInteger(value)) return value;
      if (typeof value === 'string' && RE_INT.test(value) && Number.isSafeInteger(Number(value)))
        return Number(value);
      throw fail();
    case 'BIGINT':
      if (
        (typeof value === 'number' && Number.isSafeInteger(value)) ||
        (typeof value === 'string' && RE_INT.test(value))
      ) {
        return encodeInt64(value, int64);
      }
      throw fail();
    case 'DECIMAL':
      if (typeof value === 'number' && Number.isFinite(value)) return String(value);
      if (typeof value === 'string' && RE_DECIMAL.test(value)) return value;
      throw fail();
    case 'FLOAT':
    case 'DOUBLE':
      if (typeof value === 'number') return value;
      if (
        typeof value === 'string' &&
        (RE_DECIMAL.test(value) || ['NaN', 'Infinity', '-Infinity'].includes(value))
      ) {
        return encodeFloat(Number(value));
      }
      throw fail();
    case 'DATE':
      if (typeof value === 'string' && RE_DATE.test(value)) return value;
      throw fail();
    case 'TIME':
      if (typeof value === 'string' && RE_TIME.test(value)) return value;
      throw fail();
    case 'DATETIME':
      if (typeof value === 'string' && RE_DATETIME.test(value)) return value.replace(' ', 'T');
      throw fail();
    case 'TIMESTAMP':
      if (typeof value === 'string' && RE_TIMESTAMP.test(value)) return value.replace(' ', 'T');
      throw fail();
    case 'UUID':
      if (typeof value === 'string' && RE_UUID.test(value)) return value.toLowerCase();
      throw fail();
    case 'JSON':
      if (typeof value === 'string') {
        try {
          return decodeJsonText(value, jsonNumbers);
        } catch {
          throw fail();
        }
      }
      return value;
    case 'BLOB':
      if (typeof value === 'string') return value;
      throw fail();
    case 'CHAR':
    case 'VARCHAR':
    case 'TEXT':
    case 'ENUM':
    case 'INTERVAL':
    case 'OTHER':
      if (isRawJson(value)) return value.text;
      return typeof value === 'string' ? value : JSON.stringify(value);
    case 'ARRAY':
      if (Array.isArray(value)) return value;
      throw fail();
  }
}
