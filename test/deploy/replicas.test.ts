import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PG_URL, testBackends, uniqueName } from '../helpers/backends.js';
import { client, type Reply, replicaStates } from './http-client.js';
import {
  type Proc,
  startProcess,
  startReplica,
  stopAll,
  tcpRelay,
  toolSkipReason,
  waitFor,
} from './processes.js';

/**
 * Three sqlgate replicas behind HAProxy with the shipped deploy/haproxy/haproxy.cfg, on PostgreSQL:
 * session affinity by the signed replica prefix of the session id, stateless requests spread, the
 * SERIALIZABLE increment contention run with one replica killed mid-run, and /readyz-based removal.
 * Ports (this test's range): balancer 18870, stats 18868, replicas 18871-18873.
 */

const LB = 'http://127.0.0.1:18870';
const STATS = 'http://127.0.0.1:18868';
const PORTS = { r1: 18871, r2: 18872, r3: 18873 } as const;
const SECRET = 'replica-test-shared-secret-0123456789abcdef';
const CLIENTS = 8;
const INCREMENTS = 12;
/** The kill happens once this many increments are acknowledged. */
const KILL_AFTER = 30;

const pgBackend = (await testBackends()).find((b) => b.driver === 'postgres');
const skip = pgBackend?.skipReason ?? toolSkipReason('haproxy', 'apt-get install haproxy');

function replicaDoc(id: string, url: string) {
  return {
    logging: { level: 'warn' },
    sessions: { replica: { id, secret: SECRET } },
    backends: { db: { driver: 'postgres', url, pool: { max: 6 } } },
  };
}

describe.skipIf(skip)('replicas behind HAProxy (session affinity, failover, /readyz removal)', () => {
  const call = client(LB);
  const replicas: Record<string, Proc> = {};
  let relay: Awaited<ReturnType<typeof tcpRelay>>;
  let haproxy: Proc;
  const db = new pg.Client({ connectionString: PG_URL });

  beforeAll(async () => {
    await db.connect();
    const u = new URL(PG_URL);
    // r3 reaches PostgreSQL through a relay the test can cut, to fail its /readyz while it stays alive.
    relay = await tcpRelay({ host: u.hostname, port: Number(u.port || 5432) });
    const viaRelay = new URL(PG_URL);
    viaRelay.host = `127.0.0.1:${relay.port}`;
    const [r1, r2, r3] = await Promise.all([
      startReplica(PORTS.r1, replicaDoc('r1', PG_URL)),
      startReplica(PORTS.r2, replicaDoc('r2', PG_URL)),
      startReplica(PORTS.r3, replicaDoc('r3', viaRelay.toString())),
    ]);
    Object.assign(replicas, { r1, r2, r3 });
    haproxy = startProcess(
      'haproxy',
      ['-db', '-f', join(import.meta.dirname, '../../deploy/haproxy/haproxy.cfg')],
      {
        SQLGATE_LB_BIND: '127.0.0.1:18870',
        SQLGATE_LB_STATS: '127.0.0.1:18868',
        SQLGATE_R1: `127.0.0.1:${PORTS.r1}`,
        SQLGATE_R2: `127.0.0.1:${PORTS.r2}`,
        SQLGATE_R3: `127.0.0.1:${PORTS.r3}`,
      },
    );
    await waitFor(`all replicas UP in HAProxy: ${haproxy.logs.join('')}`, async () => {
      const s = await replicaStates(STATS);
      return ['r1', 'r2', 'r3'].every((r) => s[r]?.status === 'UP');
    });
  }, 90_000);

  afterAll(async () => {
    await stopAll();
    await relay?.close();
    await db.end();
  });

  it('spreads stateless requests over every replica', async () => {
    const before = await replicaStates(STATS);
    for (let i = 0; i < 30; i++) {
      const r = await call('POST', '/v1/execute', { sql: 'SELECT $1::int AS n', params: [i] });
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      expect(r.body.rows).toEqual([{ n: i }]);
    }
    const after = await replicaStates(STATS);
    for (const r of ['r1', 'r2', 'r3']) {
      expect((after[r]?.stot ?? 0) - (before[r]?.stot ?? 0), r).toBeGreaterThanOrEqual(5);
    }
  });

  it('routes a session to its owner by the id (path and body forms); a redirected id is not found', async () => {
    const owners = new Set<string>();
    for (let i = 0; i < 6; i++) {
      const open = await call('POST', '/v1/sessions', {});
      expect(open.status, JSON.stringify(open.body)).toBe(201);
      const id: string = open.body.id;
      const owner = id.split('.')[0] as string;
      owners.add(owner);
      // Session state (a temp table) is only visible on the owner's pinned connection: every request
      // finding it proves the balancer sent it there.
      expect(
        (await call('POST', `/v1/sessions/${id}/execute`, { sql: 'CREATE TEMP TABLE mine (x int)' })).status,
      ).toBe(200);
      const viaBody = await call('POST', '/v1/execute', { session: id, sql: 'INSERT INTO mine VALUES (1)' });
      expect(viaBody.status, JSON.stringify(viaBody.body)).toBe(200);
      const read = await call('POST', `/v1/sessions/${id}/execute`, {
        sql: 'SELECT count(*)::int AS n FROM mine',
      });
      expect(read.body.rows).toEqual([{ n: 1 }]);
      const other = ['r1', 'r2', 'r3'].find((r) => r !== owner) as string;
      const redirected = await call('GET', `/v1/sessions/${other}${id.slice(owner.length)}`);
      expect(redirected.status).toBe(404);
      expect(redirected.body.error.code).toBe('SESSION_NOT_FOUND');
      expect((await call('DELETE', `/v1/sessions/${id}`)).status).toBe(200);
    }
    expect(owners.size).toBe(3);
  });

  it('SERIALIZABLE increments with one replica killed mid-run: exact total, no acknowledged write lost', async () => {
    const counter = uniqueName('lb_counter');
    const log = uniqueName('lb_log');
    await db.query(`CREATE TABLE ${counter} (id int PRIMARY KEY, v int NOT NULL)`);
    await db.query(`INSERT INTO ${counter} VALUES (1, 0)`);
    await db.query(`CREATE TABLE ${log} (op text PRIMARY KEY)`);

    const acked = new Set<string>();
    /** Ops whose COMMIT got no answer from the owner: committed or not, nobody can say. */
    const unknown = new Set<string>();
    const goneErrors: { owner: string; code: string; step: string }[] = [];
    const unexpected: unknown[] = [];
    let serializationRetries = 0;
    let openLost = 0;
    let killed = false;

    const attempt = async (op: string): Promise<boolean> => {
      const open = await call('POST', '/v1/sessions', { isolationLevel: 'SERIALIZABLE' });
      if (open.status !== 201) {
        // An open in flight on r2 when it died: no id came back, so nothing else can be checked.
        const code = open.body?.error?.code;
        if (code === 'BACKEND_UNAVAILABLE' && killed) {
          openLost++;
          return false;
        }
        unexpected.push({ step: 'open', body: open.body });
        return false;
      }
      const id: string = open.body.id;
      const owner = id.split('.')[0] as string;
      const steps: [string, () => Promise<Reply>][] = [];
      let v = 0;
      steps.push([
        'select',
        async () => {
          const r = await call('POST', `/v1/sessions/${id}/execute`, {
            sql: `SELECT v FROM ${counter} WHERE id = 1`,
          });
          if (r.status === 200) v = r.body.rows[0].v;
          return r;
        },
      ]);
      steps.push([
        'update',
        () =>
          call('POST', '/v1/execute', {
            session: id,
            sql: `UPDATE ${counter} SET v = $1 WHERE id = 1`,
            params: [v + 1],
          }),
      ]);
      steps.push([
        'log',
        () =>
          call('POST', `/v1/sessions/${id}/execute`, {
            sql: `INSERT INTO ${log} (op) VALUES ($1)`,
            params: [op],
          }),
      ]);
      steps.push(['commit', () => call('POST', `/v1/sessions/${id}/commit`, {})]);
      for (const [step, run] of steps) {
        // The kill lands while this client holds an open transaction on r2 (and others may too).
        if (step === 'update' && owner === 'r2' && !killed && acked.size >= KILL_AFTER) {
          killed = true;
          replicas.r2?.proc.kill('SIGKILL');
        }
        const r = await run();
        if (r.status === 200) continue;
        const code: string = r.body?.error?.code ?? `HTTP ${r.status}`;
        if (code === 'SERIALIZATION_FAILURE') {
          serializationRetries++;
          await call('DELETE', `/v1/sessions/${id}`);
          return false;
        }
        // Coded answers only: HAProxy turns a replica that died mid-request into 502 BACKEND_UNAVAILABLE,
        // a surviving replica answers a dead one's signed id the same way. No status at all is a failure.
        if (code === 'BACKEND_UNAVAILABLE' || code === 'SESSION_EXPIRED') {
          goneErrors.push({ owner, code, step });
          if (step === 'commit') unknown.add(op);
          return false;
        }
        unexpected.push({ step, owner, status: r.status, body: r.body });
        await call('DELETE', `/v1/sessions/${id}`);
        return false;
      }
      acked.add(op);
      return true;
    };

    const worker = async (c: number) => {
      for (let n = 0; n < INCREMENTS; n++) {
        for (let a = 0; ; a++) {
          if (a > 200) throw new Error(`client ${c} made no progress`);
          if (await attempt(`c${c}-n${n}-a${a}`)) break;
        }
      }
    };
    await Promise.all(Array.from({ length: CLIENTS }, (_, c) => worker(c)));

    expect(unexpected).toEqual([]);
    expect(killed).toBe(true);
    // Only sessions owned by the killed replica ended, and at least one did.
    expect(goneErrors.length).toBeGreaterThan(0);
    expect(goneErrors.filter((e) => e.owner !== 'r2')).toEqual([]);
    expect(acked.size).toBe(CLIENTS * INCREMENTS);
    const { rows } = await db.query(`SELECT v FROM ${counter} WHERE id = 1`);
    const logged = new Set((await db.query(`SELECT op FROM ${log}`)).rows.map((r) => r.op as string));
    // Exact: the counter equals the committed increments, every acknowledged one is there, and the only
    // extras are commits whose answer was lost with r2.
    expect(rows[0].v).toBe(logged.size);
    expect([...acked].filter((op) => !logged.has(op))).toEqual([]);
    expect([...logged].filter((op) => !acked.has(op) && !unknown.has(op))).toEqual([]);
    expect(rows[0].v).toBe(CLIENTS * INCREMENTS + [...unknown].filter((op) => logged.has(op)).length);
    console.log(
      `[replicas] ${acked.size} acknowledged increments, ${serializationRetries} serialization retries, ` +
        `${goneErrors.length} requests on r2's sessions ended ${[...new Set(goneErrors.map((e) => e.code))].join('/')}, ` +
        `${unknown.size} commit(s) of unknown outcome, ${openLost} open(s) lost; counter ${rows[0].v} = ${logged.size} logged`,
    );
    await db.query(`DROP TABLE ${counter}, ${log}`);
  }, 180_000);

  it('takes a replica whose /readyz fails out of rotation, and back when it recovers', async () => {
    await waitFor('r2 DOWN after the kill', async () => (await replicaStates(STATS)).r2?.status === 'DOWN');
    relay.cut();
    await waitFor(
      'r3 /readyz 503',
      async () => (await fetch(`http://127.0.0.1:${PORTS.r3}/readyz`)).status === 503,
    );
    await waitFor('r3 DOWN in HAProxy', async () => (await replicaStates(STATS)).r3?.status === 'DOWN');
    expect(replicas.r3?.proc.exitCode).toBeNull();
    const before = (await replicaStates(STATS)).r1?.stot ?? 0;
    for (let i = 0; i < 20; i++) {
      const r = await call('POST', '/v1/execute', { sql: 'SELECT 1 AS one' });
      expect(r.status, JSON.stringify(r.body)).toBe(200);
    }
    expect((await replicaStates(STATS)).r1?.stot).toBe(before + 20);
    relay.restore();
    await waitFor('r3 UP again', async () => (await replicaStates(STATS)).r3?.status === 'UP');
    const open = await call('POST', '/v1/sessions', {});
    expect(open.status).toBe(201);
    await call('DELETE', `/v1/sessions/${open.body.id}`);
  }, 60_000);
});
