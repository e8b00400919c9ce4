import type { Column } from '../../src/backend/types.js';
import { type CellValue, writeJson } from './exact-json.js';

/**
 * Result values back into PostgreSQL's text output, for Neon's SQL-over-HTTP, whose client parses every
 * value with pg-types by the column's type OID (`dataTypeID`). The backend hands out typed JSON values
 * (docs/types.md); this turns each into what `psql` would print for that type: booleans `t`/`f`, bytea
 * `\x<hex>`, timestamptz `2024-05-01 12:00:00.123456+00`, arrays `{1,2,"a b"}`, json as its JSON text.
 * @see https://www.postgresql.org/docs/15/datatype.html
 */

/** Built-in types by name -> OID (src/include/catalog/pg_type.dat; fixed across versions). */
const OIDS: Record<string, number> = {
  bool: 16,
  bytea: 17,
  char: 18,
  name: 19,
  int8: 20,
  int2: 21,
  int4: 23,
  text: 25,
  oid: 26,
  json: 114,
  xml: 142,
  float4: 700,
  float8: 701,
  unknown: 705,
  cidr: 650,
  money: 790,
  macaddr: 829,
  inet: 869,
  bpchar: 1042,
  varchar: 1043,
  date: 1082,
  time: 1083,
  timestamp: 1114,
  timestamptz: 1184,
  interval: 1186,
  timetz: 1266,
  bit: 1560,
  varbit: 1562,
  numeric: 1700,
  uuid: 2950,
  jsonb: 3802,
  tsvector: 3614,
  _bool: 1000,
  _bytea: 1001,
  _char: 1002,
  _name: 1003,
  _int2: 1005,
  _int4: 1007,
  _text: 1009,
  _varchar: 1015,
  _bpchar: 1014,
  _int8: 1016,
  _float4: 1021,
  _float8: 1022,
  _oid: 1028,
  _date: 1182,
  _time: 1183,
  _timestamp: 1115,
  _timestamptz: 1185,
  _interval: 1187,
  _timetz: 1270,
  _numeric: 1231,
  _uuid: 2951,
  _json: 199,
  _jsonb: 3807,
};

/** The OID of a result column: from its type name, or `oid:N` for types the backend did not name; else text. */
export function columnOid(col: Column): number {
  const known = OIDS[col.dbType];
  if (known !== undefined) return known;
  const m = /^oid:(\d+)$/.exec(col.dbType);
  return m ? Number(m[1]) : 25;
}

const hex = (b64: string) => `\\x${Buffer.from(b64, 'base64').toString('hex')}`;

/** ISO 8601 from the backend -> PostgreSQL's ISO DateStyle: space separator, `+00` for whole-hour offsets. */
function pgTimestamp(v: string): string {
  let s = v.replace('T', ' ');
  if (s.endsWith('Z')) s = `${s.slice(0, -1)}+00`;
  return s.replace(/([+-]\d{2}):00$/, '$1');
}

function scalar(v: CellValue, elemType: string): string {
  switch (elemType) {
    case 'bool':
      return v === true ? 't' : v === false ? 'f' : String(v);
    case 'bytea':
      return typeof v === 'string' ? hex(v) : String(v);
    case 'timestamptz':
    case 'timestamp':
      return typeof v === 'string' ? pgTimestamp(v) : String(v);
    case 'timetz':
      return typeof v === 'string' ? v.replace(/([+-]\d{2}):00$/, '$1') : String(v);
    case 'json':
      // Numbers and key order as the server wrote them (exact-json.ts); whitespace is not kept.
      return writeJson(v, 'compact');
    case 'jsonb':
      return writeJson(v, 'jsonb');
    default:
      if (typeof v === 'string') return v;
      if (typeof v === 'number') return String(v);
      return writeJson(v, 'compact');
  }
}

/** One array element as PostgreSQL quotes it inside `{...}`. */
function arrayElement(v: CellValue, elemType: string): string {
  if (v === null) return 'NULL';
  if (Array.isArray(v)) return arrayText(v, elemType);
  const s = scalar(v, elemType);
  if (s === '' || /[{},"\\\s]/.test(s) || s.toUpperCase() === 'NULL') {
    return `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
  }
  return s;
}

function arrayText(v: CellValue[], elemType: string): string {
  return `{${v.map((e) => arrayElement(e, elemType)).join(',')}}`;
}

/** A result value as PostgreSQL prints it (null stays null). */
export function pgText(v: CellValue | undefined, col: Column): string | null {
  if (v === null || v === undefined) return null;
  const t = col.dbType;
  if (t.startsWith('_') && Array.isArray(v)) return arrayText(v, t.slice(1));
  return scalar(v, t);
}
