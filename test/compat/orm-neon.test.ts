import { neon, neonConfig } from '@neondatabase/serverless';
import { asc, sql as dsql, eq, relations } from 'drizzle-orm';
import { drizzle } from 'drizzle-orm/neon-http';
import { bigint, boolean, integer, jsonb, numeric, pgTable, text, timestamp } from 'drizzle-orm/pg-core';
import { type Generated, Kysely } from 'kysely';
import { NeonDialect } from 'kysely-neon';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PG_URL, testBackends, uniqueName } from '../helpers/backends.js';
import { type ServedApp, serveTestApp } from './serve.js';

/**
 * The ORMs over Neon's POST /sql, with the real packages: drizzle-orm/neon-http (schema, CRUD, returning,
 * the relational query API, a transaction through neon's batch) and kysely-neon (CRUD), against PostgreSQL.
 * Relational queries build rows with json_build_array; the int8 values here stay below 2^53 (exact int8
 * inside JSON is issue #15's, being done elsewhere).
 */

const pg = (await testBackends()).find((b) => b.driver === 'postgres');
const skip = pg?.skipReason ?? null;

const authorsName = uniqueName('orm_authors');
const postsName = uniqueName('orm_posts');

const authors = pgTable(authorsName, {
  id: integer('id').primaryKey(),
  name: text('name').notNull(),
  big: bigint('big', { mode: 'bigint' }),
  active: boolean('active').notNull().default(true),
  meta: jsonb('meta').$type<{ tags: string[] }>(),
  joined: timestamp('joined', { withTimezone: true, mode: 'date' }),
});
const posts = pgTable(postsName, {
  id: integer('id').primaryKey(),
  authorId: integer('author_id')
    .notNull()
    .references(() => authors.id),
  title: text('title').notNull(),
  price: numeric('price', { precision: 12, scale: 2 }),
});
const authorsRelations = relations(authors, ({ many }) => ({ posts: many(posts) }));
const postsRelations = relations(posts, ({ one }) => ({
  author: one(authors, { fields: [posts.authorId], references: [authors.id] }),
}));
const schema = { authors, posts, authorsRelations, postsRelations };

describe.skipIf(skip !== null)('ORMs over Neon /sql', () => {
  let s: ServedApp;
  let url: string;

  beforeAll(async () => {
    s = await serveTestApp({ backends: { main: { driver: 'postgres', url: PG_URL, pool: { max: 4 } } } });
    neonConfig.fetchEndpoint = (_host, port) => `http://127.0.0.1:${port}/sql`;
    url = `postgresql://app:x@127.0.0.1:${s.port}/main`;
    const sql = neon(url);
    await sql.query(`CREATE TABLE ${authorsName} (id int4 PRIMARY KEY, name text NOT NULL, big int8,
      active boolean NOT NULL DEFAULT true, meta jsonb, joined timestamptz)`);
    await sql.query(`CREATE TABLE ${postsName} (id int4 PRIMARY KEY,
      author_id int4 NOT NULL REFERENCES ${authorsName}(id), title text NOT NULL, price numeric(12,2))`);
  });
  afterAll(async () => {
    if (!s) return;
    const sql = neon(url);
    await sql.query(`DROP TABLE IF EXISTS ${postsName}`);
    await sql.query(`DROP TABLE IF EXISTS ${authorsName}`);
    expect(s.app.backends.get('main').poolStats().inUse).toBe(0);
    await s.close();
  });

  describe('drizzle-orm/neon-http', () => {
    const db = () => drizzle({ client: neon(url), schema });
    const joined = new Date('2024-05-01T12:34:56.789Z');

    it('inserts with returning, values exact by type', async () => {
      const rows = await db()
        .insert(authors)
        .values([
          { id: 1, name: 'Ada', big: 9223372036854775807n, meta: { tags: ['a', 'b'] }, joined },
          { id: 2, name: 'Linus', active: false },
        ])
        .returning();
      expect(rows).toEqual([
        { id: 1, name: 'Ada', big: 9223372036854775807n, active: true, meta: { tags: ['a', 'b'] }, joined },
        { id: 2, name: 'Linus', big: null, active: false, meta: null, joined: null },
      ]);
      await db()
        .insert(posts)
        .values([
          { id: 10, authorId: 1, title: 'Engines', price: '12.30' },
          { id: 11, authorId: 1, title: 'Notes', price: '-0.05' },
          { id: 12, authorId: 2, title: 'Kernels', price: null },
        ]);
    });

    it('selects, filters, orders and joins', async () => {
      const ada = await db().select().from(authors).where(eq(authors.id, 1));
      expect(ada[0]?.big).toBe(9223372036854775807n);
      expect(ada[0]?.joined?.toISOString()).toBe(joined.toISOString());
      const joinedRows = await db()
        .select({ title: posts.title, author: authors.name, price: posts.price })
        .from(posts)
        .innerJoin(authors, eq(posts.authorId, authors.id))
        .orderBy(asc(posts.id));
      expect(joinedRows).toEqual([
        { title: 'Engines', author: 'Ada', price: '12.30' },
        { title: 'Notes', author: 'Ada', price: '-0.05' },
        { title: 'Kernels', author: 'Linus', price: null },
      ]);
      const [agg] = await db()
        .select({ n: dsql<number>`count(*)::int`, total: dsql<string>`sum(${posts.price})` })
        .from(posts);
      expect(agg).toEqual({ n: 3, total: '12.25' });
    });

    it('runs relational queries (findMany with nested relations, findFirst)', async () => {
      const all = await db().query.authors.findMany({
        columns: { id: true, name: true, active: true },
        with: { posts: { columns: { title: true, price: true }, orderBy: [asc(posts.id)] } },
        orderBy: (a, { asc: o }) => [o(a.id)],
      });
      // Nested rows travel as json_build_array JSON, which the client parses with JSON.parse: a numeric
      // comes back as drizzle's String(12.3), exactly as it does from Neon itself.
      expect(all).toEqual([
        {
          id: 1,
          name: 'Ada',
          active: true,
          posts: [
            { title: 'Engines', price: '12.3' },
            { title: 'Notes', price: '-0.05' },
          ],
        },
        { id: 2, name: 'Linus', active: false, posts: [{ title: 'Kernels', price: null }] },
      ]);
      const post = await db().query.posts.findFirst({
        where: (p, { eq: e }) => e(p.id, 12),
        with: { author: { columns: { name: true } } },
      });
      expect(post).toEqual({ id: 12, authorId: 2, title: 'Kernels', price: null, author: { name: 'Linus' } });
    });

    it('updates and deletes with returning', async () => {
      const up = await db()
        .update(posts)
        .set({ price: '99.99' })
        .where(eq(posts.id, 12))
        .returning({ id: posts.id, price: posts.price });
      expect(up).toEqual([{ id: 12, price: '99.99' }]);
      const del = await db().delete(posts).where(eq(posts.id, 11)).returning({ id: posts.id });
      expect(del).toEqual([{ id: 11 }]);
      expect(await db().select({ id: posts.id }).from(posts).orderBy(posts.id)).toEqual([
        { id: 10 },
        { id: 12 },
      ]);
    });

    it('batch() is one transaction: all or nothing', async () => {
      const d = db();
      const [ins, upd] = await d.batch([
        d.insert(posts).values({ id: 20, authorId: 2, title: 'Batch' }).returning({ id: posts.id }),
        d
          .update(authors)
          .set({ name: 'Linus T.' })
          .where(eq(authors.id, 2))
          .returning({ name: authors.name }),
      ]);
      expect(ins).toEqual([{ id: 20 }]);
      expect(upd).toEqual([{ name: 'Linus T.' }]);
      // The second statement fails (duplicate key): the first is rolled back with it.
      await expect(
        d.batch([
          d.insert(posts).values({ id: 21, authorId: 1, title: 'Lost' }),
          d.insert(posts).values({ id: 20, authorId: 1, title: 'Duplicate' }),
        ]),
      ).rejects.toMatchObject({ code: '23505' });
      expect(await d.select().from(posts).where(eq(posts.id, 21))).toEqual([]);
      expect(s.app.backends.get('main').poolStats().inUse).toBe(0);
    });
  });

  describe('kysely-neon', () => {
    /** The table's name is made unique per run; Kysely's types see it under a fixed name. */
    interface DB {
      authors: { id: number; name: string; big: string | null; active: Generated<boolean> };
    }
    const db = () => new Kysely<DB>({ dialect: new NeonDialect({ neon: neon(url) }) });
    const t = authorsName as 'authors';

    it('CRUD: insert returning, select, update, delete', async () => {
      const k = db();
      const ins = await k
        .insertInto(t)
        .values({ id: 30, name: 'Grace', big: '-9223372036854775808' })
        .returning(['id', 'name', 'big', 'active'])
        .executeTakeFirstOrThrow();
      expect(ins).toEqual({ id: 30, name: 'Grace', big: '-9223372036854775808', active: true });
      const got = await k.selectFrom(t).select(['name', 'big']).where('id', '=', 30).execute();
      expect(got).toEqual([{ name: 'Grace', big: '-9223372036854775808' }]);
      const up = await k.updateTable(t).set({ name: 'Grace H.' }).where('id', '=', 30).executeTakeFirst();
      expect(up.numUpdatedRows).toBe(1n);
      const del = await k.deleteFrom(t).where('id', '=', 30).executeTakeFirst();
      expect(del.numDeletedRows).toBe(1n);
      expect(await k.selectFrom(t).selectAll().where('id', '=', 30).execute()).toEqual([]);
      await k.destroy();
    });
  });
});
