import { eq, relations, sql } from 'drizzle-orm';
import { blob, customType, integer, real, sqliteTable, text } from 'drizzle-orm/sqlite-core';
import { drizzle } from 'drizzle-orm/sqlite-proxy';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sqliteBatch, sqliteProxy, withTransaction } from '../../src/drizzle/index.js';
import { type Client, createClient } from '../../src/index.js';
import { type Gateway, startGateway, uniqueName } from '../gateway.js';
import { BIG, BYTES, causeOf, ROW_TYPES } from './fixtures.js';

/** drizzle-orm/sqlite-proxy (with its batch callback) over the gateway's SQLite backend, with the real drizzle-orm. */
const gw: Gateway = await startGateway();
afterAll(() => gw.stop());

// Column types drizzle's sqlite-core lacks, declared so the gateway reads the GenericType of docs/types.md.
const text64 = customType<{ data: bigint; driverData: bigint | number }>({
  dataType: () => 'BIGINT',
  fromDriver: (v) => BigInt(v),
});
const declared = (type: string) => customType<{ data: string; driverData: string }>({ dataType: () => type });
const jsonCol = customType<{ data: unknown; driverData: string }>({
  dataType: () => 'JSON',
  toDriver: (v) => JSON.stringify(v),
  fromDriver: (v) => JSON.parse(v),
});
const U = uniqueName('dz_users');
const P = uniqueName('dz_posts');
const T = uniqueName('dz_types');
const users = sqliteTable(U as 'users', {
  id: integer('id').primaryKey({ autoIncrement: true }),
  name: text('name').notNull().unique(),
  big: text64('big'),
  balance: declared('DECIMAL_TEXT')('balance'),
});
const posts = sqliteTable(P as 'posts', {
  id: integer('id').primaryKey(),
  userId: integer('user_id').notNull(),
  title: text('title').notNull(),
});
const types = sqliteTable(T as 'types', {
  id: integer('id').primaryKey(),
  bool: integer('bool', { mode: 'boolean' }),
  small: integer('small'),
  big: text64('big'),
  dec: declared('DECIMAL_TEXT')('dec'),
  dbl: real('dbl'),
  txt: text('txt'),
  bytes: blob('bytes', { mode: 'buffer' }),
  day: declared('DATE')('day'),
  clock: declared('TIME')('clock'),
  local: declared('DATETIME')('local'),
  instant: declared('TIMESTAMPTZ')('instant'),
  ms: integer('ms', { mode: 'timestamp_ms' }),
  doc: jsonCol('doc'),
  docText: text('doc_text', { mode: 'json' }),
  id2: declared('UUID')('id2'),
});
const usersRelations = relations(users, ({ many }) => ({ posts: many(posts) }));
const postsRelations = relations(posts, ({ one }) => ({
  author: one(users, { fields: [posts.userId], references: [users.id] }),
}));
const schema = { users, posts, types, usersRelations, postsRelations };

describe('drizzle sqlite-proxy on sqlite', () => {
  let c: Client;
  const bind = (q: Parameters<typeof sqliteProxy>[0]) => drizzle(sqliteProxy(q), sqliteBatch(q), { schema });
  let db: ReturnType<typeof bind>;
  beforeAll(async () => {
    c = createClient({ url: gw.url, backend: 'sqlite' });
    db = bind(c);
    await c.execute(
      `CREATE TABLE ${U} (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL UNIQUE, big BIGINT, balance DECIMAL_TEXT)`,
    );
    await c.execute(`CREATE TABLE ${P} (id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL, title TEXT NOT NULL)`);
    await c.execute(
      `CREATE TABLE ${T} (id INTEGER PRIMARY KEY, bool INTEGER, small INTEGER, big BIGINT, dec DECIMAL_TEXT, dbl REAL,
       txt TEXT, bytes BLOB, day DATE, clock TIME, local DATETIME, instant TIMESTAMPTZ, ms INTEGER, doc JSON,
       doc_text TEXT, id2 UUID)`,
    );
  });

  it('does CRUD with returning; INTEGER ids are numbers, BIGINT above 2^53 exact', async () => {
    const [ann] = await db.insert(users).values({ name: 'ann', big: BIG, balance: '12.30' }).returning();
    expect(ann).toEqual({ id: expect.any(Number), name: 'ann', big: BIG, balance: '12.30' });
    const run = (await db.insert(users).values({ name: 'bob' }).run()) as unknown as { changes: number; lastInsertRowid: number };
    expect(run).toMatchObject({ changes: 1, lastInsertRowid: (ann?.id as number) + 1 });
    const one = await db.select({ name: users.name }).from(users).where(eq(users.id, ann!.id)).get();
    expect(one).toEqual({ name: 'ann' });
    expect(await db.select().from(users).where(eq(users.id, -1)).get()).toBeUndefined();
    expect(await db.values(sql`SELECT ${users.name}, ${users.big} FROM ${users} WHERE ${users.id} = ${ann!.id}`)).toEqual([
      ['ann', BIG],
    ]);
    await db.update(users).set({ name: 'anne' }).where(eq(users.id, ann!.id));
    expect(await db.all(sql`SELECT name FROM ${users} WHERE id = ${ann!.id}`)).toEqual([['anne']]);
    await db.delete(users).where(eq(users.id, ann!.id));
    expect(await db.select().from(users).where(eq(users.id, ann!.id))).toEqual([]);
  });

  it('round-trips every docs/types.md type exactly', async () => {
    const row = {
      id: 1,
      bool: true,
      small: -32768,
      big: ROW_TYPES.big,
      dec: ROW_TYPES.dec,
      dbl: ROW_TYPES.dbl,
      txt: ROW_TYPES.txt,
      bytes: BYTES,
      day: '2024-02-29',
      clock: '23:59:59.123456',
      local: '2024-02-29T23:59:59.123456',
      instant: '2024-02-29T23:59:59.123456+00:00',
      ms: new Date('2024-02-29T23:59:59.123Z'),
      doc: { ...ROW_TYPES.doc, s: '123' },
      docText: '123',
      id2: ROW_TYPES.uuid,
    };
    await db.insert(types).values({ ...row, bytes: Buffer.from(BYTES) }); // blob mode "buffer" is typed as Buffer
    const [back] = await db.select().from(types).where(eq(types.id, 1));
    expect({ ...back, bytes: new Uint8Array(back?.bytes ?? []) }).toEqual(row);
  });

  it('runs relational queries with `with:` both ways', async () => {
    const [u] = await db.insert(users).values({ name: 'rel', balance: '1.50' }).returning();
    await db.insert(posts).values([
      { id: 10, userId: u!.id, title: 'first' },
      { id: 11, userId: u!.id, title: 'second' },
    ]);
    const found = await db.query.users.findFirst({
      where: eq(users.id, u!.id),
      columns: { name: true, balance: true },
      with: { posts: { columns: { id: true, title: true }, orderBy: (p, { asc }) => asc(p.id) } },
    });
    expect(found).toEqual({
      name: 'rel',
      balance: '1.50',
      posts: [
        { id: 10, title: 'first' },
        { id: 11, title: 'second' },
      ],
    });
    const post = await db.query.posts.findFirst({ where: eq(posts.id, 11), with: { author: { columns: { name: true } } } });
    expect(post).toEqual({ id: 11, userId: u!.id, title: 'second', author: { name: 'rel' } });
  });

  it('db.batch runs atomically through the batch callback: a failing statement leaves nothing', async () => {
    const [a, b] = await db.batch([
      db.insert(users).values({ name: 'batch-1' }).returning({ name: users.name }),
      db.select({ n: sql<number>`count(*)` }).from(users).where(eq(users.name, 'batch-1')),
    ]);
    expect(a).toEqual([{ name: 'batch-1' }]);
    expect(b).toEqual([{ n: 1 }]);
    const err = await db
      .batch([db.insert(users).values({ name: 'batch-2' }), db.insert(users).values({ name: 'batch-1' })])
      .catch((e: unknown) => e);
    expect(causeOf(err)).toMatchObject({ code: 'UNIQUE_VIOLATION' });
    expect(await db.select().from(users).where(eq(users.name, 'batch-2'))).toEqual([]);
  });

  it('commits, rolls back and nests savepoints through withTransaction', async () => {
    await withTransaction(c, bind, async (tx) => {
      await tx.insert(users).values({ name: 'tx-commit' });
    });
    await expect(
      withTransaction(c, bind, async (tx) => {
        await tx.insert(users).values({ name: 'tx-rollback' });
        throw new Error('undo');
      }),
    ).rejects.toThrow('undo');
    await withTransaction(c, bind, async (tx, s) => {
      await tx.insert(users).values({ name: 'tx-outer' });
      await expect(
        s.savepoint(async () => {
          await tx.insert(users).values({ name: 'tx-inner' });
          throw new Error('inner');
        }),
      ).rejects.toThrow('inner');
    });
    const names = (await db.select({ name: users.name }).from(users)).map((r) => r.name).filter((n) => n.startsWith('tx-'));
    expect(names.sort()).toEqual(['tx-commit', 'tx-outer']);
  });

  it('a unique violation inside a transaction is coded and leaves no row', async () => {
    await db.insert(users).values({ name: 'dup' });
    const err = await withTransaction(c, bind, async (tx) => {
      await tx.insert(users).values({ name: 'dup-partner' });
      await tx.insert(users).values({ name: 'dup' });
    }).catch((e: unknown) => e);
    expect(causeOf(err)).toMatchObject({ code: 'UNIQUE_VIOLATION', class: 'IntegrityError' });
    expect(await db.select().from(users).where(eq(users.name, 'dup-partner'))).toEqual([]);
  });

  it("drizzle's own db.transaction on the autocommit callback is refused before BEGIN is sent: no row committed", async () => {
    const err = await db
      .transaction(async (tx) => {
        await tx.insert(users).values({ name: 'naive' });
      })
      .catch((e: unknown) => e);
    expect(causeOf(err)).toMatchObject({ code: 'INVALID_TRANSACTION_STATE', class: 'TransactionError', status: 0 });
    expect(await db.select().from(users).where(eq(users.name, 'naive'))).toEqual([]);
  });
});
