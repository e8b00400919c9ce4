/**
 * Scenario 6: cold start, from spawning `node dist/src/cli.js serve` to the first successful
 * POST /v1/execute (polled every 5 ms), median of 5 starts per backend. The baseline is a bare `node -e 0`
 * (start and exit) measured in the same run: the part of the wall time Node itself needs on this machine.
 * The CPU the gateway used until ready is reported too; it varies less with the machine's load.
 */
import { spawnSync } from 'node:child_process';
import { median } from '../lib/stats.mjs';

function bareNodeMs() {
  const t0 = performance.now();
  spawnSync(process.execPath, ['-e', '0']);
  return performance.now() - t0;
}

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
    const cpu = [];
    const bare = [];
    let rss = Number.NaN;
    for (let i = 0; i < ctx.opts.coldStarts; i++) {
      bare.push(bareNodeMs());
      const gw = await ctx.gateway(`coldstart-${b.driver}-${i}`, b, { pool: b.driver === 'sqlite' ? 2 : 10 });
      times.push(gw.readyMs);
      cpu.push(gw.readyCpuMs);
      rss = gw.memory().peakRssMiB;
      await gw.stop();
    }
    const ms = median(times);
    out[b.driver] = { times, cpuMs: cpu, bareNodeMs: bare, medianMs: ms, peakRssMiB: rss };
    ctx.row({
      scenario: `${title} (median of ${times.length})`,
      backend: b.driver,
      metric: 'ms to first query (CPU ms)',
      gateway: `${ms.toFixed(0)} (${median(cpu).toFixed(0)})`,
      baseline: `node -e 0: ${median(bare).toFixed(0)}`,
      ratioText: `${Math.min(...times).toFixed(0)}–${Math.max(...times).toFixed(0)} ms`,
      target: { max: 300, value: ms, text: '< 300 ms' },
      rss,
    });
  }
  return out;
}
