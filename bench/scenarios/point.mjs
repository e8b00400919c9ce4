/**
 * Scenario 1: a one-row point query with one param through POST /v1/execute vs the raw driver in its own
 * process with the same pool size, at concurrency 1, 16 and 64.
 */
import { POINT_SQL } from '../lib/data.mjs';
import { median } from '../lib/stats.mjs';

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
      out[b.driver] = { pool, perC, peakRssMiB: rss };
    } finally {
      await gw.stop();
    }
  }
  return out;
}
