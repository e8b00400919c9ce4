import { describe, expect, it } from 'vitest';
import { pgProxy, sqliteBatch, sqliteProxy } from '../../src/drizzle/index.js';
import { createClient, SqlgateError } from '../../src/index.js';

/** Database-free: transaction control on the autocommit client is refused before any request. */
describe('drizzle callbacks on the autocommit client', () => {
  const calls: string[] = [];
  const client = createClient({
    url: 'http://127.0.0.1:9',
    fetch: async (input) => {
      calls.push(String(input));
      throw new TypeError('no network in this test');
    },
    retry: false,
  });

  it.each([
    'BEGIN',
    'begin immediate',
    '  START TRANSACTION',
    'commit',
    'END',
    'ROLLBACK',
    'rollback to savepoint sp0',
    'savepoint sp0',
    'release savepoint sp0',
    'SET TRANSACTION ISOLATION LEVEL SERIALIZABLE',
  ])('refuses %j with INVALID_TRANSACTION_STATE and sends nothing', async (text) => {
    const err = await sqliteProxy(client)(text, [], 'run').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SqlgateError);
    expect(err).toMatchObject({ code: 'INVALID_TRANSACTION_STATE', class: 'TransactionError', status: 0 });
    await expect(pgProxy(client)(text, [], 'execute')).rejects.toMatchObject({ code: 'INVALID_TRANSACTION_STATE' });
    expect(calls).toEqual([]);
  });

  it('refuses a batch holding one, before sending any of it', async () => {
    const batch = sqliteBatch(client);
    await expect(
      batch([
        { sql: 'insert into t values (1)', params: [], method: 'run' },
        { sql: 'commit', params: [], method: 'run' },
      ]),
    ).rejects.toMatchObject({ code: 'INVALID_TRANSACTION_STATE' });
    expect(calls).toEqual([]);
  });

  it.each(['select * from beginnings', "select 'begin'", 'insert into commits values (1)', 'with x as (select 1) select * from x'])(
    'lets %j through to the gateway',
    async (text) => {
      calls.length = 0;
      const err = await sqliteProxy(client)(text, [], 'all').catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'NETWORK_ERROR' });
      expect(calls).toHaveLength(1);
    },
  );
});
