/**
 * Scenario 5: fan-in. 1,000 concurrent HTTP clients (wrk -c 1000) onto a gateway with a pool of 20
 * PostgreSQL connections: errors (non-2xx + socket errors, target 0) and latency. For contrast, the same
 * number of direct connections to the server, counted by outcome (refusals are SQLSTATE 53300
 * "too many clients"); they are opened at once and closed immediately.
 */
import { join } from 'node:path';
import { POINT_SQL } from '../lib/data.mjs';
import { ROOT, runNodeJson } from '../lib/proc.mjs';

export const id = 'fanin';
export const title = '5 fan-in';

export async function run(ctx) {
  const b = ctx.backends.find((x) => x.driver === 'postgres');
  const clients = ctx.opts.fanInClients;
  const label = `${title} ${clients.toLocaleString('en-US')} clients → pool 20`;
  if (!b || b.skip) {
    const why = b?.skip ?? 'needs the PostgreSQL backend (not selected with --backends)';
    ctx.skipRow(label, 'postgres', why);
    return { skipped: why };
  }
  const gw = await ctx.gateway('fanin-postgres', b, { pool: 20 });
  const body = { sql: POINT_SQL.postgres, params: [1] };
  let r;
  try {
    ctx.log(`fan-in: wrk -c ${clients} for ${ctx.opts.fanInDurationS}s`);
    await ctx.gatewayRun(gw, { body, connections: 16, durationS: ctx.opts.warmupS });
    r = await ctx.gatewayRun(gw, {
      body,
      connections: clients,
      threads: 2,
      durationS: ctx.opts.fanInDurationS,
    });
    r.peakRssMiB = gw.memory().peakRssMiB;
  } finally {
    await gw.stop();
  }
  ctx.log(`fan-in: ${clients} direct connections to PostgreSQL (closed right away)`);
  const direct = await runNodeJson(join(ROOT, 'bench/fan-in-direct.mjs'), {
    url: b.url,
    clients,
    connectTimeoutMs: 10_000,
  });
  const errors = Object.values(r.errors).reduce((a, e) => a + e, 0);
  const e = r.errors;
  ctx.row({
    scenario: label,
    backend: 'postgres',
    metric: 'errors (non-2xx + socket)',
    gateway: `${errors} of ${r.requests.toLocaleString('en-US')}`,
    baseline: `${direct.tooManyClients + direct.otherErrors} of ${clients} direct refused`,
    ratioText: `${e.status}/${e.connect}/${e.read}/${e.write}/${e.timeout}`,
    target: { max: 0, value: errors, text: '0 errors' },
    rss: r.peakRssMiB,
  });
  ctx.row({
    scenario: label,
    backend: 'postgres',
    metric: 'p50 / p99 latency ms',
    gateway: `${r.latencyMs.p50.toFixed(1)} / ${r.latencyMs.p99.toFixed(1)}`,
    baseline: `max_connections=${direct.maxConnections}, ${direct.ok} connected`,
    ratioText: `${Math.round(r.rps).toLocaleString('en-US')} req/s`,
    rss: r.peakRssMiB,
  });
  return { gateway: r, direct };
}
