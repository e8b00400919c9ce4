/**
 * The data model shared by every backend: generic types, statements, params and results.
 * Nothing here imports a driver.
 */

/** Every type a column or parameter can have, independent of the database. */
export const GENERIC_TYPES = [
  'BOOLEAN',
  'SMALLINT',
  'INTEGER',
  'BIGINT',
  'DECIMAL',
  'FLOAT',
  'DOUBLE',
  'CHAR',
  'VARCHAR',
  'TEXT',
  'ENUM',
  'BLOB',
  'DATE',
  'TIME',
  'DATETIME',
  'TIMESTAMP',
  'INTERVAL',
  'JSON',
  'UUID',
  'ARRAY',
  'OTHER',
] as const;
export type GenericType = (typeof GENERIC_TYPES)[number];

export function isGenericType(value: unknown): value is GenericType {
  return typeof value === 'string' && (GENERIC_TYPES as readonly string[]).includes(value);
}

/** Result metadata for one column. */
export interface Column {
  name: string;
  /** The generic type; `OTHER` when the database type has no better mapping. */
  type: GenericType;
  /** The database's own type name, e.g. `int8`, `_text`, `DECIMAL(10,2)`; empty when unknown. */
  dbType: string;
  /** `null` when the driver cannot tell (SQLite expressions, PostgreSQL without a catalog lookup). */
  nullable: boolean | null;
}

/** A JSON value as it appears in a response. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

export interface QueryResult {
  columns: Column[];
  /** Objects keyed by column name (`rowMode: "object"`) or arrays in column order (`"array"`). */
  rows: Array<Record<string, JsonValue> | JsonValue[]>;
  rowCount: number;
  affectedRows: number;
  /** The id of the last inserted row when the database reports one; BIGINT-encoded (string by default). */
  lastInsertId: string | number | null;
  /** The statement's command word in upper case: SELECT, INSERT, UPDATE, CREATE, ... */
  command: string;
  durationMs: number;
}

/**
 * A parameter after decoding from JSON: the gateway knows its generic type, so backends can bind it exactly.
 * `value` holds a JS representation that never lost data:
 * - BIGINT: bigint · DECIMAL: string of digits · BLOB: Uint8Array
 * - DATE/TIME/DATETIME/TIMESTAMP/UUID/TEXT/INTERVAL: string · JSON: any JSON value
 * - ARRAY: ParamValue[] · BOOLEAN: boolean · INTEGER: number (safe integer) · DOUBLE: number
 */
export type ParamValue =
  | { type: 'NULL'; value: null }
  | { type: 'BOOLEAN'; value: boolean }
  | { type: 'INTEGER'; value: number }
  | { type: 'BIGINT'; value: bigint }
  | { type: 'DOUBLE'; value: number }
  | { type: 'DECIMAL'; value: string }
  | { type: 'TEXT' | 'DATE' | 'TIME' | 'DATETIME' | 'TIMESTAMP' | 'UUID' | 'INTERVAL'; value: string }
  | { type: 'BLOB'; value: Uint8Array }
  | { type: 'JSON'; value: JsonValue }
  | { type: 'ARRAY'; value: ParamValue[] };

/** A statement ready for a backend: native placeholders, params in order. */
export interface Statement {
  sql: string;
  params: ParamValue[];
}

export type RowMode = 'object' | 'array';
export type Int64Mode = 'string' | 'number' | 'auto';
/**
 * Numbers inside JSON values from the database: `exact` (default) as the database wrote them, `string`
 * turns each one a double cannot hold into a string of its exact text (see json-text.ts).
 */
export type JsonNumbersMode = 'exact' | 'string';
/**
 * `typed` (default): values interpreted through the column's type. `raw`: values as the database stores
 * them, for clients with their own type adapters (an ORM). Only SQLite differs (its declared types are
 * just affinities): raw gives each value by storage class, tagging what JSON cannot say (see docs/types.md).
 */
export type ValueMode = 'typed' | 'raw';

/** Per-statement options, already merged with the configured limits. */
export interface ExecOptions {
  rowMode: RowMode;
  int64: Int64Mode;
  /** Client-requested coercion of result columns to a generic type (e.g. SQLite 0/1 -> BOOLEAN). */
  columnTypes?: Record<string, GenericType>;
  /** Numbers inside JSON values; optional, default `exact` (see JsonNumbersMode). */
  jsonNumbers?: JsonNumbersMode;
  /** How values are encoded; optional, default `typed` (see ValueMode). */
  valueMode?: ValueMode;
  /** Statement timeout in ms; 0 = none. */
  timeoutMs: number;
  /** A result with more rows fails with RESULT_TOO_LARGE (the query is stopped, not drained). */
  maxRows: number;
  /** A result whose encoded rows exceed this many bytes fails with RESULT_TOO_LARGE. */
  maxResponseBytes: number;
  /** Aborted when the client goes away; backends cancel the running statement. */
  signal?: AbortSignal;
  /**
   * Optional: when given, `StorageBackend.execute` adds how long the statement waited for a pooled
   * connection to `queueMs` (the Server-Timing header's `queue`). Backends that do not fill it leave it 0.
   */
  timing?: { queueMs: number };
}
