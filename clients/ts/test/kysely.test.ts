import { type Generated, Kysely, sql } from 'kysely';
import { type Migration, Migrator } from 'kysely/migration';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Client, createClient, decimal, SqlgateError } from '../src/index.js';
import { pinSession, SqlgateDialect } from '../src/kysely/index.js';
import { DDL, SUFFIX } from './ddl.js';
import { type Db, type Gateway, startGateway, uniqueName } from './gateway.js';

/** SqlgateDialect with the real kysely on all three databases through a real gateway. */
const gw: Gateway = await startGateway();
afterAll(() => gw.stop());

const BYTES = new Uint8Array(Array.from({ length: 256 }, (_, i) => i));
const DIALECT = { sqlite: 'sqlite', postgres: 'postgres', mysql: 'mysql' } as const;

interface Tables {
  [name: string]: { id: Generated<number | bigint>; name: string; big: bigint | null; user_id?: number | bigint };
}

describe.each(['sqlite', 'postgres', 'mysql'] as Db[])('kysely SqlgateDialect on %s', (db) => {
  if (!gw.dbs.includes(db)) {
    it.skip(`skipped: ${gw.skipped[db]}`, () => {});
    return;
  }
  let c: Client;
  let k: Kysely<Tables>;
  const users = uniqueName('ky_users');
  const posts = uniqueName('ky_posts');
  const types = uniqueName('ky_types');
  const T = DDL[db];
  const returning = db !== 'mysql';
  const names = async () =>
    (await k.selectFrom(users).select('name').orderBy('name').execute()).map((r) => r.name).filter((n) => n.startsWith('tx-'));

  beforeAll(async () => {
    c = createClient({ url: gw.url, backend: db });
    k = new Kysely<Tables>({ dialect: new SqlgateDialect({ client: c, dialect: DIALECT[db], queryOptions: { int64: 'bigint' } }) });
    const id = db === 'postgres' ? 'bigserial' : db === 'mysql' ? 'bigint' : 'integer';
    await k.schema
      .createTable(users)
      .addColumn('id', id, (col) => {
        const pk = col.primaryKey();
        return db === 'mysql' ? pk.autoIncrement() : db === 'sqlite' ? pk.autoIncrement() : pk;
      })
      .addColumn('name', 'varchar(100)', (col) => col.notNull().unique())
      .addColumn('big', 'bigint')
      .execute();
    await k.schema
      .createTable(posts)
      .addColumn('id', 'integer', (col) => col.primaryKey())
      .addColumn('user_id', 'bigint', (col) => col.notNull())
      .addColumn('name', 'varchar(100)', (col) => col.notNull())
      .execute();
    await c.execute(
      `CREATE TABLE ${types} (${Object.entries(T)
        .map(([k2, v]) => `c_${k2.toLowerCase()} ${v}`)
        .join(', ')})${SUFFIX[db]}`,
    );
  });
  afterAll(async () => {
    for (const t of [posts, users, types]) await k?.schema.dropTable(t).ifExists().execute();
    await k?.destroy();
  });

  it('builds the schema and introspects it with kysely’s own introspector', async () => {
    const tables = await k.introspection.getTables();
    const u = tables.find((t) => t.name === users);
    expect(u?.columns.map((col) => col.name).sort()).toEqual(['big', 'id', 'name']);
    expect(u?.columns.find((col) => col.name === 'id')?.isAutoIncrementing).toBe(true);
    expect(u?.columns.find((col) => col.name === 'name')).toMatchObject({ isNullable: false, isAutoIncrementing: false });
  });

  it('does CRUD: insertId and row counts are bigints, returning where the database has it', async () => {
    const ins = await k.insertInto(users).values({ name: 'ann', big: 9007199254740993n }).executeTakeFirstOrThrow();
    expect(ins.numInsertedOrUpdatedRows).toBe(1n);
    let id: bigint;
    if (db === 'postgres') {
      expect(ins.insertId).toBeUndefined();
      id = BigInt((await k.selectFrom(users).select('id').where('name', '=', 'ann').executeTakeFirstOrThrow()).id);
    } else {
      expect(typeof ins.insertId).toBe('bigint');
      id = ins.insertId as bigint;
    }
    if (returning) {
      const r = await k.insertInto(users).values({ name: 'bob' }).returning(['id', 'name', 'big']).executeTakeFirstOrThrow();
      expect(r).toEqual({ id: id + 1n, name: 'bob', big: null });
    }
    await k.insertInto(posts).values({ id: 1, user_id: id, name: 'hello' }).execute();
    const joined = await k
      .selectFrom(users)
      .innerJoin(posts, `${posts}.user_id`, `${users}.id`)
      .select([`${users}.name as author`, `${posts}.name as title`, `${users}.big`])
      .where(`${users}.id`, '=', id)
      .execute();
    expect(joined).toEqual([{ author: 'ann', title: 'hello', big: 9007199254740993n }]);
    const up = await k.updateTable(users).set({ name: 'anne' }).where('id', '=', id).executeTakeFirstOrThrow();
    expect(up.numUpdatedRows).toBe(1n);
    const del = await k.deleteFrom(users).where('name', 'in', ['anne', 'bob']).executeTakeFirstOrThrow();
    expect(del.numDeletedRows).toBe(returning ? 2n : 1n);
    expect(await k.selectFrom(users).selectAll().where('id', '=', id).execute()).toEqual([]);
  });

  it('round-trips every docs/types.md type exactly', async () => {
    const tag = (type: string, value: string) => ({ $type: type, value });
    const row: Record<string, unknown> = {
      c_boolean: true,
      c_smallint: -32768,
      c_integer: 2147483647,
      c_bigint: 9223372036854775807n,
      c_decimal: decimal('12345678901234567890.0123456789'),
      c_double: 1.5e-300,
      c_varchar: 'héllo ☃ "q" \\',
      c_text: 'x'.repeat(5000),
      c_blob: BYTES,
      c_date: tag('DATE', '2024-02-29'),
      c_time: tag('TIME', '23:59:59.123456'),
      c_datetime: tag('DATETIME', '2024-02-29T23:59:59.123456'),
      c_timestamp: tag('TIMESTAMP', '2024-02-29T23:59:59.123456+00:00'),
      c_json: { a: [1, 'two', null, true], b: { c: 'd' } },
      c_uuid: tag('UUID', '123e4567-e89b-12d3-a456-426614174000'),
    };
    // biome-ignore lint/suspicious/noExplicitAny: an untyped table
    await (k as Kysely<any>).insertInto(types).values(row).execute();
    // biome-ignore lint/suspicious/noExplicitAny: an untyped table
    const got = await (k as Kysely<any>).selectFrom(types).selectAll().executeTakeFirstOrThrow();
    expect(got).toEqual({
      ...row,
      c_decimal: '12345678901234567890.0123456789',
      c_date: '2024-02-29',
      c_time: '23:59:59.123456',
      c_datetime: '2024-02-29T23:59:59.123456',
      c_timestamp: '2024-02-29T23:59:59.123456+00:00',
      c_uuid: '123e4567-e89b-12d3-a456-426614174000',
    });
    expect(got.c_blob).toBeInstanceOf(Uint8Array);
  });

  it('runs db.transaction() on one session: invisible outside until commit, rolled back on throw', async () => {
    await k.transaction().execute(async (trx) => {
      await trx.insertInto(users).values({ name: 'tx-commit', big: null }).execute();
      const inside = await trx.selectFrom(users).select('name').where('name', '=', 'tx-commit').execute();
      expect(inside).toHaveLength(1);
      if (db !== 'sqlite') {
        // another connection does not see the uncommitted row (SQLite's writer would block the reader instead)
        expect(await k.selectFrom(users).select('name').where('name', '=', 'tx-commit').execute()).toEqual([]);
      }
    });
    await expect(
      k.transaction().execute(async (trx) => {
        await trx.insertInto(users).values({ name: 'tx-rollback', big: null }).execute();
        throw new Error('undo');
      }),
    ).rejects.toThrow('undo');
    expect(await names()).toEqual(['tx-commit']);
  });

  it('nests savepoints in a controlled transaction and honours the isolation level', async () => {
    const level = db === 'sqlite' ? undefined : 'serializable';
    const builder = level ? k.startTransaction().setIsolationLevel(level) : k.startTransaction();
    const trx = await builder.execute();
    await trx.insertInto(users).values({ name: 'tx-outer', big: null }).execute();
    if (db === 'postgres') {
      const iso = await sql<{ transaction_isolation: string }>`SHOW transaction_isolation`.execute(trx);
      expect(iso.rows).toEqual([{ transaction_isolation: 'serializable' }]);
    }
    const sp = await trx.savepoint('before inner').execute();
    await sp.insertInto(users).values({ name: 'tx-inner', big: null }).execute();
    await sp.rollbackToSavepoint('before inner').execute();
    const sp2 = await sp.savepoint('kept').execute();
    await sp2.insertInto(users).values({ name: 'tx-kept', big: null }).execute();
    await sp2.releaseSavepoint('kept').execute();
    await trx.commit().execute();
    expect(await names()).toEqual(['tx-commit', 'tx-kept', 'tx-outer']);
    await expect(trx.selectFrom(users).selectAll().execute()).rejects.toThrow();
  });

  it('a unique violation inside a transaction is a coded SqlgateError and leaves no row', async () => {
    const err = await k
      .transaction()
      .execute(async (trx) => {
        await trx.insertInto(users).values({ name: 'tx-partner', big: null }).execute();
        await trx.insertInto(users).values({ name: 'tx-commit', big: null }).execute();
      })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SqlgateError);
    expect(err).toMatchObject({ code: 'UNIQUE_VIOLATION', class: 'IntegrityError', status: 409 });
    expect(await names()).toEqual(['tx-commit', 'tx-kept', 'tx-outer']);
    const raw = await sql<{ n: bigint }>`SELECT COUNT(*) AS n FROM ${sql.table(users)}`.execute(k);
    expect(raw.rows[0]?.n).toBe(3n);
  });

  it('pinSession() keeps db.connection() on one session: a temporary table lives across its statements', async () => {
    const tmp = uniqueName('ky_tmp');
    const n = await k.connection().execute(async (conn) => {
      await pinSession(conn);
      await sql`CREATE TEMPORARY TABLE ${sql.table(tmp)} (id INTEGER)`.execute(conn);
      await sql`INSERT INTO ${sql.table(tmp)} (id) VALUES (1), (2)`.execute(conn);
      if (db !== 'sqlite') {
        // the autocommit endpoints run elsewhere: the pinned connection is not in the pool while pinned
        // (on SQLite the gateway's session holds the database's one writer, so a reader would wait for it)
        const outside = await sql`SELECT COUNT(*) AS n FROM ${sql.table(tmp)}`.execute(k).catch((e: unknown) => e);
        expect(outside).toMatchObject({ code: 'UNDEFINED_OBJECT' });
      }
      await conn.transaction().execute(async (trx) => {
        await sql`INSERT INTO ${sql.table(tmp)} (id) VALUES (3)`.execute(trx);
      });
      return (await sql<{ n: bigint }>`SELECT COUNT(*) AS n FROM ${sql.table(tmp)}`.execute(conn)).rows[0]?.n;
    });
    expect(n).toBe(3n);
    // the session ended with the connection: the temporary table is gone
    const after = await sql`SELECT COUNT(*) AS n FROM ${sql.table(tmp)}`.execute(k).catch((e: unknown) => e);
    expect(after).toMatchObject({ code: 'UNDEFINED_OBJECT' });
  });

  it("runs kysely's Migrator twice (its lock is taken and released on one session)", async () => {
    const table = uniqueName('ky_migrated');
    const migrations: Record<string, Migration> = {
      '001_create': {
        // biome-ignore lint/suspicious/noExplicitAny: migrations are untyped
        up: async (m: Kysely<any>) => {
          await m.schema.createTable(table).addColumn('id', 'integer', (col) => col.primaryKey()).execute();
        },
      },
      '002_row': {
        // biome-ignore lint/suspicious/noExplicitAny: migrations are untyped
        up: async (m: Kysely<any>) => {
          await m.insertInto(table).values({ id: 7 }).execute();
        },
      },
    };
    const prefix = uniqueName('ky_mig');
    const migrator = new Migrator({
      db: k,
      provider: { getMigrations: async () => migrations },
      migrationTableName: `${prefix}_log`,
      migrationLockTableName: `${prefix}_lock`,
    });
    try {
      const first = await migrator.migrateToLatest();
      expect(first.error).toBeUndefined();
      expect(first.results?.map((r) => [r.migrationName, r.status])).toEqual([
        ['001_create', 'Success'],
        ['002_row', 'Success'],
      ]);
      if (db === 'mysql') {
        // kysely's GET_LOCK was released on the connection that took it: nobody holds it now
        const lock = await sql<{ u: unknown }>`SELECT IS_USED_LOCK('ea586330-2c93-47c8-908d-981d9d270f9d') AS u`.execute(k);
        expect(lock.rows).toEqual([{ u: null }]);
      }
      const second = await migrator.migrateToLatest();
      expect(second).toEqual({ error: undefined, results: [] });
      // biome-ignore lint/suspicious/noExplicitAny: an untyped table
      expect(await (k as Kysely<any>).selectFrom(table).selectAll().execute()).toEqual([{ id: db === 'sqlite' ? 7n : 7 }]) // SQLite's INTEGER is 64-bit: BIGINT;
    } finally {
      for (const t of [table, `${prefix}_log`, `${prefix}_lock`]) await k.schema.dropTable(t).ifExists().execute();
    }
  });

  it('refuses an isolation level the gateway does not have, before any request', async () => {
    const err = await k
      .transaction()
      .setIsolationLevel('snapshot')
      .execute(async () => {})
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'UNSUPPORTED_FEATURE', status: 0 });
  });
});
