/**
 * Scenario 6: cold start, from spawning `node dist/src/cli.js serve` to the first successful
 * POST /v1/execute (polled every 5 ms), median of 5 starts per backend.
 */
import { median } from '../lib/stats.mjs';

export const id = 'coldstart';
export const title = '6 cold start to first query';

export async function run(ctx) {
  const out = {};
  for (const b of ctx.backends) {
    if (b.skip) {
      ctx.skipRow(title, b.driver, b.skip);
      continue;
    }
    const times = [];
    let rss = Number.NaN;
    for (let i = 0; i < ctx.opts.coldStarts; i++) {
      const gw = await ctx.gateway(`coldstart-${b.driver}-${i}`, b, { pool: b.driver === 'sqlite' ? 2 : 10 });
      times.push(gw.readyMs);
      rss = gw.memory().peakRssMiB;
      await gw.stop();
    }
    const ms = median(times);
    out[b.driver] = { times, medianMs: ms, peakRssMiB: rss };
    ctx.row({
      scenario: `${title} (median of ${times.length})`,
      backend: b.driver,
      metric: 'ms',
      gateway: ms,
      baseline: '',
      ratioText: `${Math.min(...times).toFixed(0)}–${Math.max(...times).toFixed(0)} ms`,
      target: { max: 300, value: ms, text: '< 300 ms' },
      rss,
    });
  }
  return out;
}
