#!/usr/bin/env node
/**
 * `npm run bench`: sqlgate against the raw drivers, measured side by side in the same run.
 * Needs `npm run build` first (it starts the built gateway: node dist/src/cli.js serve) and, for the
 * PostgreSQL/MariaDB rows, the servers from `bash scripts/services.sh`; a backend that is unreachable or
 * that this build cannot serve is skipped with the reason printed.
 *
 *   npm run bench                       full run (~10 min): 3 alternating rounds of 3 s per measurement
 *   npm run bench -- --quick            smoke check: 1 round of 1 s
 *   npm run bench -- --only=point,wide  scenarios: point wide fastify bulk fanin coldstart stream (or 1-7)
 *   npm run bench -- --backends=postgres,sqlite --rounds=5 --duration=5
 *
 * Prints one table and writes bench/results/<time>.json (every run's raw numbers) and <time>.md.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { BenchContext, DEFAULT_BACKENDS, LABEL } from './lib/context.mjs';
import { ensureWide } from './lib/data.mjs';
import { openRaw, reachable } from './lib/drivers.mjs';
import { loadTool } from './lib/load.mjs';
import { ROOT, requireBuild } from './lib/proc.mjs';
import { renderMarkdown, renderTable } from './lib/stats.mjs';
import * as bulk from './scenarios/bulk.mjs';
import * as coldstart from './scenarios/coldstart.mjs';
import * as fanin from './scenarios/fanin.mjs';
import * as fastify from './scenarios/fastify.mjs';
import * as point from './scenarios/point.mjs';
import * as stream from './scenarios/stream.mjs';
import * as wide from './scenarios/wide.mjs';

const SCENARIOS = [point, wide, fastify, bulk, fanin, coldstart, stream];

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    only: { type: 'string' },
    backends: { type: 'string' },
    rounds: { type: 'string' },
    duration: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  },
});
if (values.help) {
  process.stdout.write(
    readFileSync(new URL(import.meta.url), 'utf8')
      .split('*/')[0]
      .replace(/^.*?\/\*\*/s, ''),
  );
  process.exit(0);
}

const quick = values.quick;
const opts = {
  quick,
  rounds: Number(values.rounds ?? (quick ? 1 : 3)),
  durationS: Number(values.duration ?? (quick ? 1 : 3)),
  warmupS: quick ? 1 : 2,
  concurrency: [1, 16, 64],
  bulkRows: 10_000,
  fanInClients: 1000,
  fanInDurationS: quick ? 3 : 10,
  coldStarts: quick ? 3 : 5,
};
const only = values.only
  ?.split(',')
  .map((s) => s.trim())
  .map((s) => (/^\d$/.test(s) ? SCENARIOS[Number(s) - 1]?.id : s));
const chosen = only ? SCENARIOS.filter((s) => only.includes(s.id)) : SCENARIOS;
if (only && chosen.length !== only.length) {
  process.stderr.write(`unknown scenario in --only; choose from ${SCENARIOS.map((s) => s.id).join(', ')}\n`);
  process.exit(2);
}

function sh(cmd, args) {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : null;
}

async function serverVersion(b) {
  const raw = await openRaw({ driver: b.driver, url: b.url, file: b.file });
  try {
    const sql = b.driver === 'sqlite' ? 'select sqlite_version() as v' : 'select version() as v';
    // "PostgreSQL 15.18 (Debian ...) on x86_64 ..." -> "PostgreSQL 15.18"; "10.11.19-MariaDB-0+deb12u1" stays.
    return String((await raw.query(sql))[0].v).replace(/ \(.*$/s, '');
  } finally {
    await raw.close();
  }
}

async function main() {
  requireBuild();
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const resultsDir = join(ROOT, 'bench/results');
  const runDir = join(resultsDir, stamp);
  mkdirSync(runDir, { recursive: true });
  const dataDir = mkdtempSync(join(tmpdir(), 'sqlgate-bench-'));
  const wanted = values.backends?.split(',').map((s) => s.trim());

  const backends = DEFAULT_BACKENDS().filter((b) => !wanted || wanted.includes(b.driver));
  for (const b of backends) {
    b.skip = null;
    if (b.driver === 'sqlite') b.file = join(dataDir, 'bench.sqlite');
    else if (!(await reachable(b.url)))
      b.skip = `${LABEL[b.driver]} not reachable at ${new URL(b.url).host} (bash scripts/services.sh)`;
  }
  const ctx = new BenchContext({ opts, runDir, tmpDir: dataDir, backends });

  // Can this build serve each backend? (A driver still being written refuses to start.)
  for (const b of ctx.usable()) {
    try {
      const gw = await ctx.gateway(`probe-${b.driver}`, b, { pool: 2 });
      await gw.stop();
      b.version = await serverVersion(b);
    } catch (err) {
      const line = String(err.message).split('\n').filter(Boolean).pop();
      b.skip = `the gateway cannot serve it yet: ${line.replace(/^sqlgate: /, '').slice(0, 120)}`;
    }
    if (b.skip) ctx.log(`skipping ${LABEL[b.driver]}: ${b.skip}`);
  }
  for (const b of ctx.usable()) {
    ctx.log(`preparing ${LABEL[b.driver]} tables`);
    const raw = await openRaw({ driver: b.driver, url: b.url, file: b.file });
    try {
      await ensureWide(raw, b.driver);
    } finally {
      await raw.close();
    }
  }

  const machine = {
    nproc: Number(sh('nproc', []) ?? cpus().length),
    cpu: /model name\s*:\s*(.*)/.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? cpus()[0]?.model,
    memoryGiB: +(totalmem() / 2 ** 30).toFixed(1),
    node: process.version,
    loadTool,
    servers: Object.fromEntries(backends.map((b) => [b.driver, b.version ?? null])),
    commit: sh('git', ['-C', ROOT, 'rev-parse', '--short', 'HEAD']),
    dirty: Boolean(sh('git', ['-C', ROOT, 'status', '--porcelain', '--', 'src', 'routes'])),
  };

  const started = performance.now();
  for (const s of chosen) {
    ctx.log(`== ${s.title}`);
    try {
      ctx.results[s.id] = await s.run(ctx);
    } catch (err) {
      ctx.log(`${s.title} failed: ${err.stack ?? err}`);
      ctx.results[s.id] = { error: String(err.message ?? err) };
      ctx.skipRow(
        s.title,
        '',
        `failed: ${String(err.message ?? err)
          .split('\n')[0]
          .slice(0, 140)}`,
      );
    }
  }
  const elapsedS = (performance.now() - started) / 1000;

  const point1 = ctx.results.point;
  if (point1 && !point1.error) {
    for (const [driver, r] of Object.entries(point1)) {
      const p = r.perC?.[16];
      if (!p) continue;
      const wrkCore = p.gateway.map((x) => x.clientCpuS / x.durationS).sort()[p.gateway.length >> 1];
      const gwCore = p.gateway.map((x) => x.serverCpuS / x.durationS).sort()[p.gateway.length >> 1];
      ctx.notes.push(
        `${LABEL[driver]} point c=16: the load generator used ${(wrkCore * 100).toFixed(0)}% of a core, ` +
          `the gateway ${(gwCore * 100).toFixed(0)}% (${p.gateway[0].serverCpuUsPerReq.toFixed(0)} µs CPU/request); ` +
          `the raw baseline process ${((p.raw[0].cpuS / p.raw[0].durationS) * 100).toFixed(0)}% ` +
          `(${((p.raw[0].cpuS * 1e6) / (p.raw[0].opsPerS * p.raw[0].durationS)).toFixed(0)} µs CPU/query)`,
      );
    }
  }

  const header = [
    'scenario',
    'backend',
    'metric',
    'gateway',
    'baseline',
    'ratio',
    'target',
    'met',
    'gw peak RSS',
  ];
  const rows = ctx.rows.map((r) => [
    r.scenario,
    r.backend,
    r.metric,
    r.gateway,
    r.baseline,
    r.ratio,
    r.target,
    r.met,
    r.rss,
  ]);
  const intro = [
    `sqlgate benchmark — ${new Date().toISOString()} — ${elapsedS.toFixed(0)} s`,
    `machine: ${machine.nproc} × ${machine.cpu}, ${machine.memoryGiB} GiB, Node ${machine.node}; load: ${machine.loadTool}`,
    `servers: ${backends
      .map((b) =>
        b.version?.startsWith(LABEL[b.driver]) ? b.version : `${LABEL[b.driver]} ${b.version ?? '(skipped)'}`,
      )
      .join('; ')}`,
    `method: median of ${opts.rounds} alternating run(s) of ${opts.durationS} s each; ratio = gateway / baseline` +
      (quick ? ' — QUICK MODE: a smoke check, not numbers to quote' : ''),
  ];
  const footnotes = [
    'baseline = the raw driver in its own Node process (same query, same pool size) unless the scenario says otherwise.',
    'SQLite point query: the baseline is a synchronous in-process better-sqlite3 call (no I/O, no thread hop), ' +
      'so the ≥ 0.8× target cannot be met by any HTTP server; scenario 3 is the meaningful SQLite overhead figure.',
    'fan-in ratio column: non-2xx/connect/read/write/timeout error counts.',
    ...ctx.notes,
  ];
  const text = [...intro, '', renderTable(header, rows), '', ...footnotes.map((n) => `* ${n}`)].join('\n');
  process.stdout.write(`\n${text}\n`);

  const file = join(resultsDir, `${stamp}.json`);
  writeFileSync(
    file,
    JSON.stringify(
      { stamp, opts, machine, elapsedS, backends, rows: ctx.rows, notes: ctx.notes, results: ctx.results },
      null,
      2,
    ),
  );
  writeFileSync(
    join(resultsDir, `${stamp}.md`),
    `${intro.join('  \n')}\n\n${renderMarkdown(header, rows)}\n\n${footnotes.map((n) => `- ${n}`).join('\n')}\n`,
  );
  process.stdout.write(`\nraw results: ${file}\n`);
  rmSync(dataDir, { recursive: true, force: true });
}

main().catch((err) => {
  process.stderr.write(`bench: ${err.stack ?? err}\n`);
  process.exit(1);
});
