/**
 * Scenario 1: a one-row point query with one param through POST /v1/execute vs the raw driver in its own
 * process with the same pool size, at concurrency 1, 16 and 64.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { POINT_SQL } from '../lib/data.mjs';
import { cpuSecondsOf, freePort, memoryOf, postJson, ROOT, sleep } from '../lib/proc.mjs';
import { median } from '../lib/stats.mjs';

/** bench/naive-gateway.mjs: Fastify + the raw driver, the reference the targets are set against. */
async function startNaive(b, pool) {
  const port = await freePort();
  const child = spawn(
    process.execPath,
    [
      join(ROOT, 'bench/naive-gateway.mjs'),
      JSON.stringify({ port, driver: b.driver, url: b.url, file: b.file, pool }),
    ],
    { stdio: 'ignore' },
  );
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 500; i++) {
    const ok = await postJson(`${url}/v1/execute`, { sql: POINT_SQL[b.driver], params: [1] }).then(
      (r) => r.status === 200,
      () => false,
    );
    if (ok) break;
    await sleep(10);
  }
  return {
    url,
    cpuSeconds: () => cpuSecondsOf(child.pid),
    memory: () => memoryOf(child.pid),
    stop: () =>
      new Promise((r) => {
        child.once('exit', r);
        child.kill('SIGTERM');
      }),
  };
}

export const id = 'point';
export const title = '1 point query';

export async function run(ctx) {
  const out = {};
  for (const b of ctx.backends) {
    if (b.skip) {
      ctx.skipRow(title, b.driver, b.skip);
      continue;
    }
    // SQLite's "pool" is worker threads; more than the 2 cores only adds context switches.
    const pool = b.driver === 'sqlite' ? 2 : 16;
    const body = { sql: POINT_SQL[b.driver], params: [1] };
    const gw = await ctx.gateway(`point-${b.driver}`, b, { pool });
    try {
      ctx.log(`point ${b.driver}: warm-up`);
      await ctx.gatewayRun(gw, { body, connections: 16, durationS: ctx.opts.warmupS });
      const perC = {};
      for (const c of ctx.opts.concurrency) {
        ctx.log(`point ${b.driver} c=${c}: ${ctx.opts.rounds} alternating rounds`);
        const [g, r] = await ctx.alternate([
          () => ctx.gatewayRun(gw, { body, connections: c }),
          () =>
            ctx.rawRun({
              mode: 'loop',
              driver: b.driver,
              url: b.url,
              file: b.file,
              pool: b.driver === 'sqlite' ? 1 : pool,
              concurrency: c,
              sql: POINT_SQL[b.driver],
              params: [1],
            }),
        ]);
        const gRps = median(g.map((x) => x.rps));
        const rOps = median(r.map((x) => x.opsPerS));
        const gP50 = median(g.map((x) => x.latencyMs.p50));
        const rP50 = median(r.map((x) => x.latencyMs.p50));
        perC[c] = { gateway: g, raw: r, gRps, rOps, ratio: gRps / rOps, gP50, rP50, addedP50Ms: gP50 - rP50 };
        const errors = g.reduce((n, x) => n + Object.values(x.errors).reduce((a, e) => a + e, 0), 0);
        if (errors > 0) ctx.notes.push(`point ${b.driver} c=${c}: ${errors} HTTP errors during the runs`);
      }
      // The same load against a naive Fastify + driver gateway (c=16): what sqlgate's own layer costs.
      ctx.log(`point ${b.driver} c=16: sqlgate vs a naive Fastify + driver gateway`);
      const naive = await startNaive(b, b.driver === 'sqlite' ? 1 : pool);
      let vsNaive;
      try {
        await ctx.gatewayRun(naive, { body, connections: 16, durationS: ctx.opts.warmupS });
        const [g, n] = await ctx.alternate([
          () => ctx.gatewayRun(gw, { body, connections: 16 }),
          () => ctx.gatewayRun(naive, { body, connections: 16 }),
        ]);
        vsNaive = {
          gateway: g,
          naive: n,
          gRps: median(g.map((x) => x.rps)),
          nRps: median(n.map((x) => x.rps)),
          gCpuUs: median(g.map((x) => x.serverCpuUsPerReq)),
          nCpuUs: median(n.map((x) => x.serverCpuUsPerReq)),
        };
      } finally {
        await naive.stop();
      }
      const rss = gw.memory().peakRssMiB;
      for (const c of ctx.opts.concurrency) {
        const p = perC[c];
        ctx.row({
          scenario: `${title} c=${c}`,
          backend: b.driver,
          metric: 'queries/s',
          gateway: p.gRps,
          baseline: p.rOps,
          ratio: p.ratio,
          target: c >= 16 ? { min: 0.8 } : undefined,
          rss,
        });
        if (c === 1) {
          ctx.row({
            scenario: `${title} c=1`,
            backend: b.driver,
            metric: 'p50 latency ms (added)',
            gateway: p.gP50,
            baseline: p.rP50,
            ratioText: `+${p.addedP50Ms.toFixed(3)} ms`,
            target: { max: 0.1, value: p.addedP50Ms, text: '≤ +0.100 ms' },
            rss,
          });
        }
      }
      ctx.row({
        scenario: `${title} c=16, vs naive gateway`,
        backend: b.driver,
        metric: 'queries/s (CPU µs/query)',
        gateway: `${Math.round(vsNaive.gRps).toLocaleString('en-US')} (${vsNaive.gCpuUs.toFixed(0)})`,
        baseline: `${Math.round(vsNaive.nRps).toLocaleString('en-US')} (${vsNaive.nCpuUs.toFixed(0)})`,
        ratio: vsNaive.gRps / vsNaive.nRps,
        rss,
      });
      const raw16 = perC[16]?.rOps;
      if (raw16) {
        ctx.notes.push(
          `${b.driver} point c=16: the naive Fastify + driver gateway keeps ` +
            `${(vsNaive.nRps / raw16).toFixed(2)}× of the raw driver, sqlgate ${(perC[16].gRps / raw16).toFixed(2)}×`,
        );
      }
      out[b.driver] = { pool, perC, vsNaive, peakRssMiB: rss };
    } finally {
      await gw.stop();
    }
  }
  return out;
}
