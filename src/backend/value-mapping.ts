import type { GenericType, Int64Mode, JsonNumbersMode, JsonValue, ParamValue } from './types.js';

/*
 * The ValueMapper role of the design (DESIGN.md §2): what each database's value code does, in both
 * directions. The shared, database-free half (JSON params -> ParamValue, int64/float/bytes encoders, the
 * checked `columnTypes` coercion) is value-mapper.ts; each database implements the rest in its own folder:
 *
 *   role member     PostgreSQL (postgres-values.ts)   MySQL (mysql-values.ts)   SQLite (sqlite-types.ts)
 *   toParam         toPgParam                          toMysqlParam              toSqliteParam / toWireParam
 *   columnEncoder   decoderFor + jsonEncoderFor        columnEncoder             fromSqliteValue (per value)
 *
 * Those functions are owned by the performance work (issue #16), which keeps them as plain functions on the
 * hot path; this interface states the contract they keep, and a backend for a new database implements it.
 */

/** How result values are to be encoded; from the request's ExecOptions. */
export interface ValueEncodeOptions {
  /** 64-bit integers as strings, numbers (refused when inexact) or per value (`auto`). */
  int64: Int64Mode;
  /** JSON columns: numbers kept exactly as the database's text, or every number as a string. */
  jsonNumbers: JsonNumbersMode;
  /** The type the client asked for in `columnTypes`; absent: the column's own GenericType. */
  target?: GenericType;
}

/**
 * One database's value conversion. `Bind` is what its driver binds for a parameter, `ColumnInfo` how the
 * driver describes a result column (an OID, a MySQL field packet, a declared type), `Native` one value as
 * the driver returns it. Every member throws a coded SqlgateError rather than round, truncate or guess.
 */
export interface ValueMapper<Bind, ColumnInfo, Native = unknown> {
  /**
   * A decoded parameter -> the driver's bind value. A value the database cannot store exactly (an
   * out-of-range integer, an impossible date) is refused with BAD_REQUEST naming `where` (`params[2]`).
   */
  toParam(param: ParamValue, where: string): Bind;
  /**
   * The encoder of one result column, chosen once per result and then called for every row: native value
   * -> its JSON form under `opts`. A value the requested `target` cannot hold exactly is refused.
   */
  columnEncoder(column: ColumnInfo, opts: ValueEncodeOptions): (value: Native) => JsonValue;
}
