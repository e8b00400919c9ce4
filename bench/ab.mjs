#!/usr/bin/env node
/**
 * A/B: two gateway variants under the same wrk load, alternating A B B A ..., to record before/after
 * numbers for an optimization on this noisy machine. A variant is a build (path to its cli.js) and/or node
 * flags. Reports medians of requests/s, p50 latency and gateway CPU µs per request (from /proc: all threads).
 *
 *   node bench/ab.mjs --a-cli=/tmp/before/dist/src/cli.js [--b-cli=dist/src/cli.js]
 *                     [--a-node=--max-semi-space-size=64] [--b-node=...]
 *                     [--backend=postgres] [--sql='select ...'] [--params='[1]'] [--connections=16]
 *                     [--rounds=5] [--duration=3] [--pool=16]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { BenchContext, DEFAULT_BACKENDS } from './lib/context.mjs';
import { POINT_SQL } from './lib/data.mjs';
import { CLI, ROOT } from './lib/proc.mjs';
import { median } from './lib/stats.mjs';

const { values } = parseArgs({
  options: {
    'a-cli': { type: 'string', default: CLI },
    'b-cli': { type: 'string', default: CLI },
    'a-node': { type: 'string', default: '' },
    'b-node': { type: 'string', default: '' },
    backend: { type: 'string', default: 'postgres' },
    sql: { type: 'string' },
    params: { type: 'string' },
    connections: { type: 'string', default: '16' },
    rounds: { type: 'string', default: '5' },
    duration: { type: 'string', default: '3' },
    pool: { type: 'string' },
    'rows-per-request': { type: 'string', default: '1' },
  },
});

const dataDir = mkdtempSync(join(tmpdir(), 'sqlgate-ab-'));
const runDir = join(ROOT, 'bench/results', `ab-${new Date().toISOString().replace(/[:.]/g, '-')}`);
const b = DEFAULT_BACKENDS().find((x) => x.driver === values.backend);
if (b.driver === 'sqlite') b.file = join(dataDir, 'bench.sqlite');
const ctx = new BenchContext({
  opts: { durationS: Number(values.duration), rounds: Number(values.rounds) },
  runDir,
  tmpDir: dataDir,
  backends: [b],
});
const { mkdirSync } = await import('node:fs');
mkdirSync(runDir, { recursive: true });
if (values.sql?.includes('sqlgate_bench_wide')) {
  const { openRaw } = await import('./lib/drivers.mjs');
  const { ensureWide } = await import('./lib/data.mjs');
  const raw = await openRaw(b);
  await ensureWide(raw, b.driver);
  await raw.close();
}
const body = {
  sql: values.sql ?? POINT_SQL[b.driver],
  params: values.params ? JSON.parse(values.params) : values.sql ? [] : [1],
};
const pool = Number(values.pool ?? (b.driver === 'sqlite' ? 2 : 16));
const connections = Number(values.connections);
const variants = ['a', 'b'].map((k) => ({
  name: k.toUpperCase(),
  cli: resolve(values[`${k}-cli`]),
  nodeArgs: values[`${k}-node`] ? values[`${k}-node`].split(' ') : [],
}));
const gws = [];
for (const v of variants) {
  gws.push(await ctx.gateway(`ab-${v.name}`, b, { pool, nodeArgs: v.nodeArgs, cli: v.cli }));
}
try {
  for (const gw of gws) await ctx.gatewayRun(gw, { body, connections, durationS: 2 });
  const res = await ctx.alternate(gws.map((gw) => () => ctx.gatewayRun(gw, { body, connections })));
  const rows = Number(values['rows-per-request']);
  const summary = variants.map((v, i) => ({
    variant: `${v.name}: ${v.cli.replace(`${ROOT}/`, '')} ${v.nodeArgs.join(' ')}`.trim(),
    rps: median(res[i].map((x) => x.rps)),
    rowsPerS: median(res[i].map((x) => (connections * rows) / (x.latencyMs.mean / 1000))),
    p50: median(res[i].map((x) => x.latencyMs.p50)),
    cpuUs: median(res[i].map((x) => x.serverCpuUsPerReq)),
    peakRssMiB: gws[i].memory().peakRssMiB,
    errors: res[i].reduce((n, x) => n + Object.values(x.errors).reduce((a, e) => a + e, 0), 0),
  }));
  process.stdout.write(`${JSON.stringify({ body, connections, pool, rounds: ctx.opts.rounds })}\n`);
  for (const s of summary) {
    process.stdout.write(
      `${s.variant}\n   ${Math.round(s.rps)} req/s${rows > 1 ? ` (${Math.round(s.rowsPerS)} rows/s)` : ''}, p50 ${s.p50.toFixed(3)} ms, ` +
        `${s.cpuUs.toFixed(0)} µs CPU/req, peak RSS ${s.peakRssMiB.toFixed(0)} MiB, ${s.errors} errors\n`,
    );
  }
  const [a, bb] = summary;
  process.stdout.write(
    `B/A: req/s ${(bb.rps / a.rps).toFixed(3)}×, CPU/req ${(bb.cpuUs / a.cpuUs).toFixed(3)}×, p50 ${(bb.p50 - a.p50).toFixed(3)} ms\n`,
  );
} finally {
  for (const gw of gws) await gw.stop();
  rmSync(dataDir, { recursive: true, force: true });
}
