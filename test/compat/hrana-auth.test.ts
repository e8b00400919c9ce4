import { createClient } from '@libsql/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempSqliteFile } from '../helpers/backends.js';
import { type ServedApp, serveTestApp } from './serve.js';

/**
 * Auth on the Hrana endpoints with the real @libsql/client: API keys as authToken, read-only principals on
 * every path a client takes (the one-shot execute that runs as /v1/execute does, batch, transaction,
 * cursor-free v2 streams), and a missing or wrong token.
 */

const RW = 'hrana-rw-key-0123456789abcdef';
const RO = 'hrana-ro-key-0123456789abcdef';
/** The code of a refused write: the gateway's READ_ONLY_VIOLATION, or SQLite's own SQLITE_READONLY. */
const READ_ONLY = expect.stringMatching(/^(READ_ONLY_VIOLATION|SQLITE_READONLY)$/);

describe('Hrana auth and read-only principals (SQLite)', () => {
  let s: ServedApp;
  beforeAll(async () => {
    s = await serveTestApp({
      auth: {
        apiKeys: [
          { name: 'rw', key: RW },
          { name: 'ro', key: RO, readOnly: true },
        ],
      },
      backends: { main: { driver: 'sqlite', database: tempSqliteFile() } },
    });
    const c = createClient({ url: s.url, authToken: RW });
    await c.execute('CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)');
    await c.execute("INSERT INTO t VALUES (1, 'a')");
    c.close();
  });
  afterAll(async () => {
    expect(s.app.sessions.size).toBe(0);
    await s?.close();
  });

  const count = async () => {
    const c = createClient({ url: s.url, authToken: RW });
    const n = (await c.execute('SELECT COUNT(*) AS n FROM t')).rows[0]?.n;
    c.close();
    return n;
  };

  it('a read-only key reads, and every write path is refused', async () => {
    const ro = createClient({ url: s.url, authToken: RO });
    expect((await ro.execute('SELECT v FROM t WHERE id = 1')).rows[0]?.v).toBe('a');
    const one = await ro.execute("INSERT INTO t VALUES (2, 'no')").catch((e: unknown) => e);
    expect(one).toMatchObject({ name: 'LibsqlError', code: READ_ONLY });
    await expect(ro.batch(["INSERT INTO t VALUES (3, 'no')"], 'write')).rejects.toMatchObject({
      code: READ_ONLY,
    });
    const tx = await ro.transaction('write').catch((e: unknown) => e);
    if (!(tx instanceof Error)) {
      await expect(
        (tx as Awaited<ReturnType<typeof ro.transaction>>).execute("INSERT INTO t VALUES (4, 'no')"),
      ).rejects.toMatchObject({ code: READ_ONLY });
      (tx as Awaited<ReturnType<typeof ro.transaction>>).close();
    }
    await expect(ro.executeMultiple("INSERT INTO t VALUES (5, 'no');")).rejects.toMatchObject({
      code: READ_ONLY,
    });
    ro.close();
    expect(await count()).toBe(1);
  });

  it('a missing or wrong token is a coded 401', async () => {
    for (const authToken of [undefined, 'wrong-key-0123456789abcdef']) {
      const c = createClient({ url: s.url, authToken });
      await expect(c.execute('SELECT 1')).rejects.toMatchObject({
        name: 'LibsqlError',
        code: 'UNAUTHORIZED',
      });
      c.close();
    }
  });
});
