import { eq, relations, sql } from 'drizzle-orm';
import {
  bigint,
  boolean,
  customType,
  date,
  datetime,
  decimal,
  double,
  int,
  json,
  longtext,
  mysqlTable,
  serial,
  smallint,
  time,
  timestamp,
  varchar,
} from 'drizzle-orm/mysql-core';
import { drizzle } from 'drizzle-orm/mysql-proxy';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mysqlProxy, withTransaction } from '../../src/drizzle/index.js';
import { type Client, createClient } from '../../src/index.js';
import { type Gateway, startGateway, uniqueName } from '../gateway.js';
import { BIG, BYTES, causeOf, ROW_TYPES } from './fixtures.js';

/** drizzle-orm/mysql-proxy over the gateway's MySQL/MariaDB backend, with the real drizzle-orm. */
const gw: Gateway = await startGateway();
afterAll(() => gw.stop());

// drizzle's relational SQL for MySQL needs LATERAL joins ("default" mode, the only one mysql-proxy builds) or
// outer references inside derived tables ("planetscale" mode); MariaDB has neither (SQL_SYNTAX_ERROR /
// UNDEFINED_OBJECT "Unknown column 'users.id'"), so those cases run on MySQL 8 only.
const version = gw.dbs.includes('mysql')
  ? String((await createClient({ url: gw.url, backend: 'mysql' }).execute('SELECT VERSION() AS v')).rows[0]?.v)
  : '';
const MARIADB = version.includes('MariaDB');
const onMysql8 = MARIADB ? it.skip : it;

const longblob = customType<{ data: Uint8Array; driverData: Uint8Array }>({ dataType: () => 'longblob' });
const U = uniqueName('dz_users');
const P = uniqueName('dz_posts');
const T = uniqueName('dz_types');
const users = mysqlTable(U as 'users', {
  id: serial('id').primaryKey(),
  name: varchar('name', { length: 100 }).notNull().unique(),
  big: bigint('big', { mode: 'bigint' }),
  balance: decimal('balance', { precision: 38, scale: 10 }),
});
const posts = mysqlTable(P as 'posts', {
  id: int('id').primaryKey(),
  userId: bigint('user_id', { mode: 'number', unsigned: true }).notNull(),
  title: varchar('title', { length: 100 }).notNull(),
});
const types = mysqlTable(T as 'types', {
  id: int('id').primaryKey(),
  bool: boolean('bool'),
  small: smallint('small'),
  int: int('int'),
  big: bigint('big', { mode: 'bigint' }),
  dec: decimal('dec', { precision: 38, scale: 10 }),
  dbl: double('dbl'),
  vc: varchar('vc', { length: 255 }),
  txt: longtext('txt'),
  bytes: longblob('bytes'),
  day: date('day', { mode: 'string' }),
  clock: time('clock', { fsp: 6 }),
  local: datetime('local', { fsp: 6, mode: 'string' }),
  localDate: datetime('local_date', { fsp: 3 }),
  stamp: timestamp('stamp', { fsp: 6, mode: 'string' }),
  doc: json('doc'),
  id2: varchar('id2', { length: 36 }),
});
const usersRelations = relations(users, ({ many }) => ({ posts: many(posts) }));
const postsRelations = relations(posts, ({ one }) => ({
  author: one(users, { fields: [posts.userId], references: [users.id] }),
}));
const schema = { users, posts, types, usersRelations, postsRelations };

describe('drizzle mysql-proxy on mysql', () => {
  if (!gw.dbs.includes('mysql')) {
    it.skip(`skipped: ${gw.skipped.mysql}`, () => {});
    return;
  }
  let c: Client;
  const bind = (q: Parameters<typeof mysqlProxy>[0]) => drizzle(mysqlProxy(q), { schema });
  let db: ReturnType<typeof bind>;
  beforeAll(async () => {
    c = createClient({ url: gw.url, backend: 'mysql' });
    db = bind(c);
    await c.execute(
      `CREATE TABLE ${U} (id BIGINT UNSIGNED AUTO_INCREMENT PRIMARY KEY, name VARCHAR(100) NOT NULL UNIQUE,
       big BIGINT, balance DECIMAL(38,10)) ENGINE=InnoDB`,
    );
    await c.execute(`CREATE TABLE ${P} (id INT PRIMARY KEY, user_id BIGINT UNSIGNED NOT NULL, title VARCHAR(100) NOT NULL) ENGINE=InnoDB`);
    await c.execute(
      `CREATE TABLE ${T} (id INT PRIMARY KEY, bool TINYINT(1), small SMALLINT, \`int\` INT, big BIGINT,
       \`dec\` DECIMAL(38,10), dbl DOUBLE, vc VARCHAR(255), txt LONGTEXT, bytes LONGBLOB, day DATE, clock TIME(6),
       local DATETIME(6), local_date DATETIME(3), stamp TIMESTAMP(6) NULL, doc JSON, id2 VARCHAR(36)) ENGINE=InnoDB`,
    );
  });
  afterAll(async () => {
    for (const t of [P, U, T]) await c?.execute(`DROP TABLE IF EXISTS ${t}`);
  });

  it('does CRUD; $returningId() gives numeric ids, counted up for a multi-row insert', async () => {
    const ids = await db.insert(users).values([{ name: 'ann', big: BIG }, { name: 'bob' }]).$returningId();
    expect(ids).toHaveLength(2);
    expect(typeof ids[0]?.id).toBe('number');
    expect(ids[1]?.id).toBe((ids[0]?.id as number) + 1);
    const [header] = (await db.insert(users).values({ name: 'cid' })) as unknown as [{ insertId: number; affectedRows: number }];
    expect(header).toMatchObject({ insertId: (ids[1]?.id as number) + 1, affectedRows: 1 });
    const rows = await db.select({ id: users.id, name: users.name, big: users.big }).from(users).where(eq(users.name, 'ann'));
    expect(rows).toEqual([{ id: ids[0]?.id, name: 'ann', big: BIG }]);
    await db.update(users).set({ name: 'anne' }).where(eq(users.id, ids[0]!.id));
    const raw = (await db.execute(sql`SELECT COUNT(*) AS n, MAX(${users.big}) AS m FROM ${users} WHERE ${users.name} = ${'anne'}`)) as unknown as [unknown];
    expect(raw).toEqual([{ n: 1, m: BIG.toString() }]); // mysql2 supportBigNumbers form: number when exact, else text
    await db.delete(users).where(eq(users.name, 'anne'));
    expect(await db.select().from(users).where(eq(users.name, 'anne'))).toEqual([]);
  });

  it('an AUTO_INCREMENT id beyond 2^53 reaches $returningId() exact (as a bigint), never rounded', async () => {
    const B = uniqueName('dz_bigid');
    const bigIds = mysqlTable(B as 'big_ids', { id: serial('id').primaryKey(), v: int('v') });
    const bdb = drizzle(mysqlProxy(c));
    await c.execute(`CREATE TABLE ${B} (id BIGINT UNSIGNED AUTO_INCREMENT PRIMARY KEY, v INT) ENGINE=InnoDB AUTO_INCREMENT=${BIG}`);
    try {
      const ids = await bdb.insert(bigIds).values([{ v: 1 }, { v: 2 }]).$returningId();
      expect(ids).toEqual([{ id: BIG }, { id: BIG + 1n }]);
      expect((await c.execute(`SELECT id FROM ${B} ORDER BY id`, undefined, { int64: 'bigint' })).rows).toEqual([
        { id: BIG },
        { id: BIG + 1n },
      ]);
    } finally {
      await c.execute(`DROP TABLE ${B}`);
    }
  });

  it('round-trips every docs/types.md type exactly (DATETIME/TIMESTAMP in mysql2 text form)', async () => {
    const row = {
      id: 1,
      bool: true,
      small: -32768,
      int: 2147483647,
      big: ROW_TYPES.big,
      dec: '1234567890123456789012345678.0123456789',
      dbl: ROW_TYPES.dbl,
      vc: ROW_TYPES.vc,
      txt: ROW_TYPES.txt,
      bytes: BYTES,
      day: '2024-02-29',
      clock: '23:59:59.123456',
      local: '2024-02-29 23:59:59.123456',
      localDate: new Date('2024-02-29T23:59:59.123Z'),
      stamp: '2024-02-29 23:59:59.123456',
      doc: ROW_TYPES.doc,
      id2: ROW_TYPES.uuid,
    };
    await db.insert(types).values(row);
    const [back] = await db.select().from(types).where(eq(types.id, 1));
    expect(back).toEqual(row);
    expect(back?.bytes).toBeInstanceOf(Uint8Array);
  });

  onMysql8(`runs relational queries with \`with:\` both ways${MARIADB ? ' (skipped: MariaDB has no LATERAL)' : ''}`, async () => {
    const [{ id } = { id: 0 }] = await db.insert(users).values({ name: 'rel', balance: '1.5000000000' }).$returningId();
    await db.insert(posts).values([
      { id: 10, userId: id, title: 'first' },
      { id: 11, userId: id, title: 'second' },
    ]);
    const found = await db.query.users.findFirst({
      where: eq(users.id, id),
      columns: { name: true, balance: true },
      with: { posts: { columns: { id: true, title: true }, orderBy: (p, { asc }) => asc(p.id) } },
    });
    expect(found).toEqual({
      name: 'rel',
      balance: '1.5000000000',
      posts: [
        { id: 10, title: 'first' },
        { id: 11, title: 'second' },
      ],
    });
    const post = await db.query.posts.findFirst({ where: eq(posts.id, 11), with: { author: { columns: { name: true } } } });
    expect(post).toEqual({ id: 11, userId: id, title: 'second', author: { name: 'rel' } });
  });

  onMysql8(`relational queries keep BIGINT above 2^53 inside nested rows${MARIADB ? ' (skipped: MariaDB)' : ''}`, async () => {
    const [{ id } = { id: 0 }] = await db.insert(users).values({ name: 'rel-big', big: BIG }).$returningId();
    await db.insert(posts).values({ id: 20, userId: id, title: 'big' });
    const post = await db.query.posts.findFirst({ where: eq(posts.id, 20), with: { author: { columns: { big: true } } } });
    expect(post?.author).toEqual({ big: BIG });
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
    expect(causeOf(err)).toMatchObject({ code: 'UNIQUE_VIOLATION', class: 'IntegrityError', sqlState: '23000' });
    expect(await db.select().from(users).where(eq(users.name, 'dup-partner'))).toEqual([]);
    expect((await db.select().from(users).where(eq(users.name, 'dup'))).length).toBe(1);
  });

  it('BEGIN on the autocommit callback is refused, coded, before any request', async () => {
    const err = await db.execute(sql`START TRANSACTION`).catch((e: unknown) => e);
    expect(causeOf(err)).toMatchObject({ code: 'INVALID_TRANSACTION_STATE', status: 0 });
  });
});
