import { describe, expect, it } from 'vitest';
import { TransactionManager } from '../../src/backend/transaction-manager.js';
import type { Config } from '../../src/config.js';
import type { SqlgateError } from '../../src/errors.js';
import { type BatchInput, runBatch } from '../../src/query/batch.js';
import { FakeBackend, type FakeConnection, fakeDialect } from './session-fakes.js';

/** The batch runner on a fake connection: which SQL it sends, in which order, on every path. */

const limits: Config['limits'] = {
  maxRows: 1000,
  maxResponseBytes: 1 << 20,
  statementTimeoutMs: 0,
  maxStatementTimeoutMs: 0,
  maxBatchStatements: 5,
} as Config['limits'];

async function conn(setup?: (c: FakeConnection) => void): Promise<FakeConnection> {
  const backend = new FakeBackend();
  backend.connectionSetup = setup;
  return backend.acquire();
}

const stmts = (...sql: string[]): BatchInput => ({ statements: sql.map((s) => ({ sql: s })) });

async function failure(p: Promise<unknown>): Promise<SqlgateError> {
  try {
    await p;
  } catch (err) {
    return err as SqlgateError;
  }
  throw new Error('expected a failure');
}

describe('runBatch', () => {
  it('wraps a transactional batch in BEGIN ... COMMIT', async () => {
    const c = await conn();
    const out = await runBatch(
      c,
      { ...stmts('SELECT 1', 'SELECT 2'), isolationLevel: 'SERIALIZABLE' },
      { limits },
    );
    expect(out.results).toHaveLength(2);
    expect(c.log).toEqual(['BEGIN SERIALIZABLE', 'SELECT 1', 'SELECT 2', 'COMMIT']);
  });

  it('rolls back on the first failure and reports its statementIndex', async () => {
    const c = await conn();
    const err = await failure(runBatch(c, stmts('SELECT 1', 'FAIL', 'SELECT 3'), { limits }));
    expect(err.code).toBe('QUERY_FAILED');
    expect(err.details.statementIndex).toBe(1);
    expect(c.log).toEqual(['BEGIN', 'SELECT 1', 'FAIL', 'ROLLBACK']);
  });

  it('inside an open transaction takes a savepoint and rolls back to it on failure', async () => {
    const c = await conn();
    const tm = new TransactionManager(c);
    await tm.begin();
    const ok = await runBatch(c, stmts('SELECT 1'), { limits }, tm);
    expect(ok.results).toHaveLength(1);
    const err = await failure(runBatch(c, stmts('SELECT 2', 'FAIL'), { limits }, tm));
    expect(err.details.statementIndex).toBe(1);
    const sp = c.log.filter((l) => l.startsWith('SAVEPOINT')).map((l) => l.slice('SAVEPOINT '.length));
    expect(sp).toHaveLength(2);
    expect(c.log).toEqual([
      'BEGIN',
      `SAVEPOINT ${sp[0]}`,
      'SELECT 1',
      `RELEASE SAVEPOINT ${sp[0]}`,
      `SAVEPOINT ${sp[1]}`,
      'SELECT 2',
      'FAIL',
      `ROLLBACK TO SAVEPOINT ${sp[1]}`,
      `RELEASE SAVEPOINT ${sp[1]}`,
    ]);
    expect(tm.openSavepoints).toEqual([]);
    const iso = await failure(runBatch(c, { ...stmts('SELECT 1'), readOnly: true }, { limits }, tm));
    expect(iso.code).toBe('INVALID_TRANSACTION_STATE');
  });

  it('autocommit mode stops at the first failure with the results so far, or goes on', async () => {
    const c = await conn();
    const stop = await runBatch(
      c,
      { ...stmts('SELECT 1', 'FAIL', 'SELECT 3'), transaction: false },
      { limits },
    );
    expect(stop.results).toHaveLength(2);
    expect((stop.results[1] as { error: SqlgateError }).error.details.statementIndex).toBe(1);
    const all = await runBatch(
      c,
      { ...stmts('SELECT 1', 'FAIL', 'SELECT 3'), transaction: false, continueOnError: true },
      { limits },
    );
    expect(all.results).toHaveLength(3);
    expect(c.log).not.toContain('BEGIN');
  });

  it('refuses transaction control, and DDL where the dialect has no transactional DDL', async () => {
    const c = await conn();
    const tx = await failure(runBatch(c, stmts('SELECT 1', '  /* x */ commit'), { limits }));
    expect(tx.code).toBe('BAD_REQUEST');
    expect(tx.details.statementIndex).toBe(1);
    const mysqlish = await conn((x) => {
      Object.defineProperty(x, 'dialect', {
        value: { ...fakeDialect, capabilities: { ...fakeDialect.capabilities, transactionalDdl: false } },
      });
    });
    const ddl = await failure(runBatch(mysqlish, stmts('CREATE TABLE t (id INT)'), { limits }));
    expect(ddl.code).toBe('BAD_REQUEST');
    const temp = await runBatch(mysqlish, stmts('CREATE TEMPORARY TABLE t (id INT)'), { limits });
    expect(temp.results).toHaveLength(1);
    const auto = await runBatch(
      mysqlish,
      { ...stmts('CREATE TABLE t (id INT)'), transaction: false },
      { limits },
    );
    expect(auto.results).toHaveLength(1);
    expect(c.log).toEqual([]);
  });

  it('checks the batch size and shape before touching the connection', async () => {
    const c = await conn();
    const many = stmts('SELECT 1', 'SELECT 1', 'SELECT 1', 'SELECT 1', 'SELECT 1', 'SELECT 1');
    expect((await failure(runBatch(c, many, { limits }))).message).toContain('maxBatchStatements');
    const mixed = { sql: 'SELECT ?', paramSets: [[1], { a: 1 }] } as BatchInput;
    const shape = await failure(runBatch(c, mixed, { limits }));
    expect(shape.code).toBe('PARAM_INVALID');
    expect(shape.details.statementIndex).toBe(1);
    expect(c.log).toEqual([]);
  });

  it('sends the bulk form through executeMany inside a transaction, named sets in placeholder order', async () => {
    const c = await conn();
    const seen: unknown[] = [];
    const original = c.executeMany.bind(c);
    c.executeMany = async (sql, sets, opts) => {
      seen.push(sql, sets);
      return original(sql, sets, opts);
    };
    const out = await runBatch(
      c,
      {
        sql: 'INSERT INTO t VALUES (:b, :a)',
        paramSets: [
          { a: 1, b: 'x' },
          { b: 'y', a: 2 },
        ],
      },
      { limits },
    );
    expect(out.results).toHaveLength(2);
    expect(seen[0]).toBe('INSERT INTO t VALUES (?, ?)');
    expect(seen[1]).toEqual([
      [
        { type: 'TEXT', value: 'x' },
        { type: 'INTEGER', value: 1 },
      ],
      [
        { type: 'TEXT', value: 'y' },
        { type: 'INTEGER', value: 2 },
      ],
    ]);
    expect(c.log[0]).toBe('BEGIN');
    expect(c.log.at(-1)).toBe('COMMIT');
  });

  it('rolls back instead of committing when the client went away', async () => {
    const c = await conn();
    const abort = new AbortController();
    c.executeMany = async () => {
      abort.abort();
      return [];
    };
    const err = await failure(
      runBatch(c, { sql: 'INSERT INTO t VALUES (?)', paramSets: [[1]] }, { limits, signal: abort.signal }),
    );
    expect(err.code).toBe('STATEMENT_TIMEOUT');
    expect(c.log).toEqual(['BEGIN', 'ROLLBACK']);
  });
});
