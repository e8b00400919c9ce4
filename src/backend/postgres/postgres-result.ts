import { fromWire, MIN_WIRE_ROWS } from '../rows-json.js';
import type { Column, ExecOptions, GenericType, JsonValue, QueryResult } from '../types.js';
import { coerceValue, encodeInt64 } from '../value-mapper.js';
import type { RawResult } from './postgres-statement.js';
import { type PgType, UNKNOWN_TYPE } from './postgres-types.js';
import { decoderFor } from './postgres-values.js';

/** Commands whose tag count is the number of rows written. */
const WRITES = new Set(['INSERT', 'UPDATE', 'DELETE', 'MERGE', 'COPY']);

/** OIDs of columns decoded as raw text because their type was not known when the rows arrived. */
export function unresolvedOids(results: RawResult[]): number[] {
  const oids = new Set<number>();
  for (const r of results) {
    r.fields.forEach((f, i) => {
      if (!r.types[i]) oids.add(f.dataTypeID);
    });
  }
  return [...oids];
}

/**
 * `lastInsertId` of an `INSERT ... RETURNING`: the first column of the first returned row, BIGINT-encoded
 * when it is an integer, else its text. PostgreSQL has no other notion of it, so anything else gives null.
 */
function lastInsertId(r: RawResult, types: PgType[], opts: ExecOptions) {
  if (r.command !== 'INSERT' || r.rowCount === 0 || types.length === 0) return null;
  const v = r.json !== undefined ? r.first : (r.rows[0]?.[0] ?? null);
  const t = types[0] as PgType;
  if (v === null) return null;
  if (t.generic !== 'ARRAY' && (t.kind === 'int' || t.kind === 'int64'))
    return encodeInt64(String(v), opts.int64);
  return typeof v === 'string' ? v : JSON.stringify(v);
}

/** A raw result -> the API's QueryResult: late type resolution, coercion, row shape, counts. */
export function buildResult(
  r: RawResult,
  opts: ExecOptions,
  typeOf: (oid: number) => PgType | undefined,
  durationMs: number,
): QueryResult {
  if (r.json !== undefined) return textResult(r, opts, durationMs);
  const rows = r.rows;
  const types: PgType[] = r.fields.map((f, i) => {
    const known = r.types[i];
    if (known) return known;
    // Decoded as text when the rows came; now that the catalog said what it is, decode again.
    const t = typeOf(f.dataTypeID) ?? UNKNOWN_TYPE;
    if (t.generic === 'ARRAY' || t.kind !== 'text') {
      const decode = decoderFor(t, opts.int64, opts.jsonNumbers);
      for (const row of rows) {
        const v = row[i];
        if (typeof v === 'string') row[i] = decode(v);
      }
    }
    return t;
  });

  const targets: Array<GenericType | undefined> = r.fields.map((f, i) => {
    const to = opts.columnTypes?.[f.name];
    return to && to !== types[i]?.generic ? to : undefined;
  });
  if (targets.some((t) => t !== undefined)) {
    for (const row of rows) {
      for (let i = 0; i < targets.length; i++) {
        const to = targets[i];
        if (to)
          row[i] = coerceValue(row[i] ?? null, to, opts.int64, r.fields[i]?.name ?? '', opts.jsonNumbers);
      }
    }
  }

  const columns: Column[] = r.fields.map((f, i) => ({
    name: f.name,
    type: targets[i] ?? types[i]?.generic ?? 'OTHER',
    dbType: types[i]?.name || `oid:${f.dataTypeID}`,
    nullable: null,
  }));

  let outRows: QueryResult['rows'] = rows;
  if (opts.rowMode === 'object') {
    const names = r.fields.map((f) => f.name);
    outRows = rows.map((row) => {
      const obj: Record<string, JsonValue> = {};
      for (let i = 0; i < names.length; i++) {
        const name = names[i] as string;
        // A column named __proto__ must stay a column, not become the object's prototype.
        if (name === '__proto__') {
          Object.defineProperty(obj, name, { value: row[i] ?? null, enumerable: true, writable: true });
        } else {
          obj[name] = row[i] ?? null;
        }
      }
      return obj;
    });
  }

  return {
    columns,
    rows: outRows,
    rowCount: rows.length,
    affectedRows: WRITES.has(r.command) ? (r.tagCount ?? 0) : 0,
    lastInsertId: lastInsertId(r, types, opts),
    command: r.command,
    durationMs,
  };
}

/** Columns of a result whose types were all known when its rows came (no coercion asked for). */
function plainColumns(r: RawResult): Column[] {
  return r.fields.map((f, i) => {
    const t = r.types[i] as PgType;
    return { name: f.name, type: t.generic, dbType: t.name || `oid:${f.dataTypeID}`, nullable: null };
  });
}

/**
 * A result whose rows arrived as JSON text: a large one keeps the text for the response to splice in
 * (rows-json.ts; read as values, it is parsed on first access), a small one is parsed at once, since a plain
 * result is cheaper to handle than one with a lazy `rows`.
 */
function textResult(r: RawResult, opts: ExecOptions, durationMs: number): QueryResult {
  const types = r.types as PgType[];
  const result: QueryResult = {
    columns: r.fields.length === 0 ? [] : plainColumns(r),
    rows: [],
    rowCount: r.rowCount,
    affectedRows: WRITES.has(r.command) ? (r.tagCount ?? 0) : 0,
    lastInsertId: lastInsertId(r, types, opts),
    command: r.command,
    durationMs,
  };
  if (r.rowCount === 0) return result;
  const json = `[${(r.json as string[]).join('')}]`;
  // Parsing would round a json number the text kept exact (json-text.ts): such rows stay text.
  if (r.rowCount < MIN_WIRE_ROWS && !types.some((t) => t.kind === 'json')) {
    result.rows = JSON.parse(json) as QueryResult['rows'];
    return result;
  }
  return fromWire({ ...result, rowsJson: json });
}
