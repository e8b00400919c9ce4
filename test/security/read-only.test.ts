import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTestApp, type TestApp } from '../helpers/app.js';
import {
  type Driver,
  MYSQL_URL,
  PG_URL,
  type TestBackend,
  testBackends,
  uniqueName,
} from '../helpers/backends.js';

/**
 * Adversarial tests: a read-only principal tries every way to write that we know of, through every path
 * (execute, batch in and out of a transaction, sessions with begin true and false). Each attempt must end in
 * a coded error, and the database (rows, schema, sequences, files on disk) must show no change afterwards.
 * The guarantee comes from the database (a read-only connection, a SELECT-only credential, or a READ ONLY
 * transaction the gateway begins), never from reading the SQL.
 */

const backends = await testBackends();
const WRITER = 'writer-key-0123456789abcdef';
const READER = 'reader-key-0123456789abcdef';
const auth = (key: string) => ({ authorization: `Bearer ${key}` });

interface Attack {
  name: string;
  /** Statements sent in order on one connection (batch / session); execute sends each on its own. */
  steps: string[];
}

type Res = Awaited<ReturnType<TestApp['post']>>;

/** The attacks per database; `$T` is the table, `$S` the sequence, `$F` a file that must not appear. */
function attacks(driver: Driver): Attack[] {
  const common: Attack[] = [
    { name: 'INSERT', steps: ['INSERT INTO $T (id, v) VALUES (2, 20)'] },
    { name: 'UPDATE', steps: ['UPDATE $T SET v = 99'] },
    { name: 'DELETE', steps: ['DELETE FROM $T'] },
    { name: 'CREATE TABLE', steps: ['CREATE TABLE $T_new (id INTEGER)'] },
    { name: 'DROP TABLE', steps: ['DROP TABLE $T'] },
    { name: 'ALTER TABLE', steps: ['ALTER TABLE $T ADD COLUMN w INTEGER'] },
    { name: 'multi-statement string', steps: ['SELECT 1; DELETE FROM $T'] },
    { name: 'COMMIT then write', steps: ['COMMIT', 'DELETE FROM $T'] },
    { name: 'BEGIN then write', steps: ['BEGIN', 'DELETE FROM $T'] },
  ];
  switch (driver) {
    case 'sqlite':
      return [
        ...common,
        { name: 'PRAGMA query_only = OFF then write', steps: ['PRAGMA query_only = OFF', 'DELETE FROM $T'] },
        {
          name: 'PRAGMA writable_schema',
          steps: ['PRAGMA writable_schema = ON', "UPDATE sqlite_schema SET sql = 'x' WHERE name = '$T'"],
        },
        {
          name: 'ATTACH DATABASE a new file',
          steps: ["ATTACH DATABASE '$F' AS evil", 'CREATE TABLE evil.x (a)'],
        },
        { name: 'VACUUM INTO a file', steps: ["VACUUM INTO '$F'"] },
        { name: 'data-modifying CTE', steps: ['WITH x AS (SELECT 1) DELETE FROM $T'] },
        { name: 'REPLACE', steps: ['REPLACE INTO $T (id, v) VALUES (1, 5)'] },
        { name: 'CREATE TEMP TABLE', steps: ['CREATE TEMP TABLE tmp_x (a)'] },
        { name: 'PRAGMA user_version write', steps: ['PRAGMA user_version = 42'] },
        { name: 'PRAGMA journal_mode change', steps: ['PRAGMA journal_mode = DELETE'] },
        { name: 'load_extension', steps: ["SELECT load_extension('/usr/lib/x86_64-linux-gnu/libm.so.6')"] },
      ];
    case 'postgres':
      return [
        ...common,
        { name: 'TRUNCATE', steps: ['TRUNCATE $T'] },
        {
          name: 'SET default_transaction_read_only = off then write',
          steps: ['SET default_transaction_read_only = off', 'INSERT INTO $T (id, v) VALUES (3, 30)'],
        },
        {
          name: 'SET SESSION CHARACTERISTICS READ WRITE then write',
          steps: ['SET SESSION CHARACTERISTICS AS TRANSACTION READ WRITE', 'DELETE FROM $T'],
        },
        {
          name: 'SET TRANSACTION READ WRITE then write',
          steps: ['SET TRANSACTION READ WRITE', 'DELETE FROM $T'],
        },
        { name: 'COMMIT, BEGIN READ WRITE, write', steps: ['COMMIT', 'BEGIN READ WRITE', 'DELETE FROM $T'] },
        { name: 'data-modifying CTE', steps: ['WITH x AS (DELETE FROM $T RETURNING *) SELECT * FROM x'] },
        { name: 'nextval', steps: ["SELECT nextval('$S')"] },
        { name: 'setval', steps: ["SELECT setval('$S', 1000)"] },
        { name: 'COPY TO PROGRAM', steps: ["COPY (SELECT 1) TO PROGRAM 'touch $F'"] },
        { name: 'DO block', steps: ['DO $$ BEGIN DELETE FROM $T; END $$'] },
        {
          name: 'DO block that sets READ WRITE first',
          steps: ['DO $$ BEGIN SET TRANSACTION READ WRITE; DELETE FROM $T; END $$'],
        },
        {
          name: 'set_config(transaction_read_only) then write',
          steps: ["SELECT set_config('transaction_read_only', 'off', false)", 'DELETE FROM $T'],
        },
        { name: 'SET ROLE then write', steps: ['SET ROLE NONE', 'DELETE FROM $T'] },
        { name: 'CREATE TEMP TABLE', steps: ['CREATE TEMP TABLE tmp_x (a int)'] },
        // Large objects are not tables: READ ONLY and SELECT-only grants let these through on their own.
        { name: 'lo_from_bytea', steps: ["SELECT lo_from_bytea(0, 'evil')"] },
        { name: 'lo_create', steps: ['SELECT lo_create(0)'] },
        { name: 'lo_creat', steps: ['SELECT lo_creat(-1)'] },
        { name: 'lo_put on an object the reader owns', steps: ["SELECT lo_put($L, 0, 'evil')"] },
        { name: 'lo_unlink of an object the reader owns', steps: ['SELECT lo_unlink($L)'] },
        { name: 'lo_truncate', steps: ['SELECT lo_truncate(lo_open($L, 131072), 0)'] },
        { name: 'lowrite', steps: ["SELECT lowrite(lo_open($L, 131072), 'evil')"] },
        { name: 'lo_import', steps: ["SELECT lo_import('/etc/hostname')"] },
        { name: 'lo_export', steps: ["SELECT lo_export($L, '$F')"] },
        {
          name: 'lo_from_bytea through dynamic SQL in a DO block',
          steps: ["DO $$ BEGIN EXECUTE 'SELECT lo_' || 'from_bytea(0, ''evil'')'; END $$"],
        },
        {
          name: 'DO block that writes a large object and commits',
          steps: ["DO $$ BEGIN EXECUTE 'SELECT lo_' || 'from_bytea(0, ''x'')'; COMMIT; END $$"],
        },
        { name: 'pg_notify', steps: ["SELECT pg_notify('sqlgate_ro', 'evil')"] },
        { name: 'NOTIFY', steps: ['NOTIFY sqlgate_ro'] },
        { name: 'LOAD a library', steps: ["LOAD 'plpgsql'"] },
        { name: 'SELECT FOR UPDATE (row locks)', steps: ['SELECT id FROM $T FOR UPDATE'] },
        {
          name: 'CREATE TEMP TABLE after SET READ WRITE',
          steps: ['SET TRANSACTION READ WRITE', 'CREATE TEMP TABLE tmp_y (a int)'],
        },
      ];
    case 'mysql':
      return [
        ...common,
        { name: 'TRUNCATE', steps: ['TRUNCATE $T'] },
        {
          name: 'SET SESSION TRANSACTION READ WRITE then write',
          steps: ['SET SESSION TRANSACTION READ WRITE', 'DELETE FROM $T'],
        },
        {
          name: 'SET transaction_read_only = 0 then write',
          steps: ['SET SESSION transaction_read_only = 0', 'DELETE FROM $T'],
        },
        { name: 'SELECT INTO OUTFILE', steps: ["SELECT 1 INTO OUTFILE '$F'"] },
        { name: 'LOAD DATA LOCAL', steps: ["LOAD DATA LOCAL INFILE '/etc/hostname' INTO TABLE $T"] },
        { name: 'CREATE DATABASE', steps: ['CREATE DATABASE $T_db'] },
        { name: 'CREATE TEMPORARY TABLE', steps: ['CREATE TEMPORARY TABLE $T_tmp (a int)'] },
        { name: 'SELECT nextval of a sequence', steps: ['CREATE SEQUENCE $T_sq', 'SELECT NEXTVAL($T_sq)'] },
        {
          name: 'multi-statement with implicit commit',
          steps: ['START TRANSACTION', 'CREATE TABLE $T_x (a int)'],
        },
      ];
  }
}

/** One way a client can send statements. */
type PathName =
  | 'execute'
  | 'batch (transaction)'
  | 'batch (no transaction)'
  | 'session begin:true'
  | 'session begin:false';
const PATHS: PathName[] = [
  'execute',
  'batch (transaction)',
  'batch (no transaction)',
  'session begin:true',
  'session begin:false',
];

/** A coded error in an HTTP answer (or in a batch entry). */
function codedError(res: Res): string | undefined {
  if (res.status >= 400) return typeof res.body?.error?.code === 'string' ? res.body.error.code : 'NO-CODE';
  const failed = (res.body?.results ?? []).find((r: { error?: { code?: string } }) => r.error);
  return failed?.error?.code;
}

interface Mode {
  label: string;
  backendDoc: () => Promise<Record<string, unknown>>;
  /** Plain writes answer with one of these codes. */
  writeCodes: string[];
}

const sqliteTb = backends.find((b) => b.driver === 'sqlite') as TestBackend;
const pgTb = backends.find((b) => b.driver === 'postgres') as TestBackend;
const myTb = backends.find((b) => b.driver === 'mysql') as TestBackend;

function withUser(url: string, user: string): string {
  const u = new URL(url);
  u.username = user;
  u.password = '';
  return u.toString();
}

/** Runs SQL as the test superuser through a gateway without auth (setup only). */
async function adminApp(doc: Record<string, unknown>): Promise<TestApp> {
  return makeTestApp({ backends: { db: doc } });
}

const PG_RO_ROLE = 'sqlgate_ro_test';
const PG_APP_ROLE = 'sqlgate_app_test';
const MY_RO_USER = 'sqlgate_ro_test';

const modes: Array<{ driver: Driver; skip: string | null; mode: Mode }> = [
  {
    driver: 'sqlite',
    skip: null,
    mode: {
      label: 'sqlite: read-only worker',
      backendDoc: async () => sqliteTb.backendDoc(),
      writeCodes: ['READ_ONLY_VIOLATION'],
    },
  },
  {
    driver: 'postgres',
    skip: pgTb.skipReason,
    mode: {
      label: 'postgres: READ ONLY transactions on a non-superuser login',
      backendDoc: async () => pgTb.backendDoc({ url: withUser(PG_URL, PG_APP_ROLE) }),
      writeCodes: ['READ_ONLY_VIOLATION'],
    },
  },
  {
    driver: 'postgres',
    skip: pgTb.skipReason,
    mode: {
      label: 'postgres: readOnlyUrl with a SELECT-only role',
      backendDoc: async () => pgTb.backendDoc({ readOnlyUrl: withUser(PG_URL, PG_RO_ROLE) }),
      writeCodes: ['READ_ONLY_VIOLATION', 'FORBIDDEN'],
    },
  },
  {
    driver: 'postgres',
    skip: pgTb.skipReason,
    mode: {
      label: 'postgres: superuser login without readOnlyUrl is refused',
      backendDoc: async () => pgTb.backendDoc(),
      writeCodes: ['FORBIDDEN'],
    },
  },
  {
    driver: 'mysql',
    skip: myTb.skipReason,
    mode: {
      label: 'mysql: readOnlyUrl with a SELECT-only user',
      backendDoc: async () => myTb.backendDoc({ readOnlyUrl: withUser(MYSQL_URL, MY_RO_USER) }),
      writeCodes: ['READ_ONLY_VIOLATION', 'FORBIDDEN'],
    },
  },
  {
    driver: 'mysql',
    skip: myTb.skipReason,
    mode: {
      label: 'mysql: without readOnlyUrl read-only principals are refused',
      backendDoc: async () => myTb.backendDoc(),
      writeCodes: ['FORBIDDEN'],
    },
  },
];

describe.each(modes)('read-only principal: $mode.label', ({ driver, skip, mode }) => {
  if (skip) {
    it.skip(`skipped: ${skip}`, () => {});
    return;
  }
  let t: TestApp;
  let admin: TestApp | undefined;
  const table = uniqueName('ro');
  const seq = `${table}_seq`;
  let fileDir = '';
  let fileSeq = 0;
  /** A large object owned by the read-only login (PostgreSQL): what lo_put / lo_unlink aim at. */
  let loOid = 0;

  const adminExec = async (sql: string) => {
    const target = admin ?? t;
    const res = await target.post('/v1/execute', { sql }, admin ? {} : auth(WRITER));
    expect(res.status, `${sql}: ${JSON.stringify(res.body)}`).toBe(200);
    return res.body;
  };

  /** Rows, schema objects, sequence state and the sentinel files: everything a write could change. */
  const snapshot = async (): Promise<string> => {
    const parts: unknown[] = [];
    parts.push((await adminExec(`SELECT id, v FROM ${table} ORDER BY id`)).rows);
    if (driver === 'sqlite') {
      parts.push((await adminExec('SELECT type, name, sql FROM sqlite_schema ORDER BY name')).rows);
      parts.push((await adminExec('PRAGMA user_version')).rows);
      parts.push((await adminExec('PRAGMA journal_mode')).rows);
    } else if (driver === 'postgres') {
      parts.push(
        (
          await adminExec(
            `SELECT table_name FROM information_schema.tables WHERE table_name LIKE '${table}%' ORDER BY 1`,
          )
        ).rows,
      );
      parts.push((await adminExec(`SELECT last_value, is_called FROM ${seq}`)).rows);
      // Every large object of the database, with its owner and content.
      parts.push(
        (
          await adminExec(
            'SELECT m.oid::text AS oid, m.lomowner::regrole::text AS owner, ' +
              "(SELECT md5(string_agg(encode(p.data, 'hex'), '' ORDER BY p.pageno)) FROM pg_largeobject p " +
              'WHERE p.loid = m.oid) AS content FROM pg_largeobject_metadata m ORDER BY m.oid',
          )
        ).rows,
      );
      parts.push(
        (
          await adminExec(
            `SELECT count(*) AS n FROM information_schema.columns WHERE table_name = '${table}'`,
          )
        ).rows,
      );
    } else {
      parts.push(
        (
          await adminExec(
            `SELECT table_name FROM information_schema.tables WHERE table_name LIKE '${table}%' ORDER BY 1`,
          )
        ).rows,
      );
      parts.push((await adminExec(`SHOW DATABASES LIKE '${table}%'`)).rows);
      parts.push(
        (
          await adminExec(
            `SELECT count(*) AS n FROM information_schema.columns WHERE table_name = '${table}'`,
          )
        ).rows,
      );
    }
    return JSON.stringify(parts);
  };

  beforeAll(async () => {
    const doc = await mode.backendDoc();
    if (driver === 'postgres') {
      admin = await adminApp(pgTb.backendDoc());
      for (const role of [PG_RO_ROLE, PG_APP_ROLE]) {
        const exists = await admin.post('/v1/execute', {
          sql: 'SELECT 1 FROM pg_roles WHERE rolname = $1',
          params: [role],
        });
        if (exists.body.rowCount === 0) await adminExec(`CREATE ROLE ${role} LOGIN`);
      }
      await adminExec(`GRANT USAGE, CREATE ON SCHEMA public TO ${PG_APP_ROLE}`);
      await adminExec(`GRANT USAGE ON SCHEMA public TO ${PG_RO_ROLE}`);
      await adminExec(`CREATE TABLE ${table} (id INTEGER PRIMARY KEY, v INTEGER)`);
      await adminExec(`CREATE SEQUENCE ${seq}`);
      await adminExec(`ALTER TABLE ${table} OWNER TO ${PG_APP_ROLE}`);
      await adminExec(`ALTER SEQUENCE ${seq} OWNER TO ${PG_APP_ROLE}`);
      await adminExec(`GRANT SELECT ON ${table} TO ${PG_RO_ROLE}`);
      await adminExec(`GRANT SELECT ON ${seq} TO ${PG_RO_ROLE}`);
      loOid = Number((await adminExec("SELECT lo_from_bytea(0, 'original')::text AS oid")).rows[0].oid);
      const owner = mode.label.includes('readOnlyUrl') ? PG_RO_ROLE : PG_APP_ROLE;
      await adminExec(`ALTER LARGE OBJECT ${loOid} OWNER TO ${owner}`);
    } else if (driver === 'mysql') {
      admin = await adminApp(myTb.backendDoc());
      await adminExec(`CREATE USER IF NOT EXISTS '${MY_RO_USER}'@'127.0.0.1' IDENTIFIED BY ''`);
      await adminExec(`CREATE USER IF NOT EXISTS '${MY_RO_USER}'@'localhost' IDENTIFIED BY ''`);
      await adminExec(`CREATE TABLE ${table} (id INTEGER PRIMARY KEY, v INTEGER) ENGINE=InnoDB`);
      const db = new URL(MYSQL_URL).pathname.slice(1);
      await adminExec(`GRANT SELECT ON \`${db}\`.* TO '${MY_RO_USER}'@'127.0.0.1'`);
      await adminExec(`GRANT SELECT ON \`${db}\`.* TO '${MY_RO_USER}'@'localhost'`);
    }
    t = await makeTestApp({
      auth: {
        apiKeys: [
          { name: 'writer', key: WRITER },
          { name: 'reader', key: READER, readOnly: true },
        ],
      },
      backends: { db: doc },
    });
    if (driver === 'sqlite') {
      admin = undefined;
      await adminExec(`CREATE TABLE ${table} (id INTEGER PRIMARY KEY, v INTEGER)`);
      fileDir = dirname(String(doc.database));
    } else {
      fileDir = dirname(fileDir || '/tmp/x');
    }
    await adminExec(`INSERT INTO ${table} (id, v) VALUES (1, 10)`);
    // Every path the attacks go through must answer here: a build that lost the batch or session routes
    // fails this setup (and so every case) instead of passing the attacks it could no longer receive.
    const batch = await t.post('/v1/batch', { statements: [{ sql: 'SELECT 1' }] }, auth(WRITER));
    expect(batch.status, `POST /v1/batch: ${JSON.stringify(batch.body)}`).toBe(200);
    const s = await t.post('/v1/sessions', {}, auth(WRITER));
    expect(s.status, `POST /v1/sessions: ${JSON.stringify(s.body)}`).toBe(201);
    const closed = await t.app.inject({
      method: 'DELETE',
      url: `/v1/sessions/${s.body.id}`,
      headers: auth(WRITER),
    });
    expect(closed.statusCode, `DELETE /v1/sessions/:id: ${closed.body}`).toBe(200);
  });

  afterAll(async () => {
    if (t) {
      for (const sql of [
        `DROP TABLE IF EXISTS ${table}`,
        ...(driver === 'postgres'
          ? [`DROP SEQUENCE IF EXISTS ${seq}`, ...(loOid ? [`SELECT lo_unlink(${loOid})`] : [])]
          : []),
      ]) {
        await (admin ?? t).post('/v1/execute', { sql }, admin ? {} : auth(WRITER));
      }
    }
    await t?.close();
    await admin?.close();
  });

  it('reads still work', async () => {
    const res = await t.post('/v1/execute', { sql: `SELECT v FROM ${table}` }, auth(READER));
    if (mode.writeCodes.length === 1 && mode.writeCodes[0] === 'FORBIDDEN') {
      expect(res.status).toBe(403);
      expect(res.body.error.code).toBe('FORBIDDEN');
    } else {
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      expect(Number(res.body.rows[0].v)).toBe(10);
    }
  });

  it('the writer can write (the guard is per principal)', async () => {
    const res = await t.post('/v1/execute', { sql: `UPDATE ${table} SET v = 10 WHERE id = 1` }, auth(WRITER));
    expect(res.status, JSON.stringify(res.body)).toBe(200);
  });

  const list = attacks(driver);
  const cases = list.flatMap((a) => PATHS.map((path) => ({ attack: a, path })));

  it.each(cases)(
    '$path: $attack.name fails with a coded error and changes nothing',
    async ({ attack, path }) => {
      const file = join(fileDir, `${table}_evil_${++fileSeq}.db`);
      const steps = attack.steps.map((s) =>
        s
          .replaceAll('$T', table)
          .replaceAll('$S', seq)
          .replaceAll('$F', file)
          .replaceAll('$L', String(loOid)),
      );
      const before = await snapshot();
      const codes: string[] = [];
      const note = (res: Res) => {
        const c = codedError(res);
        if (c) codes.push(c);
      };
      if (path === 'execute') {
        for (const sql of steps) note(await t.post('/v1/execute', { sql }, auth(READER)));
      } else if (path.startsWith('batch')) {
        note(
          await t.post(
            '/v1/batch',
            { statements: steps.map((sql) => ({ sql })), transaction: path === 'batch (transaction)' },
            auth(READER),
          ),
        );
      } else {
        const open = await t.post('/v1/sessions', { begin: path === 'session begin:true' }, auth(READER));
        if (open.status !== 201) {
          note(open);
        } else {
          for (const sql of steps)
            note(await t.post(`/v1/sessions/${open.body.id}/execute`, { sql }, auth(READER)));
          await t.post(`/v1/sessions/${open.body.id}/commit`, { close: true }, auth(READER));
          await t.app.inject({
            method: 'DELETE',
            url: `/v1/sessions/${open.body.id}`,
            headers: auth(READER),
          });
        }
      }
      expect(codes.length, `no step of "${attack.name}" failed`).toBeGreaterThan(0);
      expect(codes).not.toContain('NO-CODE');
      expect(codes).not.toContain('INTERNAL');
      expect(await snapshot()).toBe(before);
      expect(existsSync(file), `${file} was created`).toBe(false);
    },
  );

  it('begin:false sessions need a connection that refuses writes by itself', async () => {
    const res = await t.post('/v1/sessions', { begin: false }, auth(READER));
    if (mode.label.includes('non-superuser') || mode.writeCodes[0] === 'FORBIDDEN') {
      expect(res.status, JSON.stringify(res.body)).toBe(403);
      expect(res.body.error.code).toBe('FORBIDDEN');
    } else {
      expect(res.status, JSON.stringify(res.body)).toBe(201);
      await t.app.inject({ method: 'DELETE', url: `/v1/sessions/${res.body.id}`, headers: auth(READER) });
    }
  });

  it('a plain write answers with the documented code', async () => {
    const res = await t.post('/v1/execute', { sql: `DELETE FROM ${table}` }, auth(READER));
    expect(mode.writeCodes).toContain(res.body.error.code);
    expect(res.status).toBe(403);
  });
});
