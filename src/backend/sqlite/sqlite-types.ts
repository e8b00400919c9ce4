import { SqlgateError } from '../../errors.js';
import { decodeJsonText } from '../json-text.js';
import type { TypeMapper } from '../type-mapper.js';
import type { GenericType, Int64Mode, JsonNumbersMode, JsonValue, ParamValue } from '../types.js';
import { encodeBytes, encodeFloat, encodeInt64 } from '../value-mapper.js';

/**
 * SQLite has five storage classes and a declared type per column that only sets an affinity. The gateway
 * reads the declared type to give columns a precise GenericType (BOOLEAN, DATE, JSON ...) and encodes each
 * value by its storage class. Integers are 64-bit (`safeIntegers`), so INTEGER columns are BIGINT.
 * @see https://www.sqlite.org/datatype3.html
 */

/** GenericType -> declared type that keeps the value exact (DECIMAL as TEXT: NUMERIC affinity would round). */
export const SQLITE_DDL: Readonly<Record<GenericType, string>> = {
  BOOLEAN: 'BOOLEAN',
  SMALLINT: 'SMALLINT',
  INTEGER: 'INT4',
  BIGINT: 'BIGINT',
  DECIMAL: 'DECIMAL_TEXT',
  FLOAT: 'FLOAT',
  DOUBLE: 'DOUBLE',
  CHAR: 'CHAR',
  VARCHAR: 'VARCHAR',
  TEXT: 'TEXT',
  ENUM: 'TEXT',
  BLOB: 'BLOB',
  DATE: 'DATE',
  TIME: 'TIME',
  DATETIME: 'DATETIME',
  TIMESTAMP: 'TIMESTAMPTZ',
  INTERVAL: 'INTERVAL_TEXT',
  JSON: 'JSON',
  UUID: 'UUID',
  ARRAY: 'JSON',
  OTHER: 'BLOB',
};

/** Declared type -> GenericType, most specific match first; `null` when there is none (expressions). */
export function sqliteGenericType(declared: string | null | undefined): GenericType | null {
  if (!declared) return null;
  const t = declared.toUpperCase();
  if (t.includes('BOOL')) return 'BOOLEAN';
  if (t.includes('BIGINT') || t.includes('INT8')) return 'BIGINT';
  if (t.includes('SMALLINT') || t.includes('TINYINT') || t.includes('INT2')) return 'SMALLINT';
  if (t.includes('MEDIUMINT') || t === 'INT4' || t.includes('INT32')) return 'INTEGER';
  if (t.includes('INTERVAL')) return 'INTERVAL';
  if (t.includes('INT')) return 'BIGINT';
  if (t.includes('DECIMAL') || t.includes('NUMERIC') || t.includes('MONEY')) return 'DECIMAL';
  if (t.includes('DOUB') || t.includes('REAL')) return 'DOUBLE';
  if (t.includes('FLOA')) return 'FLOAT';
  if (t.includes('TIMESTAMPTZ') || t.includes('WITH TIME ZONE')) return 'TIMESTAMP';
  if (t.includes('DATETIME') || t.includes('TIMESTAMP')) return 'DATETIME';
  if (t.includes('DATE')) return 'DATE';
  if (t.includes('TIME')) return 'TIME';
  if (t.includes('JSON')) return 'JSON';
  if (t.includes('UUID')) return 'UUID';
  if (t.includes('BLOB') || t.includes('BINARY') || t.includes('BYTEA')) return 'BLOB';
  if (t.includes('VARCHAR') || t.includes('VARYING')) return 'VARCHAR';
  if (t.includes('CHAR')) return 'CHAR';
  if (t.includes('TEXT') || t.includes('CLOB')) return 'TEXT';
  if (t.includes('ENUM')) return 'ENUM';
  return 'OTHER';
}

export const sqliteTypeMapper: TypeMapper = {
  toGeneric: (native) => sqliteGenericType(native) ?? 'OTHER',
  ddl: SQLITE_DDL,
};

/** The GenericType of a value with no declared type, from its storage class. */
export function sqliteValueType(value: unknown): GenericType | null {
  if (value === null || value === undefined) return null;
  if (typeof value === 'bigint') return 'BIGINT';
  if (typeof value === 'number') return 'DOUBLE';
  if (typeof value === 'string') return 'TEXT';
  return 'BLOB';
}

/** What better-sqlite3 binds. */
export type SqliteBindValue = null | bigint | number | string | Buffer;

/** A decoded param -> what better-sqlite3 binds. Refuses what SQLite would change (NaN becomes NULL). */
export function toSqliteParam(p: ParamValue, where: string): SqliteBindValue {
  return bindWireParam(toWireParam(p, where));
}

/**
 * A param as it crosses to the worker thread: a bare primitive wherever its JS type already says how to
 * bind it, because structured-cloning 50,000 `{type, value}` objects cost the main thread ~4× what the
 * same values cost as primitives (and the worker ~9× to rebuild them).
 * - `null`, `bigint`, `string` (TEXT, DECIMAL, dates, UUID, INTERVAL and JSON text), `Uint8Array` (BLOB):
 *   bound as they are
 * - `boolean`: 1 / 0 (SQLite has no boolean)
 * - `number`: an integer binds as a 64-bit INTEGER, any other number as a REAL
 * - `[number]`: a REAL whose value happens to be integral (`2.0`, `-0`), which a bare number would bind
 *   as an INTEGER
 */
export type WireParam = null | boolean | number | bigint | string | Uint8Array | [number];

/** Main-thread side of the hand-over; throws (PARAM_INVALID, UNSUPPORTED_FEATURE) for what SQLite cannot bind. */
export function toWireParam(p: ParamValue, where: string): WireParam {
  switch (p.type) {
    case 'NULL':
    case 'BOOLEAN':
    case 'INTEGER':
    case 'BIGINT':
    case 'BLOB':
      return p.value;
    case 'DOUBLE':
      if (Number.isNaN(p.value))
        throw new SqlgateError('PARAM_INVALID', `${where}: SQLite cannot store NaN (it becomes NULL)`);
      return Number.isInteger(p.value) ? [p.value] : p.value;
    case 'DECIMAL':
    case 'TEXT':
    case 'DATE':
    case 'TIME':
    case 'DATETIME':
    case 'TIMESTAMP':
    case 'UUID':
    case 'INTERVAL':
      return p.value;
    case 'JSON':
      return JSON.stringify(p.value);
    case 'ARRAY':
      throw new SqlgateError(
        'UNSUPPORTED_FEATURE',
        `${where}: SQLite has no array type; send {"$type":"JSON","value":[...]}`,
      );
  }
}

/** Worker side: a WireParam -> what better-sqlite3 binds. */
export function bindWireParam(v: WireParam): SqliteBindValue {
  switch (typeof v) {
    case 'number':
      return Number.isInteger(v) ? BigInt(v) : v;
    case 'boolean':
      return v ? 1n : 0n;
    case 'string':
    case 'bigint':
      return v;
    default:
      if (v === null) return null;
      if (Array.isArray(v)) return v[0];
      return Buffer.from(v.buffer, v.byteOffset, v.byteLength);
  }
}

const RE_SPACE_DATETIME = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}/;

/** One stored value -> its JSON form, given the column's GenericType (declared, or null for expressions). */
export function fromSqliteValue(
  value: unknown,
  type: GenericType | null,
  int64: Int64Mode,
  jsonNumbers: JsonNumbersMode = 'exact',
): JsonValue {
  if (value === null || value === undefined) return null;
  switch (typeof value) {
    case 'bigint':
      if (type === 'BOOLEAN') return value !== 0n;
      if (type === 'DOUBLE' || type === 'FLOAT') return Number(value);
      if (type === 'DECIMAL') return String(value);
      if (type === 'SMALLINT' || type === 'INTEGER') return encodeInt64(value, 'number');
      return encodeInt64(value, int64);
    case 'number':
      if (type === 'BOOLEAN') return value !== 0;
      if (type === 'DECIMAL') return String(value);
      return encodeFloat(value);
    case 'string':
      if (type === 'JSON') {
        try {
          return decodeJsonText(value, jsonNumbers);
        } catch {
          return value;
        }
      }
      if ((type === 'DATETIME' || type === 'TIMESTAMP') && RE_SPACE_DATETIME.test(value)) {
        return `${value.slice(0, 10)}T${value.slice(11)}`;
      }
      return value;
    default:
      if (value instanceof Uint8Array) return encodeBytes(value);
      return String(value);
  }
}

/**
 * `valueMode: "raw"`: one stored value by its storage class, ignoring the declared type. TEXT is a JSON
 * string, an INTEGER within ±(2^53-1) and a non-integral REAL are JSON numbers; what a bare JSON value
 * would misstate is tagged like a param: `{"$type": "BLOB", "base64"}`, `{"$type": "BIGINT", "value"}`
 * for an INTEGER beyond 2^53-1, `{"$type": "DOUBLE", "value": "2"}` for an integral or infinite REAL
 * (a bare 2 would read back as an INTEGER).
 */
export function fromSqliteRaw(value: unknown): JsonValue {
  if (value === null || value === undefined) return null;
  switch (typeof value) {
    case 'bigint':
      return value <= MAX_SAFE_BIG && value >= -MAX_SAFE_BIG
        ? Number(value)
        : { $type: 'BIGINT', value: String(value) };
    case 'number':
      return Number.isFinite(value) && !Number.isInteger(value)
        ? value
        : { $type: 'DOUBLE', value: String(encodeFloat(value)) };
    case 'string':
      return value;
    default:
      if (value instanceof Uint8Array) return { $type: 'BLOB', base64: encodeBytes(value) };
      return String(value);
  }
}

const MAX_SAFE_BIG = BigInt(Number.MAX_SAFE_INTEGER);
