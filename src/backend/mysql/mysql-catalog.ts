import { TIMESTAMP_COMMENT } from './mysql-types.js';

/**
 * Which DATETIME columns are the gateway's TIMESTAMP columns (`DATETIME(6) COMMENT 'sqlgate:TIMESTAMP'`).
 * Result metadata cannot say, so the catalog is asked once per table and the answer cached: until a DDL
 * statement runs through this backend, or for `ttlMs` at most (DDL from elsewhere is seen after that).
 */
export class TimestampCatalog {
  private readonly tables = new Map<string, { columns: Set<string>; at: number }>();

  constructor(private readonly ttlMs = 60_000) {}

  static key(schema: string, table: string): string {
    return `${schema}.${table}`;
  }

  /** The marked columns of a table, or undefined when the catalog has not been asked (recently). */
  get(schema: string, table: string): Set<string> | undefined {
    const key = TimestampCatalog.key(schema, table);
    const hit = this.tables.get(key);
    if (!hit) return undefined;
    if (performance.now() - hit.at > this.ttlMs) {
      this.tables.delete(key);
      return undefined;
    }
    return hit.columns;
  }

  set(schema: string, table: string, columns: Set<string>): void {
    // Bounded: a gateway in front of thousands of tables keeps the most recent ones.
    if (this.tables.size >= 10_000) this.tables.delete(this.tables.keys().next().value as string);
    this.tables.set(TimestampCatalog.key(schema, table), { columns, at: performance.now() });
  }

  clear(): void {
    this.tables.clear();
  }

  /** The look-up for some tables: `[sql, params]`, one row (schema, table, column) per marked column. */
  static query(tables: Array<[string, string]>): [string, string[]] {
    const where = tables.map(() => '(TABLE_SCHEMA = ? AND TABLE_NAME = ?)').join(' OR ');
    return [
      'SELECT TABLE_SCHEMA, TABLE_NAME, COLUMN_NAME FROM information_schema.COLUMNS ' +
        `WHERE DATA_TYPE = 'datetime' AND COLUMN_COMMENT LIKE '${TIMESTAMP_COMMENT}%' AND (${where})`,
      tables.flat(),
    ];
  }
}
