import { SqlgateError } from '../../errors.js';
import type { TypeMapper } from '../type-mapper.js';
import type { GenericType, Int64Mode, JsonValue, ParamValue } from '../types.js';
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

/** A decoded param -> what better-sqlite3 binds. Refuses what SQLite would change (NaN becomes NULL). */
export function toSqliteParam(p: ParamValue, where: string): null | bigint | number | string | Buffer {
  switch (p.type) {
    case 'NULL':
      return null;
    case 'BOOLEAN':
      return p.value ? 1n : 0n;
    case 'INTEGER':
      return BigInt(p.value);
    case 'BIGINT':
      return p.value;
    case 'DOUBLE':
      if (Number.isNaN(p.value))
        throw new SqlgateError('PARAM_INVALID', `${where}: SQLite cannot store NaN (it becomes NULL)`);
      return p.value;
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
      return JSON.stringify(p.value);
    case 'ARRAY':
      throw new SqlgateError(
        'UNSUPPORTED_FEATURE',
        `${where}: SQLite has no array type; send {"$type":"JSON","value":[...]}`,
      );
  }
}

const RE_SPACE_DATETIME = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}/;

/** One stored value -> its JSON form, given the column's GenericType (declared, or null for expressions). */
export function fromSqliteValue(value: unknown, type: GenericType | null, int64: Int64Mode): JsonValue {
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
          return JSON.parse(value) as JsonValue;
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
