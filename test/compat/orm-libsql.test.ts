import { createClient } from '@libsql/client';
import { asc, sql as dsql, eq, relations } from 'drizzle-orm';
import { drizzle } from 'drizzle-orm/libsql';
import { blob, integer, real, sqliteTable, text } from 'drizzle-orm/sqlite-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testBackends } from '../helpers/backends.js';
import { type ServedApp, serveTestApp } from './serve.js';

/**
 * drizzle-orm/libsql over our Hrana endpoint with the real @libsql/client (http: URL), on a SQLite
 * backend (drizzle's SQLite dialect): schema, CRUD with returning, the relational query API, an
 * interactive transaction (batons across requests) with rollback, and batch() (one transaction).
 */

const sqlite = (await testBackends()).find((b) => b.driver === 'sqlite');

const users = sqliteTable('users', {
  id: integer('id').primaryKey(),
  name: text('name').notNull(),
  big: integer('big', { mode: 'number' }),
  score: real('score'),
  data: blob('data', { mode: 'buffer' }),
  settings: text('settings', { mode: 'json' }).$type<{ theme: string }>(),
  active: integer('active', { mode: 'boolean' }).notNull().default(true),
});
const notes = sqliteTable('notes', {
  id: integer('id').primaryKey(),
  userId: integer('user_id')
    .notNull()
    .references(() => users.id),
  body: text('body').notNull(),
});
const usersRelations = relations(users, ({ many }) => ({ notes: many(notes) }));
const notesRelations = relations(notes, ({ one }) => ({
  user: one(users, { fields: [notes.userId], references: [users.id] }),
}));
const schema = { users, notes, usersRelations, notesRelations };

describe('drizzle-orm/libsql over Hrana (SQLite backend)', () => {
  let s: ServedApp;
  const client = () => createClient({ url: s.url });

  beforeAll(async () => {
    s = await serveTestApp({ backends: { main: sqlite?.backendDoc() ?? {} } });
    const c = client();
    await c.executeMultiple(`
      CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT NOT NULL, big INTEGER, score REAL, data BLOB,
        settings TEXT, active INTEGER NOT NULL DEFAULT 1);
      CREATE TABLE notes (id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL REFERENCES users(id), body TEXT NOT NULL);`);
    c.close();
  });
  afterAll(async () => {
    if (!s) return;
    expect(s.app.sessions.size).toBe(0);
    expect(s.app.backends.get('main').poolStats().inUse).toBe(0);
    await s.close();
  });

  const db = () => drizzle({ client: client(), schema });

  it('inserts with returning, values exact by type', async () => {
    const rows = await db()
      .insert(users)
      .values([
        {
          id: 1,
          name: 'Ada',
          big: 2 ** 53 - 1,
          score: 0.1,
          data: Buffer.from([0, 1, 255]),
          settings: { theme: 'dark' },
        },
        { id: 2, name: 'Linus', active: false },
      ])
      .returning();
    expect(rows).toEqual([
      {
        id: 1,
        name: 'Ada',
        big: 2 ** 53 - 1,
        score: 0.1,
        data: Buffer.from([0, 1, 255]),
        settings: { theme: 'dark' },
        active: true,
      },
      { id: 2, name: 'Linus', big: null, score: null, data: null, settings: null, active: false },
    ]);
    await db()
      .insert(notes)
      .values([
        { id: 10, userId: 1, body: 'first' },
        { id: 11, userId: 1, body: 'second' },
        { id: 12, userId: 2, body: 'third' },
      ]);
  });

  it('selects, joins and aggregates', async () => {
    const joined = await db()
      .select({ body: notes.body, name: users.name })
      .from(notes)
      .innerJoin(users, eq(notes.userId, users.id))
      .orderBy(asc(notes.id));
    expect(joined).toEqual([
      { body: 'first', name: 'Ada' },
      { body: 'second', name: 'Ada' },
      { body: 'third', name: 'Linus' },
    ]);
    const [agg] = await db().select({ n: dsql<number>`count(*)` }).from(notes);
    expect(agg?.n).toBe(3);
  });

  it('runs relational queries', async () => {
    const all = await db().query.users.findMany({
      columns: { id: true, name: true },
      with: { notes: { columns: { body: true }, orderBy: [asc(notes.id)] } },
      orderBy: [asc(users.id)],
    });
    expect(all).toEqual([
      { id: 1, name: 'Ada', notes: [{ body: 'first' }, { body: 'second' }] },
      { id: 2, name: 'Linus', notes: [{ body: 'third' }] },
    ]);
    const note = await db().query.notes.findFirst({ where: eq(notes.id, 12), with: { user: true } });
    expect(note?.user).toMatchObject({ id: 2, name: 'Linus', active: false });
  });

  it('updates and deletes with returning', async () => {
    const up = await db()
      .update(users)
      .set({ score: 2.5 })
      .where(eq(users.id, 2))
      .returning({ id: users.id, score: users.score });
    expect(up).toEqual([{ id: 2, score: 2.5 }]);
    const del = await db().delete(notes).where(eq(notes.id, 11)).returning({ id: notes.id });
    expect(del).toEqual([{ id: 11 }]);
  });

  it('transaction(): commit keeps, a throw rolls back (across requests, on one stream)', async () => {
    const d = db();
    await d.transaction(async (tx) => {
      await tx.insert(notes).values({ id: 20, userId: 1, body: 'kept' });
      const seen = await tx.select().from(notes).where(eq(notes.id, 20));
      expect(seen).toHaveLength(1);
    });
    await expect(
      d.transaction(async (tx) => {
        await tx.insert(notes).values({ id: 21, userId: 1, body: 'lost' });
        throw new Error('abort');
      }),
    ).rejects.toThrow('abort');
    const ids = (await d.select({ id: notes.id }).from(notes).orderBy(notes.id)).map((r) => r.id);
    expect(ids).toEqual([10, 12, 20]);
  });

  it('batch() is all-or-nothing', async () => {
    const d = db();
    const [ins, count] = await d.batch([
      d.insert(notes).values({ id: 30, userId: 2, body: 'batched' }).returning({ id: notes.id }),
      d.select({ n: dsql<number>`count(*)` }).from(notes),
    ]);
    expect(ins).toEqual([{ id: 30 }]);
    expect(count).toEqual([{ n: 4 }]);
    await expect(
      d.batch([
        d.insert(notes).values({ id: 31, userId: 2, body: 'lost' }),
        d.insert(notes).values({ id: 30, userId: 2, body: 'duplicate' }),
      ]),
    ).rejects.toMatchObject({ code: 'SQLITE_CONSTRAINT_PRIMARYKEY' });
    expect(await d.select().from(notes).where(eq(notes.id, 31))).toEqual([]);
  });
});
