import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PG_URL, testBackends } from '../helpers/backends.js';
import { client } from './http-client.js';
import {
  type Proc,
  startProcess,
  startReplica,
  stopAll,
  tempDir,
  toolSkipReason,
  waitFor,
} from './processes.js';

/**
 * Three sqlgate replicas behind nginx with the shipped deploy/nginx/nginx.conf (placeholders filled in):
 * sessions stick to the replica their id names, stateless requests spread, a forged prefix is refused,
 * and a dead replica's session gets a coded error while stateless traffic goes on.
 * Ports (this test's range): nginx 18865, replicas 18874-18876.
 */

const LB = 'http://127.0.0.1:18865';
const PORTS = { r1: 18874, r2: 18875, r3: 18876 } as const;
const SECRET = 'nginx-test-shared-secret-0123456789abcdef';

const pgBackend = (await testBackends()).find((b) => b.driver === 'postgres');
const skip = pgBackend?.skipReason ?? toolSkipReason('nginx', 'apt-get install nginx-light');

describe.skipIf(skip)('replicas behind nginx (session affinity by the id in the path)', () => {
  const call = client(LB);
  const replicas: Record<string, Proc> = {};
  let nginx: Proc;

  beforeAll(async () => {
    const started = await Promise.all(
      (['r1', 'r2', 'r3'] as const).map((id) =>
        startReplica(PORTS[id], {
          logging: { level: 'warn' },
          sessions: { replica: { id, secret: SECRET } },
          backends: { db: { driver: 'postgres', url: PG_URL, pool: { max: 4 } } },
        }),
      ),
    );
    Object.assign(replicas, { r1: started[0], r2: started[1], r3: started[2] });
    const prefix = tempDir('nginx');
    for (const d of ['body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']) mkdirSync(join(prefix, d));
    const conf = readFileSync(join(import.meta.dirname, '../../deploy/nginx/nginx.conf'), 'utf8')
      .replaceAll('__PREFIX__', prefix)
      .replaceAll('__LISTEN__', '127.0.0.1:18865')
      .replaceAll('__R1__', `127.0.0.1:${PORTS.r1}`)
      .replaceAll('__R2__', `127.0.0.1:${PORTS.r2}`)
      .replaceAll('__R3__', `127.0.0.1:${PORTS.r3}`);
    const file = join(prefix, 'nginx.conf');
    writeFileSync(file, conf);
    nginx = startProcess('nginx', ['-p', prefix, '-c', file]);
    await waitFor(`nginx up: ${nginx.logs.join('')}`, async () => {
      if (nginx.proc.exitCode !== null) throw new Error(`nginx exited: ${nginx.logs.join('')}`);
      return (await call('GET', '/healthz')).status === 200;
    });
  }, 90_000);

  afterAll(async () => {
    // SIGTERM to the master stops its workers too; stopAll's SIGKILL would leave them orphaned, listening.
    if (nginx && nginx.proc.exitCode === null && nginx.proc.signalCode === null) {
      const exited = new Promise((r) => nginx.proc.once('exit', r));
      nginx.proc.kill('SIGTERM');
      await exited;
    }
    await stopAll();
  });

  it('spreads session opens over every replica, and each session sticks to its owner', async () => {
    const owners = new Map<string, number>();
    for (let i = 0; i < 9; i++) {
      const open = await call('POST', '/v1/sessions', {});
      expect(open.status, JSON.stringify(open.body)).toBe(201);
      const id: string = open.body.id;
      const owner = id.split('.')[0] as string;
      owners.set(owner, (owners.get(owner) ?? 0) + 1);
      // A temp table lives on the owner's pinned connection only.
      const mk = await call('POST', `/v1/sessions/${id}/execute`, { sql: 'CREATE TEMP TABLE mine (x int)' });
      expect(mk.status, JSON.stringify(mk.body)).toBe(200);
      for (let n = 0; n < 3; n++) {
        const ins = await call('POST', `/v1/sessions/${id}/execute`, {
          sql: 'INSERT INTO mine VALUES ($1)',
          params: [n],
        });
        expect(ins.status, JSON.stringify(ins.body)).toBe(200);
      }
      const read = await call('POST', `/v1/sessions/${id}/execute`, {
        sql: 'SELECT sum(x)::int AS s FROM mine',
      });
      expect(read.body.rows).toEqual([{ s: 3 }]);
      expect((await call('POST', `/v1/sessions/${id}/commit`, {})).status).toBe(200);
    }
    expect([...owners.keys()].sort()).toEqual(['r1', 'r2', 'r3']);
  });

  it('a session id whose prefix was changed is not found on the replica it now names', async () => {
    const open = await call('POST', '/v1/sessions', {});
    const id: string = open.body.id;
    const owner = id.split('.')[0] as string;
    const other = ['r1', 'r2', 'r3'].find((r) => r !== owner) as string;
    const redirected = await call('GET', `/v1/sessions/${other}${id.slice(owner.length)}`);
    expect(redirected.status).toBe(404);
    expect(redirected.body.error.code).toBe('SESSION_NOT_FOUND');
    expect((await call('DELETE', `/v1/sessions/${id}`)).status).toBe(200);
  });

  it("a dead replica's session gets a coded error; stateless requests keep working", async () => {
    let dead: string | undefined;
    for (let i = 0; i < 6 && !dead; i++) {
      const open = await call('POST', '/v1/sessions', {});
      if (open.body.id.startsWith('r2.')) dead = open.body.id;
      else await call('DELETE', `/v1/sessions/${open.body.id}`);
    }
    expect(dead).toBeDefined();
    replicas.r2?.proc.kill('SIGKILL');
    await waitFor(
      'r2 gone',
      async () => replicas.r2?.proc.exitCode !== null || replicas.r2?.proc.signalCode !== null,
    );
    const gone = await call('POST', `/v1/sessions/${dead}/execute`, { sql: 'SELECT 1' });
    expect(gone.status).toBe(502);
    expect(gone.body.error.code).toBe('BACKEND_UNAVAILABLE');
    for (let i = 0; i < 12; i++) {
      const r = await call('POST', '/v1/execute', { sql: 'SELECT $1::int AS n', params: [i] });
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      expect(r.body.rows).toEqual([{ n: i }]);
    }
    // New sessions open on the survivors only.
    for (let i = 0; i < 4; i++) {
      const open = await call('POST', '/v1/sessions', {});
      expect(open.status, JSON.stringify(open.body)).toBe(201);
      expect(open.body.id.startsWith('r2.')).toBe(false);
      await call('DELETE', `/v1/sessions/${open.body.id}`);
    }
  }, 60_000);
});
