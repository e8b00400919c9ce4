import { type DecodeOptions, decoderFor, type Int64Mode, int64Decoder } from './values.js';

/** Column metadata of a result (docs/types.md). */
export interface Column {
  /** Column name as the database reports it. */
  name: string;
  /** The GenericType: BIGINT, DECIMAL, BLOB, TIMESTAMP, ... */
  type: string;
  /** The database's own type name. */
  dbType?: string;
  /** Whether the column may hold NULL; null when unknown. */
  nullable?: boolean | null;
}

/** One statement's result, decoded. */
export interface QueryResult<Row = Record<string, unknown>> {
  /** Column metadata, in order. */
  columns: Column[];
  /** Rows: objects by column name (default) or arrays (`rowMode: "array"`). */
  rows: Row[];
  /** Number of rows returned. */
  rowCount: number;
  /** Rows changed by INSERT/UPDATE/DELETE. */
  affectedRows: number;
  /** Generated id of an INSERT where the database reports one (MySQL, SQLite), in the int64 mode. */
  lastInsertId: bigint | number | string | null;
  /** The statement's leading keyword (SELECT, INSERT, ...). */
  command: string;
  /** Time the gateway spent, in ms. */
  durationMs: number;
}

/** A result as the gateway sends it. */
export interface WireResult {
  columns: Column[];
  rows: unknown[];
  rowCount: number;
  affectedRows: number;
  lastInsertId: string | number | null;
  command: string;
  durationMs: number;
}

/** A function decoding one wire row in place by `columns[].type`; identity when no column needs it. */
export function rowDecoder(cols: Column[], o: DecodeOptions, arrayRows: boolean): (row: unknown) => unknown {
  const decs: Array<[number | string, (v: unknown) => unknown]> = [];
  for (let i = 0; i < cols.length; i++) {
    const c = cols[i] as Column;
    const d = decoderFor(c.type, o);
    if (d) decs.push([arrayRows ? i : c.name, d]);
  }
  if (decs.length === 0) return (row) => row;
  return (row) => {
    const r = row as Record<string | number, unknown>;
    for (const [k, d] of decs) {
      const v = r[k];
      if (v !== null && v !== undefined) r[k] = d(v);
    }
    return r;
  };
}

/** The int64 mode's form of a lastInsertId. */
export const insertId = (id: string | number | null | undefined, o: DecodeOptions) =>
  id === null || id === undefined ? null : (int64Decoder(o.int64)(id) as bigint | number | string);

/** Decodes values by `columns[].type`, in place (the wire objects are this call's own). */
export function decodeResult<Row>(w: WireResult, o: DecodeOptions, arrayRows: boolean): QueryResult<Row> {
  const cols = w.columns ?? [];
  const decode = rowDecoder(cols, o, arrayRows);
  for (const row of w.rows) decode(row);
  return {
    columns: cols,
    rows: w.rows as Row[],
    rowCount: w.rowCount,
    affectedRows: w.affectedRows,
    lastInsertId: insertId(w.lastInsertId, o),
    command: w.command,
    durationMs: w.durationMs,
  };
}

/** The server's `int64` option for a client mode: numbers where safe, so fewer strings to convert. */
export const wireInt64 = (mode: Int64Mode) => (mode === 'string' ? 'string' : 'auto');
