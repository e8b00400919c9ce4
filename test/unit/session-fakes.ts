import type { Dialect } from '../../src/backend/dialect.js';
import type { Connection, PoolStats, StorageBackend, TxStatus } from '../../src/backend/storage-backend.js';
import {
  type ExecOptions,
  GENERIC_TYPES,
  type GenericType,
  type QueryResult,
  type Statement,
} from '../../src/backend/types.js';
import { SqlgateError } from '../../src/errors.js';

/** Fakes for the session store's unit tests: no database, every call recorded. */

export const fakeDialect: Dialect = {
  name: 'fake',
  capabilities: {
    returning: true,
    savepoints: true,
    isolationLevels: ['READ COMMITTED', 'SERIALIZABLE'],
    readOnlyTransactions: true,
    deferrable: false,
    transactionalDdl: true,
    arrays: false,
    placeholderStyle: 'question',
  },
  lexer: {
    backslashEscapes: false,
    doubleQuoteIsString: false,
    dollarQuotes: false,
    hashComments: false,
    nestedBlockComments: false,
    bracketIdentifiers: false,
    numberedPlaceholders: false,
  },
  placeholder: () => '?',
  quoteIdentifier: (n) => `"${n.replaceAll('"', '""')}"`,
  beginSql: (o) => ({ begin: [o.isolationLevel ? `BEGIN ${o.isolationLevel}` : 'BEGIN'], end: [] }),
  types: {
    toGeneric: () => 'TEXT',
    ddl: Object.fromEntries(GENERIC_TYPES.map((t) => [t, 'TEXT'])) as Record<GenericType, string>,
  },
  ddlType: () => 'TEXT',
};

export const okResult = (command = 'SELECT'): QueryResult => ({
  columns: [],
  rows: [],
  rowCount: 0,
  affectedRows: 0,
  lastInsertId: null,
  command,
  durationMs: 0,
});

/** A connection that understands BEGIN/COMMIT/ROLLBACK well enough to track its transaction status. */
export class FakeConnection implements Connection {
  readonly dialect = fakeDialect;
  readonly log: string[] = [];
  status: TxStatus = 'idle';
  released = 0;
  destroyed = false;
  /** Milliseconds each execute takes. */
  delayMs = 0;
  /** Make the next run() of this SQL prefix throw. */
  failRun: string | undefined;

  constructor(readonly backend: FakeBackend) {}

  get isClosed(): boolean {
    return this.destroyed;
  }

  private track(sql: string): void {
    const kw = sql.trim().split(/\s+/)[0]?.toUpperCase();
    if (kw === 'BEGIN') this.status = 'active';
    if (kw === 'COMMIT' || (kw === 'ROLLBACK' && !/^ROLLBACK\s+TO/i.test(sql))) this.status = 'idle';
    // As on PostgreSQL: rolling back to a savepoint clears an aborted transaction.
    if (/^ROLLBACK\s+TO/i.test(sql) && this.status === 'failed') this.status = 'active';
  }

  async execute(stmt: Statement, _opts: ExecOptions): Promise<QueryResult> {
    if (this.destroyed) throw new SqlgateError('BACKEND_UNAVAILABLE', 'closed');
    this.log.push(stmt.sql);
    if (this.delayMs) await new Promise((r) => setTimeout(r, this.delayMs));
    if (stmt.sql === 'DIE') {
      await this.destroy();
      throw new SqlgateError('BACKEND_UNAVAILABLE', 'connection lost');
    }
    if (stmt.sql === 'FAIL') {
      if (this.status === 'active') this.status = 'failed';
      throw new SqlgateError('QUERY_FAILED', 'failed on purpose');
    }
    this.track(stmt.sql);
    return okResult();
  }

  async executeMany(sql: string, sets: Statement['params'][], opts: ExecOptions): Promise<QueryResult[]> {
    const out: QueryResult[] = [];
    for (const params of sets) out.push(await this.execute({ sql, params }, opts));
    return out;
  }

  async run(sql: string): Promise<void> {
    if (this.destroyed) throw new SqlgateError('BACKEND_UNAVAILABLE', 'closed');
    this.log.push(sql);
    if (this.failRun && sql.startsWith(this.failRun)) {
      throw new SqlgateError('LOCK_TIMEOUT', 'busy');
    }
    this.track(sql);
  }

  txStatus(): TxStatus {
    return this.status;
  }

  async reset(): Promise<void> {
    this.log.push('RESET');
    this.status = 'idle';
  }

  async release(): Promise<void> {
    if (this.destroyed) return;
    await this.reset();
    this.released++;
    this.backend.inUse--;
  }

  async destroy(): Promise<void> {
    if (!this.destroyed) this.backend.inUse--;
    this.destroyed = true;
  }
}

export class FakeBackend implements StorageBackend {
  readonly driver = 'fake';
  readonly dialect = fakeDialect;
  readonly connections: FakeConnection[] = [];
  inUse = 0;
  /** Applied to every connection handed out. */
  connectionSetup: ((c: FakeConnection) => void) | undefined;

  constructor(readonly name = 'db') {}

  async connect(): Promise<void> {}
  async disconnect(): Promise<void> {}
  async ping(): Promise<void> {}
  async serverInfo() {
    return { version: 'fake 1' };
  }
  async execute(): Promise<QueryResult> {
    return okResult();
  }
  async acquire(): Promise<FakeConnection> {
    const c = new FakeConnection(this);
    this.connectionSetup?.(c);
    this.connections.push(c);
    this.inUse++;
    return c;
  }
  poolStats(): PoolStats {
    return { total: this.inUse, idle: 0, inUse: this.inUse, waiting: 0, max: 100 };
  }
}

export function backendsOf(...list: FakeBackend[]) {
  return {
    get(name: string | undefined) {
      const b = list.find((x) => x.name === (name ?? list[0]?.name));
      if (!b) throw new SqlgateError('BACKEND_NOT_FOUND', 'no such backend');
      return b;
    },
    all: () => list,
  };
}

export const SESSIONS_CONFIG = {
  idleTimeoutMs: 60_000,
  maxLifetimeMs: 900_000,
  maxOpen: 256,
  maxPerPrincipal: 64,
  tombstoneMs: 300_000,
};

export const EXEC: ExecOptions = {
  rowMode: 'object',
  int64: 'string',
  timeoutMs: 0,
  maxRows: 100,
  maxResponseBytes: 1 << 20,
};
