/**
 * Scenario 2: SELECT of 100 and 10,000 rows of a wide mixed-type table (int8, numeric, text, timestamptz,
 * bytea, jsonb, bool, date, float8, uuid): rows/s through the gateway vs the raw driver, same pool size.
 */
import { WIDE } from '../lib/data.mjs';
import { median } from '../lib/stats.mjs';

export const id = 'wide';
export const title = '2 wide SELECT';

const CONCURRENCY = 4;

export async function run(ctx) {
  const out = {};
  for (const b of ctx.backends) {
    if (b.skip) {
      ctx.skipRow(title, b.driver, b.skip);
      continue;
    }
    const pool = b.driver === 'sqlite' ? 2 : CONCURRENCY;
    const gw = await ctx.gateway(`wide-${b.driver}`, b, { pool });
    try {
      out[b.driver] = {};
      for (const n of [100, 10_000]) {
        const sql = `select * from ${WIDE} order by id limit ${n}`;
        const body = { sql };
        ctx.log(`wide ${b.driver} ${n} rows: warm-up + ${ctx.opts.rounds} alternating rounds`);
        const probe = await fetch(`${gw.url}/v1/execute`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(body),
        });
        const json = await probe.json();
        if (probe.status !== 200 || json.rowCount !== n) {
          throw new Error(
            `wide ${b.driver}: gateway answered ${probe.status} ${JSON.stringify(json).slice(0, 300)}`,
          );
        }
        // A 10,000-row request takes a good part of a second: give every run time for several of them.
        const durationS = n > 1000 ? Math.max(ctx.opts.durationS, 4) : ctx.opts.durationS;
        await ctx.gatewayRun(gw, { body, connections: CONCURRENCY, durationS: ctx.opts.warmupS });
        const [g, r] = await ctx.alternate([
          () => ctx.gatewayRun(gw, { body, connections: CONCURRENCY, durationS }),
          () =>
            ctx.rawRun({
              mode: 'loop',
              driver: b.driver,
              url: b.url,
              file: b.file,
              pool,
              concurrency: CONCURRENCY,
              sql,
              params: [],
              durationS,
            }),
        ]);
        // Closed loop, so throughput = concurrency / mean latency (Little's law): unlike completed/elapsed
        // it is not biased by the few large requests still in flight when a run ends.
        const gRows = median(g.map((x) => (CONCURRENCY * n) / (x.latencyMs.mean / 1000)));
        const rRows = median(r.map((x) => (CONCURRENCY * n) / (x.latencyMs.mean / 1000)));
        out[b.driver][n] = { gateway: g, raw: r, gRows, rRows, ratio: gRows / rRows };
        ctx.row({
          scenario: `${title} ${n.toLocaleString('en-US')} rows`,
          backend: b.driver,
          metric: 'rows/s',
          gateway: gRows,
          baseline: rRows,
          ratio: gRows / rRows,
          target: { min: 0.9 },
          rss: gw.memory().peakRssMiB,
        });
      }
      out[b.driver].peakRssMiB = gw.memory().peakRssMiB;
    } finally {
      await gw.stop();
    }
  }
  return out;
}
