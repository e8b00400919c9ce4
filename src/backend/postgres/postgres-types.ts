import type { TypeMapper } from '../type-mapper.js';
import type { GenericType } from '../types.js';

/**
 * PostgreSQL types by OID. Result values arrive as the server's text output (the gateway never asks for
 * binary results); `kind` says how that text becomes a JSON value (see postgres-values.ts).
 * Built-in OIDs are fixed across versions (src/include/catalog/pg_type.dat); anything not listed here
 * (enums, extension types, rarer built-ins) is looked up in pg_type once per backend and cached.
 * @see https://www.postgresql.org/docs/15/datatype.html
 */

/** How the text form of a scalar value is decoded. */
export type ValueKind =
  | 'bool'
  | 'int'
  | 'int64'
  | 'decimal'
  | 'float'
  | 'text'
  | 'bytea'
  | 'date'
  | 'time'
  | 'timetz'
  | 'timestamp'
  | 'timestamptz'
  | 'json';

export interface PgType {
  /** pg_type.typname: `int8`, `_text`, `mood`, ... (the `dbType` of result columns). */
  name: string;
  generic: GenericType;
  /** How a scalar value (or, for arrays, each element) is decoded. */
  kind: ValueKind;
  /** For array types: the element type's OID. */
  elem?: number;
  /** Array element delimiter (`;` for box, `,` for everything else). */
  delim?: string;
}

const scalar = (name: string, generic: GenericType, kind: ValueKind): PgType => ({ name, generic, kind });

/** Built-in scalar types the gateway decodes specially; `[oid, type, array oid]`. */
const SCALARS: Array<[number, PgType, number]> = [
  [16, scalar('bool', 'BOOLEAN', 'bool'), 1000],
  [17, scalar('bytea', 'BLOB', 'bytea'), 1001],
  [18, scalar('char', 'CHAR', 'text'), 1002],
  [19, scalar('name', 'TEXT', 'text'), 1003],
  [20, scalar('int8', 'BIGINT', 'int64'), 1016],
  [21, scalar('int2', 'SMALLINT', 'int'), 1005],
  [23, scalar('int4', 'INTEGER', 'int'), 1007],
  [25, scalar('text', 'TEXT', 'text'), 1009],
  [26, scalar('oid', 'BIGINT', 'int64'), 1028],
  [114, scalar('json', 'JSON', 'json'), 199],
  [700, scalar('float4', 'FLOAT', 'float'), 1021],
  [701, scalar('float8', 'DOUBLE', 'float'), 1022],
  [1042, scalar('bpchar', 'CHAR', 'text'), 1014],
  [1043, scalar('varchar', 'VARCHAR', 'text'), 1015],
  [1082, scalar('date', 'DATE', 'date'), 1182],
  [1083, scalar('time', 'TIME', 'time'), 1183],
  [1114, scalar('timestamp', 'DATETIME', 'timestamp'), 1115],
  [1184, scalar('timestamptz', 'TIMESTAMP', 'timestamptz'), 1185],
  [1186, scalar('interval', 'INTERVAL', 'text'), 1187],
  [1266, scalar('timetz', 'TIME', 'timetz'), 1270],
  [1700, scalar('numeric', 'DECIMAL', 'decimal'), 1231],
  [2950, scalar('uuid', 'UUID', 'text'), 2951],
  [3802, scalar('jsonb', 'JSON', 'json'), 3807],
  // Returned as the server's text, typed OTHER: no GenericType says more without losing something.
  [142, scalar('xml', 'OTHER', 'text'), 143],
  [650, scalar('cidr', 'OTHER', 'text'), 651],
  [790, scalar('money', 'OTHER', 'text'), 791],
  [829, scalar('macaddr', 'OTHER', 'text'), 1040],
  [869, scalar('inet', 'OTHER', 'text'), 1041],
  [1560, scalar('bit', 'OTHER', 'text'), 1561],
  [1562, scalar('varbit', 'OTHER', 'text'), 1563],
  [3614, scalar('tsvector', 'OTHER', 'text'), 3643],
];

/** Types without an array type of their own. */
const OTHERS: Array<[number, PgType]> = [
  [705, scalar('unknown', 'TEXT', 'text')],
  [2249, scalar('record', 'OTHER', 'text')],
  [2278, scalar('void', 'OTHER', 'text')],
  [22, scalar('int2vector', 'OTHER', 'text')],
  [30, scalar('oidvector', 'OTHER', 'text')],
];

/** OID -> type for the built-ins above and their array types. */
export const BUILTIN_TYPES: ReadonlyMap<number, PgType> = (() => {
  const map = new Map<number, PgType>();
  for (const [oid, t, arrayOid] of SCALARS) {
    map.set(oid, t);
    map.set(arrayOid, { name: `_${t.name}`, generic: 'ARRAY', kind: t.kind, elem: oid, delim: ',' });
  }
  for (const [oid, t] of OTHERS) map.set(oid, t);
  return map;
})();

/** What an OID the gateway knows nothing about is taken as: its text, typed OTHER. */
export const UNKNOWN_TYPE: PgType = { name: '', generic: 'OTHER', kind: 'text' };

/** One row of the pg_type lookup for OIDs outside BUILTIN_TYPES. */
export interface PgTypeRow {
  oid: number;
  typname: string;
  /** b base, c composite, d domain, e enum, p pseudo, r range, m multirange. */
  typtype: string;
  /** Element OID when the type is an array (typcategory 'A'), else 0. */
  elem: number;
  elemTyptype: string | null;
  delim: string;
}

/** SQL for the lookup; `$1` is an oid[] literal. */
export const PG_TYPE_LOOKUP_SQL =
  'SELECT t.oid::int8::text, t.typname::text, t.typtype::text, ' +
  // The element of an array; of an array over a domain, the domain's base type (what its values print as).
  "CASE WHEN t.typcategory = 'A' AND t.typelem <> 0 AND t.typlen = -1 " +
  'THEN COALESCE(NULLIF(e.typbasetype, 0), t.typelem) ELSE 0 END::int8::text, ' +
  'e.typtype::text, t.typdelim::text ' +
  'FROM pg_catalog.pg_type t LEFT JOIN pg_catalog.pg_type e ' +
  "ON e.oid = t.typelem AND t.typcategory = 'A' AND t.typlen = -1 " +
  'WHERE t.oid = ANY($1::oid[])';

/** Extension base types that are text in all but name. */
const TEXT_LIKE = new Set(['citext']);

/** A pg_type row -> how the gateway types and decodes values of it. */
export function typeFromCatalog(row: PgTypeRow, known: (oid: number) => PgType | undefined): PgType {
  if (row.elem !== 0) {
    const elem = known(row.elem);
    const kind = elem?.kind ?? 'text';
    return { name: row.typname, generic: 'ARRAY', kind, elem: row.elem, delim: row.delim || ',' };
  }
  if (row.typtype === 'e') return { name: row.typname, generic: 'ENUM', kind: 'text' };
  if (TEXT_LIKE.has(row.typname)) return { name: row.typname, generic: 'TEXT', kind: 'text' };
  return { name: row.typname, generic: 'OTHER', kind: 'text' };
}

/**
 * GenericType -> a PostgreSQL column type that stores every value of it exactly. DECIMAL is unconstrained
 * NUMERIC (keeps the scale it is given); timestamps keep microseconds; JSON is JSONB (indexable, but it
 * reorders object keys and drops duplicates); ARRAY without an element type is TEXT[].
 */
export const POSTGRES_DDL: Readonly<Record<GenericType, string>> = {
  BOOLEAN: 'BOOLEAN',
  SMALLINT: 'SMALLINT',
  INTEGER: 'INTEGER',
  BIGINT: 'BIGINT',
  DECIMAL: 'NUMERIC',
  FLOAT: 'REAL',
  DOUBLE: 'DOUBLE PRECISION',
  CHAR: 'BPCHAR',
  VARCHAR: 'VARCHAR(255)',
  TEXT: 'TEXT',
  ENUM: 'TEXT',
  BLOB: 'BYTEA',
  DATE: 'DATE',
  TIME: 'TIME(6)',
  DATETIME: 'TIMESTAMP(6)',
  TIMESTAMP: 'TIMESTAMPTZ(6)',
  INTERVAL: 'INTERVAL',
  JSON: 'JSONB',
  UUID: 'UUID',
  ARRAY: 'TEXT[]',
  OTHER: 'TEXT',
};

const BY_NAME: ReadonlyMap<string, PgType> = new Map(
  [...BUILTIN_TYPES.values()].map((t) => [t.name, t] as const),
);

/** TypeMapper over type *names* (`int8`, `_text`); result columns use OIDs through BUILTIN_TYPES. */
export const postgresTypeMapper: TypeMapper = {
  toGeneric: (native) => BY_NAME.get(native)?.generic ?? (native.startsWith('_') ? 'ARRAY' : 'OTHER'),
  ddl: POSTGRES_DDL,
};
