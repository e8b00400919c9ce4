import type { Db } from './gateway.js';

/** DDL type names per database for the types the suites round-trip (as the gateway's dialects name them). */
export const DDL: Record<Db, Record<string, string>> = {
  sqlite: {
    BOOLEAN: 'BOOLEAN', SMALLINT: 'SMALLINT', INTEGER: 'INT4', BIGINT: 'BIGINT', DECIMAL: 'DECIMAL_TEXT',
    DOUBLE: 'DOUBLE', VARCHAR: 'VARCHAR', TEXT: 'TEXT', BLOB: 'BLOB', DATE: 'DATE', TIME: 'TIME',
    DATETIME: 'DATETIME', TIMESTAMP: 'TIMESTAMPTZ', JSON: 'JSON', UUID: 'UUID',
  },
  postgres: {
    BOOLEAN: 'BOOLEAN', SMALLINT: 'SMALLINT', INTEGER: 'INTEGER', BIGINT: 'BIGINT', DECIMAL: 'NUMERIC',
    DOUBLE: 'DOUBLE PRECISION', VARCHAR: 'VARCHAR(255)', TEXT: 'TEXT', BLOB: 'BYTEA', DATE: 'DATE',
    TIME: 'TIME(6)', DATETIME: 'TIMESTAMP(6)', TIMESTAMP: 'TIMESTAMPTZ(6)', JSON: 'JSONB', UUID: 'UUID',
  },
  mysql: {
    BOOLEAN: 'TINYINT(1)', SMALLINT: 'SMALLINT', INTEGER: 'INT', BIGINT: 'BIGINT', DECIMAL: 'DECIMAL(38,10)',
    DOUBLE: 'DOUBLE', VARCHAR: 'VARCHAR(255)', TEXT: 'LONGTEXT', BLOB: 'LONGBLOB', DATE: 'DATE',
    TIME: 'TIME(6)', DATETIME: 'DATETIME(6)', TIMESTAMP: "DATETIME(6) COMMENT 'sqlgate:TIMESTAMP'", JSON: 'JSON',
    UUID: 'CHAR(36)',
  },
};

/** Positional placeholder of each database (the `sql` tag needs none). */
export const ph = (db: Db, i: number) => (db === 'postgres' ? `$${i + 1}` : '?');

export const SUFFIX: Record<Db, string> = { sqlite: '', postgres: '', mysql: ' ENGINE=InnoDB' };
