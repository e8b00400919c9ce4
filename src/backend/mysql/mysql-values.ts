import mysql from 'mysql2';
import { SqlgateError } from '../../errors.js';
import { decodeJsonText } from '../json-text.js';
import type { GenericType, Int64Mode, JsonNumbersMode, JsonValue, ParamValue } from '../types.js';
import { coerceValue, encodeBytes, encodeFloat, encodeInt64 } from '../value-mapper.js';
import { BINARY_CHARSET, type FieldInfo, mysqlGenericType, T } from './mysql-types.js';

/**
 * MySQL's half of value mapping. Params are bound server-side (binary protocol) with explicit wire types, so
 * nothing is escaped into SQL text and integers/decimals travel exactly. Result values arrive from mysql2's
 * binary row parser as numbers (8-32 bit ints, doubles), strings (BIGINT, DECIMAL, dates, text) or Buffers
 * (binary columns, BIT), and are encoded here by a function chosen once per column.
 */

const TP = mysql.TypedParameter;
const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;

function invalid(where: string, message: string): SqlgateError {
  return new SqlgateError('PARAM_INVALID', `${where}: ${message}`);
}

// ---------------------------------------------------------------------------------------------- dates --

/** Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm; exact, no Date). */
function daysFromCivil(y: number, m: number, d: number): number {
  const yy = m <= 2 ? y - 1 : y;
  const era = Math.floor(yy / 400);
  const yoe = yy - era * 400;
  const doy = Math.floor((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

function civilFromDays(days: number): [number, number, number] {
  const z = days + 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor(
    (doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365,
  );
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const d = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const m = mp + (mp < 10 ? 3 : -9);
  return [yoe + era * 400 + (m <= 2 ? 1 : 0), m, d];
}

const pad = (n: number, width = 2) => String(n).padStart(width, '0');

const RE_DT =
  /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(?:([zZ])|([+-])(\d{2})(?::?(\d{2}))?)?$/;

/** At most 6 fractional digits (MySQL's limit); more is refused unless the extra digits are zeros. */
function fraction(frac: string | undefined, where: string): string {
  if (!frac) return '';
  if (frac.length > 6) {
    if (!/^0+$/.test(frac.slice(6))) {
      throw invalid(where, 'MySQL keeps at most 6 fractional digits (microseconds); round the value first');
    }
    return `.${frac.slice(0, 6)}`;
  }
  return `.${frac}`;
}

/**
 * A DATETIME or TIMESTAMP param -> `YYYY-MM-DD HH:MM:SS[.ffffff]`. A TIMESTAMP with an offset is converted
 * to UTC first (the session time zone is UTC); one without an offset is taken as UTC.
 */
export function toMysqlDatetime(value: string, where: string, withZone: boolean): string {
  const m = RE_DT.exec(value);
  if (!m)
    throw invalid(where, `not a ${withZone ? 'TIMESTAMP' : 'DATETIME'} MySQL can store (years 0000-9999)`);
  let y = Number(m[1]);
  let mo = Number(m[2]);
  let d = Number(m[3]);
  let hh = Number(m[4]);
  let mi = Number(m[5]);
  const ss = m[6] ?? '00';
  const frac = fraction(m[7], where);
  if (m[8] || m[9]) {
    if (!withZone) throw invalid(where, 'a DATETIME has no time zone; send a TIMESTAMP');
  }
  if (m[9]) {
    const offset = (m[9] === '-' ? -1 : 1) * (Number(m[10]) * 60 + Number(m[11] ?? 0));
    if (offset !== 0) {
      const days = daysFromCivil(y, mo, d);
      const [cy, cm, cd] = civilFromDays(days);
      if (cy !== y || cm !== mo || cd !== d || hh > 23 || mi > 59) throw invalid(where, 'not a valid date');
      const minutes = days * 1440 + hh * 60 + mi - offset;
      const day = Math.floor(minutes / 1440);
      [y, mo, d] = civilFromDays(day);
      hh = Math.floor((minutes - day * 1440) / 60);
      mi = minutes - day * 1440 - hh * 60;
      if (y < 0 || y > 9999) throw invalid(where, 'the UTC value is outside the years 0000-9999');
    }
  }
  return `${pad(y, 4)}-${pad(mo)}-${pad(d)} ${pad(hh)}:${pad(mi)}:${ss}${frac}`;
}

const RE_TIME_PARAM = /^(\d{2}:\d{2}(?::\d{2})?)(?:\.(\d{1,9}))?([zZ]|[+-]\d{2}(?::?\d{2})?)?$/;

/** A TIME param: MySQL TIME has no zone, so only a zero offset (`Z`, `+00:00`) is accepted and dropped. */
function toMysqlTime(value: string, where: string): string {
  const m = RE_TIME_PARAM.exec(value);
  if (!m) throw invalid(where, 'not a valid TIME value');
  const zone = m[3];
  if (zone && !/^([zZ]|[+-]00(:?00)?)$/.test(zone)) {
    throw invalid(where, 'MySQL TIME has no time zone; only a zero offset can be dropped');
  }
  return `${m[1]}${fraction(m[2], where)}`;
}

// --------------------------------------------------------------------------------------------- params --

/** What mysql2's `execute` binds: typed values, so the wire type never depends on JS guessing. */
export type MysqlParam = null | boolean | string | Buffer | ReturnType<typeof TP.LONGLONG>;

/** A decoded param -> a bound value. Refuses what MySQL would store differently (NaN, arrays, ...). */
export function toMysqlParam(p: ParamValue, where: string): MysqlParam {
  switch (p.type) {
    case 'NULL':
      return null;
    case 'BOOLEAN':
      // mysql2 binds a JS boolean as TINY 0/1 itself, the same bytes as TP.TINY without its BigInt range
      // checks (a bulk INSERT binds one per row).
      return p.value;
    case 'INTEGER':
      // 32-bit values go as INT so `SELECT ?` reads back as INTEGER; larger safe integers as BIGINT.
      return p.value >= INT32_MIN && p.value <= INT32_MAX ? TP.LONG(p.value) : TP.LONGLONG(BigInt(p.value));
    case 'BIGINT':
      return TP.LONGLONG(p.value);
    case 'DOUBLE':
      if (!Number.isFinite(p.value)) {
        throw invalid(where, 'MySQL cannot store NaN or Infinity in a DOUBLE; send NULL or a finite number');
      }
      return TP.DOUBLE(p.value);
    case 'DECIMAL':
      // Sent as a decimal string (MYSQL_TYPE_NEWDECIMAL): the server converts it exactly.
      return TP.NEWDECIMAL(p.value);
    case 'TEXT':
    case 'UUID':
    case 'INTERVAL':
      return p.value;
    case 'DATE':
      if (!/^\d{4}-\d{2}-\d{2}$/.test(p.value))
        throw invalid(where, 'not a DATE MySQL can store (years 0000-9999)');
      return p.value;
    case 'TIME':
      return toMysqlTime(p.value, where);
    case 'DATETIME':
      return toMysqlDatetime(p.value, where, false);
    case 'TIMESTAMP':
      return toMysqlDatetime(p.value, where, true);
    case 'BLOB':
      return Buffer.from(p.value.buffer, p.value.byteOffset, p.value.byteLength);
    case 'JSON':
      // As text: MariaDB refuses the JSON wire type, and a JSON column parses the text itself.
      return JSON.stringify(p.value);
    case 'ARRAY':
      throw new SqlgateError(
        'UNSUPPORTED_FEATURE',
        `${where}: MySQL has no array type; send {"$type":"JSON","value":[...]}`,
      );
  }
}

// -------------------------------------------------------------------------------------------- results --

/** One driver value (never null: nulls are handled by the caller) -> its JSON form. */
export type Encoder = (value: unknown) => JsonValue;

function conversionError(column: string, message: string): SqlgateError {
  return new SqlgateError('TYPE_CONVERSION_ERROR', `column "${column}": ${message}`);
}

/** The shortest decimal that reads back as the same 32-bit float (the binary protocol sends FLOAT exactly). */
export function float32(value: number): number {
  if (!Number.isFinite(value)) return value;
  for (let p = 1; p <= 9; p++) {
    const n = Number(value.toPrecision(p));
    if (Math.fround(n) === value) return n;
  }
  return value;
}

/**
 * `HH:MM:SS[.f]` or `YYYY-MM-DD HH:MM:SS[.f]` -> the fraction shown with the column's digits when it is not
 * zero, and dropped when it is (the binary protocol omits a zero fraction; the text protocol pads it).
 */
function normalizeFraction(s: string, decimals: number): string {
  const dot = s.lastIndexOf('.');
  if (dot < 0) return s;
  const frac = s.slice(dot + 1);
  if (/^0*$/.test(frac)) return s.slice(0, dot);
  const digits = Math.min(6, Math.max(decimals, frac.length));
  return s.slice(0, dot + 1) + frac.padEnd(digits, '0');
}

function bitsToBigInt(b: Buffer): bigint {
  let n = 0n;
  for (const byte of b) n = (n << 8n) | BigInt(byte);
  return n;
}

/** An encoder producing `type` from the column's native values; null when `type` is not native to it. */
function nativeEncoder(
  f: FieldInfo,
  type: GenericType,
  int64: Int64Mode,
  jsonNumbers: JsonNumbersMode,
): Encoder | null {
  const column = f.name;
  const ct = f.columnType;
  const temporal = ct === T.DATETIME || ct === T.TIMESTAMP;
  switch (type) {
    case 'BOOLEAN':
      if (ct === T.TINY) {
        return (v) => {
          if (v === 0) return false;
          if (v === 1) return true;
          throw conversionError(
            column,
            'a TINYINT(1) column is read as BOOLEAN but holds a value other than 0/1; ' +
              'pass options.columnTypes {"<column>": "SMALLINT"} to read it as a number',
          );
        };
      }
      if (ct === T.BIT && f.columnLength === 1) return (v) => (v as Buffer)[0] === 1;
      return null;
    case 'SMALLINT':
    case 'INTEGER':
      if (ct === T.TINY || ct === T.SHORT || ct === T.INT24 || ct === T.LONG || ct === T.YEAR) {
        return (v) => v as number;
      }
      return null;
    case 'BIGINT':
      if (ct === T.LONGLONG)
        return int64 === 'string' ? (v) => v as string : (v) => encodeInt64(v as string, int64);
      if (ct === T.BIT) return (v) => encodeInt64(bitsToBigInt(v as Buffer), int64);
      return null;
    case 'DECIMAL':
      return ct === T.DECIMAL || ct === T.NEWDECIMAL ? (v) => v as string : null;
    case 'FLOAT':
      return ct === T.FLOAT ? (v) => encodeFloat(float32(v as number)) : null;
    case 'DOUBLE':
      return ct === T.DOUBLE ? (v) => encodeFloat(v as number) : null;
    case 'DATE':
      return ct === T.DATE || ct === T.NEWDATE ? (v) => v as string : null;
    case 'TIME':
      return ct === T.TIME ? (v) => normalizeFraction(v as string, f.decimals) : null;
    case 'DATETIME':
      if (!temporal) return null;
      return (v) => {
        const s = normalizeFraction(v as string, f.decimals);
        return `${s.slice(0, 10)}T${s.slice(11)}`;
      };
    case 'TIMESTAMP':
      // The session time zone is UTC, so TIMESTAMP values (and DATETIMEs marked TIMESTAMP) are UTC.
      if (!temporal) return null;
      return (v) => {
        const s = normalizeFraction(v as string, f.decimals);
        return `${s.slice(0, 10)}T${s.slice(11)}+00:00`;
      };
    case 'JSON':
      if (mysqlGenericType(f) !== 'JSON') return null;
      // MariaDB stores JSON as text: numbers keep the stored text (or become strings), json-text.ts.
      return (v) => {
        const text = typeof v === 'string' ? v : String(v);
        try {
          return decodeJsonText(text, jsonNumbers);
        } catch {
          throw conversionError(column, 'the JSON column holds text that is not JSON');
        }
      };
    case 'BLOB':
      return f.characterSet === BINARY_CHARSET && ct !== T.BIT ? (v) => encodeBytes(v as Buffer) : null;
    case 'CHAR':
    case 'VARCHAR':
    case 'TEXT':
    case 'ENUM':
    case 'UUID':
      return f.characterSet !== BINARY_CHARSET ? (v) => v as string : null;
    case 'OTHER':
      return (v) => {
        if (typeof v === 'string') return v;
        if (Buffer.isBuffer(v)) return encodeBytes(v);
        if (Array.isArray(v)) return v as JsonValue;
        if (ct === T.GEOMETRY) {
          throw conversionError(
            column,
            'spatial values have no exact JSON form; select ST_AsText() or ST_AsWKB()',
          );
        }
        return typeof v === 'number' ? encodeFloat(v) : String(v);
      };
    case 'INTERVAL':
    case 'ARRAY':
      return null;
  }
}

/** The native GenericType to decode with before a client coercion (TINYINT(1) is a number then). */
function decodeType(f: FieldInfo, native: GenericType): GenericType {
  if (native === 'BOOLEAN') return f.columnType === T.BIT ? 'BIGINT' : 'SMALLINT';
  return native;
}

/**
 * The encoder of one column: `native` is the column's own GenericType, `target` what the client asked for in
 * `columnTypes`. A target the column produces natively (TINYINT(1) as SMALLINT, DATETIME as TIMESTAMP) is
 * encoded directly; any other goes through the shared, checked `coerceValue`.
 */
export function columnEncoder(
  f: FieldInfo,
  native: GenericType,
  target: GenericType | undefined,
  int64: Int64Mode,
  jsonNumbers: JsonNumbersMode = 'exact',
): Encoder {
  const own = (type: GenericType) => nativeEncoder(f, type, int64, jsonNumbers);
  if (target && target !== native) {
    const direct = own(target);
    if (direct) return direct;
    const decode = (own(decodeType(f, native)) ?? own('OTHER')) as Encoder;
    return (v) => coerceValue(decode(v), target, int64, f.name, jsonNumbers);
  }
  return (own(native) ?? own('OTHER')) as Encoder;
}
