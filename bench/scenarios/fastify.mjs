/**
 * Scenario 3: the gateway answering a trivial SQLite query vs a bare Fastify server (bench/empty-fastify.mjs:
 * same Fastify version, an empty POST route, separate process) under the same wrk load. The ratio is what
 * sqlgate adds on top of Fastify: schemas, hooks, the backend, the worker-thread hop, serialization.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { POINT_SQL } from '../lib/data.mjs';
import { freePort, memoryOf, ROOT, sleep } from '../lib/proc.mjs';
import { median } from '../lib/stats.mjs';

export const id = 'fastify';
export const title = '3 SQLite via gateway vs empty Fastify';

async function startEmptyFastify() {
  const port = await freePort();
  const child = spawn(process.execPath, [join(ROOT, 'bench/empty-fastify.mjs'), String(port)], {
    stdio: 'ignore',
  });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 400; i++) {
    try {
      const r = await fetch(`${url}/v1/execute`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{}',
      });
      if (r.status === 200) break;
    } catch {}
    await sleep(10);
  }
  return {
    url,
    pid: child.pid,
    cpuSeconds: () => Number.NaN,
    memory: () => memoryOf(child.pid),
    stop: () =>
      new Promise((r) => {
        child.once('exit', r);
        child.kill('SIGTERM');
      }),
  };
}

export async function run(ctx) {
  const b = ctx.backends.find((x) => x.driver === 'sqlite');
  if (!b || b.skip) {
    ctx.skipRow(title, 'sqlite', b?.skip ?? 'needs the SQLite backend (not selected with --backends)');
    return { skipped: true };
  }
  const body = { sql: POINT_SQL.sqlite, params: [1] };
  const gw = await ctx.gateway('fastify-sqlite', b, { pool: 2 });
  const bare = await startEmptyFastify();
  const out = {};
  try {
    await ctx.gatewayRun(gw, { body, connections: 16, durationS: ctx.opts.warmupS });
    await ctx.gatewayRun(bare, { body, connections: 16, durationS: ctx.opts.warmupS });
    for (const c of [1, 16]) {
      ctx.log(`fastify c=${c}: ${ctx.opts.rounds} alternating rounds`);
      const [g, f] = await ctx.alternate([
        () => ctx.gatewayRun(gw, { body, connections: c }),
        () => ctx.gatewayRun(bare, { body, connections: c }),
      ]);
      const gRps = median(g.map((x) => x.rps));
      const fRps = median(f.map((x) => x.rps));
      const gP50 = median(g.map((x) => x.latencyMs.p50));
      const fP50 = median(f.map((x) => x.latencyMs.p50));
      out[c] = { gateway: g, fastify: f, gRps, fRps, ratio: gRps / fRps, gP50, fP50 };
      ctx.row({
        scenario: `${title} c=${c}`,
        backend: 'sqlite',
        metric: 'requests/s',
        gateway: gRps,
        baseline: fRps,
        ratio: gRps / fRps,
        target: c === 16 ? { min: 0.8 } : undefined,
        rss: gw.memory().peakRssMiB,
      });
      if (c === 1) {
        ctx.row({
          scenario: `${title} c=1`,
          backend: 'sqlite',
          metric: 'p50 latency ms (added)',
          gateway: gP50,
          baseline: fP50,
          ratioText: `+${(gP50 - fP50).toFixed(3)} ms`,
          rss: gw.memory().peakRssMiB,
        });
      }
    }
    out.peakRssMiB = gw.memory().peakRssMiB;
    out.fastifyPeakRssMiB = bare.memory().peakRssMiB;
  } finally {
    await gw.stop();
    await bare.stop();
  }
  return out;
}
