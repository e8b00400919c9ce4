#!/usr/bin/env node
/**
 * The protocol endpoints against our own API, same gateway, same run: a point query through the real
 * neon() client (POST /sql, PostgreSQL) and through the real @libsql/client (Hrana /v2/pipeline, SQLite),
 * each against the same query sent with fetch to POST /v1/execute on the same backend. Rounds alternate
 * (A B B A ...) so drift on this shared machine hits both sides alike; the figure is the ratio of the
 * medians of queries/s (target >= 0.9x). A third line sends the Hrana pipeline with plain fetch, which
 * separates the endpoint's cost from the client library's; CPU per query (gateway and client process) is
 * printed for each side. Every reply is checked, so errors cannot pass for speed.
 *
 *   npm run build && node bench/compat.mjs [--rounds=3] [--duration=2] [--concurrency=8]
 *
 * PostgreSQL from SQLGATE_BENCH_PG_URL (default postgres://sqlgate@127.0.0.1:5432/test); without it
 * reachable only the SQLite line runs.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createClient } from '@libsql/client';
import { neon, neonConfig } from '@neondatabase/serverless';
import { PG_URL } from './lib/drivers.mjs';
import { startGateway } from './lib/proc.mjs';
import { median } from './lib/stats.mjs';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    duration: { type: 'string', default: '2' },
    concurrency: { type: 'string', default: '8' },
  },
});
const ROUNDS = Math.max(3, Number(values.rounds));
const DURATION_MS = Number(values.duration) * 1000;
const CONCURRENCY = Number(values.concurrency);

/**
 * Runs `once` from CONCURRENCY workers for DURATION_MS: queries/s, and CPU per query of the gateway process
 * (all its threads, from /proc) and of this process (the client library's own work), in microseconds.
 * CPU per query is steadier than queries/s on a shared machine: it does not count time spent waiting.
 */
async function load(once) {
  const end = performance.now() + DURATION_MS;
  let n = 0;
  const worker = async () => {
    while (performance.now() < end) {
      await once();
      n++;
    }
  };
  const started = performance.now();
  const gw0 = gw.cpuSeconds();
  const me0 = process.cpuUsage();
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  const me = process.cpuUsage(me0);
  const gwUs = ((gw.cpuSeconds() - gw0) * 1e6) / n;
  return { qps: n / ((performance.now() - started) / 1000), gwUs, clientUs: (me.user + me.system) / n };
}

/** Alternating rounds of A and B (A B, B A, A B ...); medians and the ratio B/A. */
async function compare(label, a, b) {
  // Warm both paths (connections, JIT) before anything is counted.
  for (let i = 0; i < 200; i++) await Promise.all([a.once(), b.once()]);
  const ra = [];
  const rb = [];
  for (let r = 0; r < ROUNDS; r++) {
    if (r % 2 === 0) {
      ra.push(await load(a.once));
      rb.push(await load(b.once));
    } else {
      rb.push(await load(b.once));
      ra.push(await load(a.once));
    }
  }
  const m = (rs, k) => median(rs.map((x) => x[k]));
  const ratio = m(rb, 'qps') / m(ra, 'qps');
  console.log(
    `${label.padEnd(46)} ${b.name}: ${m(rb, 'qps').toFixed(0)} q/s  ${a.name}: ${m(ra, 'qps').toFixed(0)} q/s  ` +
      `ratio ${ratio.toFixed(2)}x ${ratio >= 0.9 ? '(>= 0.9x ok)' : '(BELOW 0.9x)'}`,
  );
  console.log(
    `${''.padEnd(46)} gateway CPU/query ${b.name} ${m(rb, 'gwUs').toFixed(0)} us, ${a.name} ${m(ra, 'gwUs').toFixed(0)} us; ` +
      `client CPU/query ${b.name} ${m(rb, 'clientUs').toFixed(0)} us, ${a.name} ${m(ra, 'clientUs').toFixed(0)} us`,
  );
  console.log(
    `${''.padEnd(46)} rounds q/s ${b.name} [${rb.map((x) => x.qps.toFixed(0))}] ${a.name} [${ra.map((x) => x.qps.toFixed(0))}]`,
  );
  return ratio;
}

async function pgReachable() {
  const pg = (await import('pg')).default;
  const c = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 1500 });
  try {
    await c.connect();
    await c.end();
    return true;
  } catch {
    return false;
  }
}

const dir = mkdtempSync(join(tmpdir(), 'sqlgate-compat-bench-'));
mkdirSync(dir, { recursive: true });
const withPg = await pgReachable();
const backends = { lite: { driver: 'sqlite', database: join(dir, 'bench.sqlite'), pool: { max: 2 } } };
if (withPg) backends.pg = { driver: 'postgres', url: PG_URL, pool: { max: 16 } };
const gw = await startGateway({
  name: 'compat',
  logDir: dir,
  config: { logging: { level: 'warn' }, backends, defaultBackend: 'lite' },
  ready: async (url) => (await fetch(`${url}/healthz`)).ok,
});

const v1 = (backend, sql) => ({
  name: '/v1/execute',
  async once() {
    const res = await fetch(`${gw.url}/v1/execute`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ sql, params: [1], backend }),
    });
    const body = await res.json();
    if (res.status !== 200 || Number(body.rows[0].v) !== 1)
      throw new Error(`/v1/execute: ${JSON.stringify(body)}`);
  },
});

const ratios = {};
console.log(
  `compat bench: ${ROUNDS} rounds x ${DURATION_MS / 1000}s per side, concurrency ${CONCURRENCY}, alternating`,
);
try {
  if (withPg) {
    neonConfig.fetchEndpoint = () => `${gw.url}/sql`;
    const sql = neon(`postgresql://bench:x@127.0.0.1:${gw.port}/pg`);
    ratios.neon = await compare('PostgreSQL point query, neon() vs /v1', v1('pg', 'select $1::int as v'), {
      name: 'neon()',
      async once() {
        const rows = await sql.query('select $1::int as v', [1]);
        if (rows[0].v !== 1) throw new Error(`neon(): ${JSON.stringify(rows)}`);
      },
    });
  } else {
    console.log(`PostgreSQL not reachable at ${new URL(PG_URL).host}: the neon() line is skipped`);
  }
  const pipelineBody = JSON.stringify({
    baton: null,
    requests: [
      {
        type: 'execute',
        stmt: { sql: 'select ? as v', args: [{ type: 'integer', value: '1' }], want_rows: true },
      },
      { type: 'close' },
    ],
  });
  ratios.hrana = await compare('SQLite point query, Hrana via fetch vs /v1', v1('lite', 'select ? as v'), {
    name: '/v2/pipeline',
    async once() {
      const res = await fetch(`${gw.url}/hrana/lite/v2/pipeline`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: pipelineBody,
      });
      const body = await res.json();
      if (body.results[0].response.result.rows[0][0].value !== '1') throw new Error(JSON.stringify(body));
    },
  });
  const lib = createClient({ url: `${gw.url}/hrana/lite/` });
  ratios.libsql = await compare('SQLite point query, @libsql/client vs /v1', v1('lite', 'select ? as v'), {
    name: '@libsql/client',
    async once() {
      const r = await lib.execute({ sql: 'select ? as v', args: [1] });
      if (r.rows[0].v !== 1) throw new Error(`@libsql/client: ${JSON.stringify(r.rows)}`);
    },
  });
  lib.close();
} finally {
  await gw.stop();
  rmSync(dir, { recursive: true, force: true });
}
const low = Object.entries(ratios).filter(([, r]) => r < 0.9);
process.exitCode = low.length > 0 ? 1 : 0;
