import type { TypeMapper } from '../type-mapper.js';
import type { GenericType } from '../types.js';

/**
 * MySQL / MariaDB column types as the wire protocol describes them (type code, flags, length, charset,
 * decimals, MariaDB's extended type info) -> GenericType, and GenericType -> DDL.
 * @see https://mariadb.com/kb/en/result-set-packets/#column-definition-packet
 * @see https://dev.mysql.com/doc/dev/mysql-server/latest/field__types_8h.html
 */

/** Protocol type codes (`enum_field_types`). */
export const T = {
  DECIMAL: 0x00,
  TINY: 0x01,
  SHORT: 0x02,
  LONG: 0x03,
  FLOAT: 0x04,
  DOUBLE: 0x05,
  NULL: 0x06,
  TIMESTAMP: 0x07,
  LONGLONG: 0x08,
  INT24: 0x09,
  DATE: 0x0a,
  TIME: 0x0b,
  DATETIME: 0x0c,
  YEAR: 0x0d,
  NEWDATE: 0x0e,
  VARCHAR: 0x0f,
  BIT: 0x10,
  VECTOR: 0xf2,
  JSON: 0xf5,
  NEWDECIMAL: 0xf6,
  ENUM: 0xf7,
  SET: 0xf8,
  TINY_BLOB: 0xf9,
  MEDIUM_BLOB: 0xfa,
  LONG_BLOB: 0xfb,
  BLOB: 0xfc,
  VAR_STRING: 0xfd,
  STRING: 0xfe,
  GEOMETRY: 0xff,
} as const;

/** Column definition flags. */
export const FLAG = {
  NOT_NULL: 1,
  UNSIGNED: 32,
  ENUM: 256,
  SET: 2048,
} as const;

/** The `binary` character set: the column holds bytes, not text. */
export const BINARY_CHARSET = 63;

/**
 * The marker that makes a DATETIME(6) column a TIMESTAMP (with zone) column. MySQL's own TIMESTAMP type
 * cannot hold 1970-01-01 00:00:00 UTC or anything after 2038-01-19, so the portable TIMESTAMP is a
 * DATETIME(6) holding UTC, recognised by this column comment (looked up in information_schema, cached).
 */
export const TIMESTAMP_COMMENT = 'sqlgate:TIMESTAMP';

/** What the gateway needs from a column definition (mysql2's ColumnDefinition has these fields). */
export interface FieldInfo {
  name: string;
  orgName?: string;
  orgTable?: string;
  schema?: string;
  columnType: number;
  flags: number;
  columnLength: number;
  characterSet: number;
  decimals: number;
  /** MariaDB extended metadata: `uuid`, `inet6`, `point`, ... */
  extendedTypeName?: string;
  /** MariaDB extended metadata: `json` for a JSON (LONGTEXT) column. */
  extendedFormat?: string;
  /** The Node encoding mysql2 decodes the column's text with (from its character set). */
  encoding?: string;
}

/**
 * GenericType -> a column type that stores it without loss. TIMESTAMP is not MySQL's TIMESTAMP (see
 * TIMESTAMP_COMMENT); BOOLEAN is TINYINT(1), which MySQL itself calls BOOLEAN.
 */
export const MYSQL_DDL: Readonly<Record<GenericType, string>> = {
  BOOLEAN: 'TINYINT(1)',
  SMALLINT: 'SMALLINT',
  INTEGER: 'INT',
  BIGINT: 'BIGINT',
  DECIMAL: 'DECIMAL(38,10)',
  FLOAT: 'FLOAT',
  DOUBLE: 'DOUBLE',
  CHAR: 'CHAR(255)',
  VARCHAR: 'VARCHAR(255)',
  TEXT: 'LONGTEXT',
  ENUM: 'VARCHAR(255)',
  BLOB: 'LONGBLOB',
  DATE: 'DATE',
  TIME: 'TIME(6)',
  DATETIME: 'DATETIME(6)',
  TIMESTAMP: `DATETIME(6) COMMENT '${TIMESTAMP_COMMENT}'`,
  INTERVAL: 'VARCHAR(64)',
  JSON: 'JSON',
  UUID: 'CHAR(36)',
  ARRAY: 'JSON',
  OTHER: 'LONGBLOB',
};

const isBinary = (f: FieldInfo) => f.characterSet === BINARY_CHARSET;
const isUnsigned = (f: FieldInfo) => (f.flags & FLAG.UNSIGNED) !== 0;
const unsigned = (f: FieldInfo) => (isUnsigned(f) ? ' UNSIGNED' : '');
const precision = (name: string, f: FieldInfo) => (f.decimals > 0 ? `${name}(${f.decimals})` : name);

/** TINYBLOB/BLOB/MEDIUMBLOB/LONGBLOB (or the TEXT names) from the byte length the server reports. */
function blobName(f: FieldInfo, base: 'BLOB' | 'TEXT'): string {
  const len = f.columnLength;
  // Text lengths are characters x the charset's bytes per character (4 for utf8mb4).
  if (len <= 1020) return `TINY${base}`;
  if (len <= 262140) return base;
  if (len <= 67108860) return `MEDIUM${base}`;
  return `LONG${base}`;
}

/** The database's own name for the column type, e.g. `BIGINT UNSIGNED`, `DECIMAL(38,10)`, `VARCHAR`. */
export function mysqlDbType(f: FieldInfo): string {
  const ext = f.extendedTypeName;
  switch (f.columnType) {
    case T.DECIMAL:
    case T.NEWDECIMAL: {
      // columnLength counts the digits plus a sign (signed) and a point (scale > 0).
      const p = f.columnLength - (f.decimals > 0 ? 1 : 0) - (isUnsigned(f) ? 0 : 1);
      return `DECIMAL(${p},${f.decimals})${unsigned(f)}`;
    }
    case T.TINY:
      return `${f.columnLength === 1 ? 'TINYINT(1)' : 'TINYINT'}${unsigned(f)}`;
    case T.SHORT:
      return `SMALLINT${unsigned(f)}`;
    case T.INT24:
      return `MEDIUMINT${unsigned(f)}`;
    case T.LONG:
      return `INT${unsigned(f)}`;
    case T.LONGLONG:
      return `BIGINT${unsigned(f)}`;
    case T.FLOAT:
      return 'FLOAT';
    case T.DOUBLE:
      return 'DOUBLE';
    case T.NULL:
      return 'NULL';
    case T.TIMESTAMP:
      return precision('TIMESTAMP', f);
    case T.DATETIME:
      return precision('DATETIME', f);
    case T.TIME:
      return precision('TIME', f);
    case T.DATE:
    case T.NEWDATE:
      return 'DATE';
    case T.YEAR:
      return 'YEAR';
    case T.BIT:
      return `BIT(${f.columnLength})`;
    case T.JSON:
      return 'JSON';
    case T.ENUM:
      return 'ENUM';
    case T.SET:
      return 'SET';
    case T.VARCHAR:
    case T.VAR_STRING:
      if (ext) return ext.toUpperCase();
      return isBinary(f) ? 'VARBINARY' : 'VARCHAR';
    case T.STRING:
      if (ext) return ext.toUpperCase();
      if (f.flags & FLAG.ENUM) return 'ENUM';
      if (f.flags & FLAG.SET) return 'SET';
      return isBinary(f) ? 'BINARY' : 'CHAR';
    case T.TINY_BLOB:
    case T.MEDIUM_BLOB:
    case T.LONG_BLOB:
    case T.BLOB:
      if (f.extendedFormat === 'json') return 'JSON';
      if (ext) return ext.toUpperCase();
      return blobName(f, isBinary(f) ? 'BLOB' : 'TEXT');
    case T.GEOMETRY:
      return ext ? ext.toUpperCase() : 'GEOMETRY';
    case T.VECTOR:
      return 'VECTOR';
    default:
      return `TYPE_${f.columnType}`;
  }
}

/**
 * The GenericType of a result column from its definition alone. A DATETIME column may still turn out to be
 * a TIMESTAMP (TIMESTAMP_COMMENT), which needs the catalog; see the connection.
 * - TINYINT(1) and BIT(1) are BOOLEAN (MySQL's BOOLEAN is TINYINT(1)); `columnTypes` can say otherwise.
 * - MariaDB's JSON is a LONGTEXT that its extended metadata marks `json`; MySQL's JSON has its own type.
 */
export function mysqlGenericType(f: FieldInfo): GenericType {
  switch (f.columnType) {
    case T.DECIMAL:
    case T.NEWDECIMAL:
      return 'DECIMAL';
    case T.TINY:
      return f.columnLength === 1 ? 'BOOLEAN' : 'SMALLINT';
    case T.SHORT:
    case T.YEAR:
      return 'SMALLINT';
    case T.INT24:
    case T.LONG:
      return 'INTEGER';
    case T.LONGLONG:
      return 'BIGINT';
    case T.FLOAT:
      return 'FLOAT';
    case T.DOUBLE:
      return 'DOUBLE';
    case T.TIMESTAMP:
      return 'TIMESTAMP';
    case T.DATETIME:
      return 'DATETIME';
    case T.DATE:
    case T.NEWDATE:
      return 'DATE';
    case T.TIME:
      return 'TIME';
    case T.BIT:
      return f.columnLength === 1 ? 'BOOLEAN' : 'BIGINT';
    case T.JSON:
      return 'JSON';
    case T.ENUM:
    case T.SET:
      return 'ENUM';
    case T.VARCHAR:
    case T.VAR_STRING:
      if (f.extendedTypeName === 'uuid') return 'UUID';
      if (f.extendedTypeName) return 'OTHER';
      return isBinary(f) ? 'BLOB' : 'VARCHAR';
    case T.STRING:
      if (f.extendedTypeName === 'uuid') return 'UUID';
      if (f.extendedTypeName) return 'OTHER';
      if (f.flags & (FLAG.ENUM | FLAG.SET)) return 'ENUM';
      return isBinary(f) ? 'BLOB' : 'CHAR';
    case T.TINY_BLOB:
    case T.MEDIUM_BLOB:
    case T.LONG_BLOB:
    case T.BLOB:
      if (f.extendedFormat === 'json') return 'JSON';
      if (f.extendedTypeName) return 'OTHER';
      return isBinary(f) ? 'BLOB' : 'TEXT';
    default:
      // NULL (a bare NULL literal), GEOMETRY, VECTOR and types this gateway does not know.
      return 'OTHER';
  }
}

/** Native type names (as in `mysqlDbType`, parameters dropped) -> GenericType, for the TypeMapper role. */
const BY_NAME: Record<string, GenericType> = {
  'TINYINT(1)': 'BOOLEAN',
  BOOL: 'BOOLEAN',
  BOOLEAN: 'BOOLEAN',
  TINYINT: 'SMALLINT',
  SMALLINT: 'SMALLINT',
  YEAR: 'SMALLINT',
  MEDIUMINT: 'INTEGER',
  INT: 'INTEGER',
  INTEGER: 'INTEGER',
  BIGINT: 'BIGINT',
  DECIMAL: 'DECIMAL',
  NUMERIC: 'DECIMAL',
  FLOAT: 'FLOAT',
  DOUBLE: 'DOUBLE',
  REAL: 'DOUBLE',
  CHAR: 'CHAR',
  VARCHAR: 'VARCHAR',
  TINYTEXT: 'TEXT',
  TEXT: 'TEXT',
  MEDIUMTEXT: 'TEXT',
  LONGTEXT: 'TEXT',
  ENUM: 'ENUM',
  SET: 'ENUM',
  BINARY: 'BLOB',
  VARBINARY: 'BLOB',
  TINYBLOB: 'BLOB',
  BLOB: 'BLOB',
  MEDIUMBLOB: 'BLOB',
  LONGBLOB: 'BLOB',
  DATE: 'DATE',
  TIME: 'TIME',
  DATETIME: 'DATETIME',
  TIMESTAMP: 'TIMESTAMP',
  JSON: 'JSON',
  UUID: 'UUID',
};

export const mysqlTypeMapper: TypeMapper = {
  toGeneric(native: string): GenericType {
    const t = native.trim().toUpperCase();
    if (t.startsWith('TINYINT(1)')) return 'BOOLEAN';
    if (t.startsWith('BIT')) return /^BIT\(1\)/.test(t) ? 'BOOLEAN' : 'BIGINT';
    if (t.includes(TIMESTAMP_COMMENT.toUpperCase())) return 'TIMESTAMP';
    const base = t.replace(/\(.*$/, '').replace(/\s+(UNSIGNED|SIGNED|ZEROFILL).*$/, '');
    return BY_NAME[base] ?? 'OTHER';
  },
  ddl: MYSQL_DDL,
};
