import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestApp } from '../helpers/app.js';
import { makeTestApp } from '../helpers/app.js';
import { testBackends, uniqueName } from '../helpers/backends.js';
import { TABLE_SUFFIX } from '../helpers/sql.js';

/**
 * `options.explain` (issue #20): the plan in one envelope on every database, `{format, analyze, plan}`,
 * with the database's own plan inside; `"analyze"` really runs the statement in a transaction that is
 * rolled back, so a write leaves nothing behind.
 */
const backends = await testBackends();

describe.each(backends)('explain: $driver', (tb) => {
  if (tb.skipReason) {
    it.skip(`skipped: ${tb.skipReason}`, () => {});
    return;
  }
  let t: TestApp;
  let name: string;
  const dialect = () => t.app.backends.get('db').dialect;
  const count = async () => Number((await t.exec(`SELECT count(*) AS n FROM ${name}`)).body.rows[0].n);

  beforeAll(async () => {
    t = await makeTestApp({ backends: { db: tb.backendDoc() } });
    name = uniqueName('ex');
    const res = await t.exec(
      `CREATE TABLE ${name} (id INTEGER PRIMARY KEY, v TEXT)${TABLE_SUFFIX[tb.driver]}`,
    );
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    await t.exec(`INSERT INTO ${name} (id, v) VALUES (1, 'a'), (2, 'b')`);
  });
  afterAll(async () => {
    if (name) await t.exec(`DROP TABLE ${name}`);
    await t?.close();
  });

  /** The database's own plan, checked for the shape its format names. */
  const expectPlanShape = (plan: { format: string; plan: unknown }) => {
    expect(plan.format).toBe(dialect().explain?.format);
    if (plan.format === 'postgres') {
      const p = plan.plan as Array<{ Plan: Record<string, unknown> }>;
      expect(Array.isArray(p)).toBe(true);
      expect(typeof p[0]?.Plan['Node Type']).toBe('string');
    } else if (plan.format === 'mysql') {
      const p = plan.plan as { query_block: Record<string, unknown> };
      expect(typeof p.query_block).toBe('object');
      expect(p.query_block.select_id).toBe(1);
    } else {
      const p = plan.plan as Array<{ id: unknown; parent: unknown; detail: unknown }>;
      expect(p.length).toBeGreaterThan(0);
      for (const node of p) {
        expect(typeof node.id).toBe('number');
        expect(typeof node.parent).toBe('number');
        expect(typeof node.detail).toBe('string');
      }
      expect(String(p[0]?.detail)).toMatch(new RegExp(name));
    }
  };

  it('explain: true returns the plan in the uniform envelope without running the statement', async () => {
    const ph = dialect().placeholder(0);
    const res = await t.exec(`SELECT v FROM ${name} WHERE id = ${ph}`, [1], { explain: true });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.command).toBe('EXPLAIN');
    expect(res.body.plan.analyze).toBe(false);
    expect(Object.keys(res.body.plan).sort()).toEqual(['analyze', 'format', 'plan']);
    expectPlanShape(res.body.plan);
    const write = await t.exec(`INSERT INTO ${name} (id, v) VALUES (10, 'x')`, undefined, { explain: true });
    expect(write.status, JSON.stringify(write.body)).toBe(200);
    expect(write.body.plan.analyze).toBe(false);
    expect(await count()).toBe(2);
  });

  it('explain in a session is the plan; analyze there is refused (nothing would roll it back)', async () => {
    const open = await t.post('/v1/sessions', {});
    expect(open.status).toBe(201);
    const url = `/v1/sessions/${open.body.id}/execute`;
    try {
      const plan = await t.post(url, { sql: `SELECT v FROM ${name}`, options: { explain: true } });
      expect(plan.status, JSON.stringify(plan.body)).toBe(200);
      expectPlanShape(plan.body.plan);
      const refused = await t.post(url, { sql: `DELETE FROM ${name}`, options: { explain: 'analyze' } });
      expect(refused.status).toBe(400);
      expect(refused.body.error.code).toBe('UNSUPPORTED_FEATURE');
    } finally {
      await t.post(`/v1/sessions/${open.body.id}/rollback`, {});
    }
    expect(await count()).toBe(2);
  });

  const analyze = () => dialect().explain?.analyze;

  it('explain: "analyze" of a read runs it and returns the plan with analyze: true (where offered)', async () => {
    const res = await t.exec(`SELECT v FROM ${name}`, undefined, { explain: 'analyze' });
    if (analyze() === 'none') {
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe('UNSUPPORTED_FEATURE');
      return;
    }
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.plan.analyze).toBe(true);
    expectPlanShape(res.body.plan);
    if (res.body.plan.format === 'postgres') expect(res.body.plan.plan[0].Plan['Actual Rows']).toBe(2);
    if (res.body.plan.format === 'mysql')
      expect(JSON.stringify(res.body.plan.plan)).toMatch(/"r_rows":\s*2\b/);
    if (dialect().explain?.analyzeByRunning) {
      // SQLite: the plan, plus what running the statement after it measured.
      expect(Object.keys(res.body.plan).sort()).toEqual(['actual', 'analyze', 'format', 'plan']);
      expect(res.body.plan.actual.rows).toBe(2);
      expect(res.body.plan.actual.affectedRows).toBe(0);
      expect(typeof res.body.plan.actual.durationMs).toBe('number');
      expect(res.body.plan.actual.durationMs).toBeGreaterThanOrEqual(0);
      const some = await t.exec(`SELECT v FROM ${name} WHERE id = ${dialect().placeholder(0)}`, [2], {
        explain: 'analyze',
      });
      expect(some.status, JSON.stringify(some.body)).toBe(200);
      expect(some.body.plan.actual.rows).toBe(1);
      expect(String(some.body.plan.plan[0].detail)).toMatch(/SEARCH|PRIMARY KEY|INTEGER PRIMARY KEY/);
    } else expect(res.body.plan.actual).toBeUndefined();
  });

  it('explain: "analyze" of a statement that fails while running is its coded error, and changes nothing', async () => {
    if (analyze() === 'none') return;
    // A row that breaks the primary key fails only when it runs (the plan alone is fine): PostgreSQL's
    // rolled-back run says so; SQLite and MariaDB refuse the write in their READ ONLY transaction first.
    const res = await t.exec(`INSERT INTO ${name} (id, v) VALUES (1, 'dup')`, undefined, {
      explain: 'analyze',
    });
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(res.body.error.code).toBe(analyze() === 'rollback' ? 'UNIQUE_VIOLATION' : 'READ_ONLY_VIOLATION');
    expect(await count()).toBe(2);
  });

  it('explain: "analyze" of an INSERT leaves no row (rolled back, or refused by a READ ONLY transaction)', async () => {
    const res = await t.exec(`INSERT INTO ${name} (id, v) VALUES (20, 'analyzed')`, undefined, {
      explain: 'analyze',
    });
    if (analyze() === 'rollback') {
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      expect(res.body.plan.analyze).toBe(true);
      expect(res.body.plan.plan[0].Plan.Operation ?? res.body.plan.plan[0].Plan['Node Type']).toMatch(
        /Insert|ModifyTable/,
      );
    } else if (analyze() === 'read-only') {
      expect(res.status).toBe(403);
      expect(res.body.error.code).toBe('READ_ONLY_VIOLATION');
    } else {
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe('UNSUPPORTED_FEATURE');
    }
    expect(await count()).toBe(2);
    const row = await t.exec(`SELECT count(*) AS n FROM ${name} WHERE id = 20`);
    expect(Number(row.body.rows[0].n)).toBe(0);
    // The pooled connection is clean afterwards: autocommit writes still commit.
    const ins = await t.exec(`INSERT INTO ${name} (id, v) VALUES (30, 'kept')`);
    expect(ins.status).toBe(200);
    expect(await count()).toBe(3);
    await t.exec(`DELETE FROM ${name} WHERE id = 30`);
  });

  it('explain of bad SQL is the database error, coded', async () => {
    const res = await t.exec('SELECT * FROM no_such_table_for_explain', undefined, { explain: true });
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(res.body.error.code).toMatch(/^[A-Z_]+$/);
    expect(res.body.error.code).not.toBe('INTERNAL');
  });
});
