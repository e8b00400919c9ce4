import { eq, relations, sql } from 'drizzle-orm';
import {
  bigint,
  bigserial,
  boolean,
  customType,
  date,
  doublePrecision,
  integer,
  json,
  jsonb,
  numeric,
  pgTable,
  smallint,
  text,
  time,
  timestamp,
  uuid,
  varchar,
} from 'drizzle-orm/pg-core';
import { drizzle } from 'drizzle-orm/pg-proxy';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pgProxy, withTransaction } from '../../src/drizzle/index.js';
import { type Client, createClient } from '../../src/index.js';
import { type Gateway, startGateway, uniqueName } from '../gateway.js';
import { BIG, BYTES, causeOf, ROW_TYPES } from './fixtures.js';

/** drizzle-orm/pg-proxy over the gateway's PostgreSQL backend, with the real drizzle-orm. */
const gw: Gateway = await startGateway();
afterAll(() => gw.stop());

const bytea = customType<{ data: Uint8Array; driverData: Uint8Array }>({ dataType: () => 'bytea' });
const U = uniqueName('dz_users');
const P = uniqueName('dz_posts');
const T = uniqueName('dz_types');
const users = pgTable(U as 'users', {
  id: bigserial('id', { mode: 'bigint' }).primaryKey(),
  name: text('name').notNull().unique(),
  big: bigint('big', { mode: 'bigint' }),
  balance: numeric('balance', { precision: 40, scale: 10 }),
});
const posts = pgTable(P as 'posts', {
  id: integer('id').primaryKey(),
  userId: bigint('user_id', { mode: 'bigint' })
    .notNull()
    .references(() => users.id),
  title: text('title').notNull(),
});
const types = pgTable(T as 'types', {
  id: integer('id').primaryKey(),
  bool: boolean('bool'),
  small: smallint('small'),
  int: integer('int'),
  big: bigint('big', { mode: 'bigint' }),
  dec: numeric('dec'),
  dbl: doublePrecision('dbl'),
  vc: varchar('vc', { length: 255 }),
  txt: text('txt'),
  bytes: bytea('bytes'),
  day: date('day'),
  clock: time('clock', { precision: 6 }),
  local: timestamp('local', { precision: 6, mode: 'string' }),
  instant: timestamp('instant', { precision: 6, withTimezone: true, mode: 'string' }),
  instantDate: timestamp('instant_date', { precision: 3, withTimezone: true }),
  localDate: timestamp('local_date', { precision: 3 }),
  doc: jsonb('doc'),
  docText: json('doc_text'),
  id2: uuid('id2'),
});
const usersRelations = relations(users, ({ many }) => ({ posts: many(posts) }));
const postsRelations = relations(posts, ({ one }) => ({
  author: one(users, { fields: [posts.userId], references: [users.id] }),
}));
const schema = { users, posts, types, usersRelations, postsRelations };

describe('drizzle pg-proxy on postgres', () => {
  if (!gw.dbs.includes('postgres')) {
    it.skip(`skipped: ${gw.skipped.postgres}`, () => {});
    return;
  }
  let c: Client;
  let db: ReturnType<typeof drizzle<typeof schema>>;
  const bind = (q: Parameters<typeof pgProxy>[0]) => drizzle(pgProxy(q), { schema });
  beforeAll(async () => {
    c = createClient({ url: gw.url, backend: 'postgres' });
    db = bind(c);
    await c.execute(
      `CREATE TABLE ${U} (id BIGSERIAL PRIMARY KEY, name TEXT NOT NULL UNIQUE, big BIGINT, balance NUMERIC(40,10))`,
    );
    await c.execute(`CREATE TABLE ${P} (id INTEGER PRIMARY KEY, user_id BIGINT NOT NULL REFERENCES ${U}(id), title TEXT NOT NULL)`);
    await c.execute(
      `CREATE TABLE ${T} (id INTEGER PRIMARY KEY, bool BOOLEAN, small SMALLINT, int INTEGER, big BIGINT, dec NUMERIC,
       dbl DOUBLE PRECISION, vc VARCHAR(255), txt TEXT, bytes BYTEA, day DATE, clock TIME(6), local TIMESTAMP(6),
       instant TIMESTAMPTZ(6), instant_date TIMESTAMPTZ(3), local_date TIMESTAMP(3), doc JSONB, doc_text JSON, id2 UUID)`,
    );
  });
  afterAll(async () => {
    for (const t of [P, U, T]) await c?.execute(`DROP TABLE IF EXISTS ${t}`);
  });

  it('does CRUD with returning; bigint ids and exact decimals come back as sent', async () => {
    const [ann] = await db
      .insert(users)
      .values({ name: 'ann', big: BIG, balance: '12345678901234567890.0123456789' })
      .returning();
    expect(typeof ann?.id).toBe('bigint');
    expect(ann).toMatchObject({ name: 'ann', big: BIG, balance: '12345678901234567890.0123456789' });
    const up = await db.update(users).set({ name: 'anne' }).where(eq(users.id, ann!.id)).returning({ name: users.name });
    expect(up).toEqual([{ name: 'anne' }]);
    expect(await db.select({ name: users.name, big: users.big }).from(users).where(eq(users.id, ann!.id))).toEqual([
      { name: 'anne', big: BIG },
    ]);
    const raw = await db.execute(sql`SELECT count(*) AS n FROM ${users} WHERE ${users.id} = ${ann!.id}`);
    expect(raw).toEqual([{ n: '1' }]); // int8 as node-postgres gives it: the exact string
    await db.delete(users).where(eq(users.id, ann!.id));
    expect(await db.select().from(users).where(eq(users.id, ann!.id))).toEqual([]);
  });

  it('round-trips every docs/types.md type exactly', async () => {
    const row = {
      id: 1,
      bool: true,
      small: -32768,
      int: 2147483647,
      big: ROW_TYPES.big,
      dec: ROW_TYPES.dec,
      dbl: ROW_TYPES.dbl,
      vc: ROW_TYPES.vc,
      txt: ROW_TYPES.txt,
      bytes: BYTES,
      day: '2024-02-29',
      clock: '23:59:59.123456',
      local: '2024-02-29T23:59:59.123456',
      instant: '2024-02-29T23:59:59.123456+00:00',
      instantDate: new Date('2024-02-29T23:59:59.123Z'),
      localDate: new Date('2024-02-29T23:59:59.123Z'),
      doc: ROW_TYPES.doc,
      docText: '123',
      id2: ROW_TYPES.uuid,
    };
    await db.insert(types).values(row);
    const [back] = await db.select().from(types).where(eq(types.id, 1));
    expect(back).toEqual(row);
    expect(back?.bytes).toBeInstanceOf(Uint8Array);
    expect(back?.docText).toBe('123'); // a JSON string stays a string, not the number 123
  });

  it('runs relational queries with `with:` both ways', async () => {
    const [u] = await db.insert(users).values({ name: 'rel', big: 7n, balance: '1.5000000000' }).returning();
    await db.insert(posts).values([
      { id: 10, userId: u!.id, title: 'first' },
      { id: 11, userId: u!.id, title: 'second' },
    ]);
    const found = await db.query.users.findFirst({
      where: eq(users.id, u!.id),
      columns: { name: true, big: true },
      with: { posts: { columns: { id: true, title: true }, orderBy: (p, { asc }) => asc(p.id) } },
    });
    expect(found).toEqual({ name: 'rel', big: 7n, posts: [{ id: 10, title: 'first' }, { id: 11, title: 'second' }] });
    const post = await db.query.posts.findFirst({ where: eq(posts.id, 11), with: { author: { columns: { name: true } } } });
    expect(post).toEqual({ id: 11, userId: u!.id, title: 'second', author: { name: 'rel' } });
  });

  // drizzle's relational queries nest rows with json_build_array: pgProxy asks the gateway for jsonNumbers
  // "string" (issue #15 defect 6), so an int8 above 2^53 and a numeric's trailing zeros survive.
  it('relational queries keep int8 above 2^53 and exact numerics inside nested rows', async () => {
    // A numeric with more digits than a double holds comes back exact; trailing zeros of one a double does hold
    // (0.1000000000 -> "0.1") go the way drizzle's own JSON.parse of the nested row takes them, as with node-postgres.
    const [u] = await db
      .insert(users)
      .values({ name: 'rel-big', big: BIG, balance: '12345678901234567890.0123456789' })
      .returning();
    await db.insert(posts).values({ id: 20, userId: u!.id, title: 'big' });
    const post = await db.query.posts.findFirst({
      where: eq(posts.id, 20),
      with: { author: { columns: { big: true, balance: true } } },
    });
    expect(post?.author).toEqual({ big: BIG, balance: '12345678901234567890.0123456789' });
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
    expect(causeOf(err)).toMatchObject({ code: 'UNIQUE_VIOLATION', class: 'IntegrityError', sqlState: '23505' });
    expect(await db.select().from(users).where(eq(users.name, 'dup-partner'))).toEqual([]);
    expect((await db.select().from(users).where(eq(users.name, 'dup'))).length).toBe(1);
  });

  it('bad input is coded before any request: an unsafe JS number, a transaction used after it ended', async () => {
    const bad = await db.execute(sql`SELECT ${2 ** 53 + 2} AS n`).catch((e: unknown) => e);
    expect(causeOf(bad)).toMatchObject({ code: 'PARAM_INVALID', status: 0 });
    let leaked: ReturnType<typeof bind> | undefined;
    await withTransaction(c, bind, async (tx) => {
      leaked = tx;
    });
    const late = await leaked!.select().from(users).catch((e: unknown) => e);
    expect(causeOf(late)).toMatchObject({ code: 'TRANSACTION_CLOSED', status: 0 });
  });

  it("drizzle's own db.transaction is refused by pg-proxy before anything is sent", async () => {
    await expect(db.transaction(async () => {})).rejects.toThrow(/not supported/);
  });
});
